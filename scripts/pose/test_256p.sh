#!/usr/bin/env bash
# Tests a model trained with train_256p.sh; it makes its own first frames (--no_first_img).
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0 test.py --name pose2body_256p \
    --dataroot datasets/pose --dataset_mode pose \
    --input_nc 6 --resize_or_crop scaleHeight --loadSize 256 --no_first_img \
    -- "$@"
