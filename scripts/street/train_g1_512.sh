#!/usr/bin/env bash
# label2city at 512x256 on one GPU, from checkpoints/label2city_256_g1 (train_g1_256.sh); no performance
# guarantee from the reference.
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0 train.py --name label2city_512_g1 \
    --label_nc 35 --loadSize 512 --n_scales_spatial 2 \
    --use_instance --fg --n_downsample_G 2 \
    --max_frames_per_gpu 2 --n_frames_total 4 \
    --niter_step 2 --niter_fix_global 8 --niter_decay 5 \
    --load_pretrain checkpoints/label2city_256_g1 \
    -- "$@"
