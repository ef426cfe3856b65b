#!/usr/bin/env bash
# edge2face at 256x256, first single-GPU stage;
# the reference calls its single-GPU face scripts not fully tested
# (lower --max_frames_per_gpu if out of memory).
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0 train.py --name edge2face_256_g1 \
    --dataroot datasets/face/ --dataset_mode face \
    --input_nc 15 --loadSize 256 --ngf 64 \
    --max_frames_per_gpu 6 --n_frames_total 12 \
    --niter 20 --niter_decay 20 \
    -- "$@"
