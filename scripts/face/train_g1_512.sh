#!/usr/bin/env bash
# edge2face at 512x512 on one GPU, adding a scale to checkpoints/edge2face_256_g1 (train_g1_256.sh);
# not fully tested by the reference.
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0 train.py --name edge2face_512_g1 \
    --dataroot datasets/face/ --dataset_mode face \
    --n_scales_spatial 2 --num_D 3 \
    --input_nc 15 --loadSize 512 --ngf 64 \
    --n_frames_total 6 --niter_step 2 --niter_fix_global 5 \
    --load_pretrain checkpoints/edge2face_256_g1 \
    -- "$@"
