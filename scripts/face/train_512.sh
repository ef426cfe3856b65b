#!/usr/bin/env bash
# face edge maps -> talking-head video at 512x512; the reference trained it on 8 GPUs.
# The face mode reads <phase>_keypoints (scripts/face/detect_landmarks.py) and <phase>_img.
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0,1,2,3,4,5,6,7 train.py --name edge2face_512 \
    --dataroot datasets/face/ --dataset_mode face \
    --input_nc 15 --loadSize 512 --num_D 3 \
    --gpu_ids 0,1,2,3,4,5,6,7 --n_gpus_gen 6 \
    --niter 20 --niter_decay 20 --n_frames_total 12 \
    -- "$@"
