#!/usr/bin/env bash
# pose2body at 256p, first single-GPU stage;
# the reference calls its single-GPU pose scripts not fully tested
# (lower --max_frames_per_gpu if out of memory).
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0 train.py --name pose2body_256p_g1 \
    --dataroot datasets/pose --dataset_mode pose \
    --input_nc 6 --ngf 64 --num_D 2 \
    --resize_or_crop randomScaleHeight_and_scaledCrop --loadSize 384 --fineSize 256 \
    --niter 5 --niter_decay 5 \
    --no_first_img --n_frames_total 12 --max_frames_per_gpu 4 --max_t_step 4 \
    -- "$@"
