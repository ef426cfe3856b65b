#!/usr/bin/env bash
# Tests a model trained with train_g1_512.sh (first frames from the published face single-frame G).
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0 test.py --name edge2face_512_g1 \
    --dataroot datasets/face/ --dataset_mode face \
    --n_scales_spatial 2 --input_nc 15 --loadSize 512 --ngf 64 \
    --use_single_G \
    -- "$@"
