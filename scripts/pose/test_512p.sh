#!/usr/bin/env bash
# Tests a model trained with train_512p.sh.
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0 test.py --name pose2body_512p \
    --dataroot datasets/pose --dataset_mode pose \
    --input_nc 6 --n_scales_spatial 2 \
    --resize_or_crop scaleHeight --loadSize 512 --no_first_img \
    -- "$@"
