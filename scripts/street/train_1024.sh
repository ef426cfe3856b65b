#!/usr/bin/env bash
# label2city at 1024x512, second stage: adds a spatial scale to checkpoints/label2city_512 (train_512.sh);
# the reference trained at this size on 8 GPUs (one machine).
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0,1,2,3,4,5,6,7 train.py --name label2city_1024 \
    --label_nc 35 --loadSize 1024 --n_scales_spatial 2 --num_D 3 --use_instance --fg \
    --gpu_ids 0,1,2,3,4,5,6,7 --n_gpus_gen 4 \
    --n_frames_total 4 --niter_step 2 \
    --niter_fix_global 10 --load_pretrain checkpoints/label2city_512 --lr 0.0001 \
    -- "$@"
