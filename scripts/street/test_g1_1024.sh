#!/usr/bin/env bash
# Runs NVIDIA's published single-GPU model label2city_1024_g1 (python scripts/street/download_models_g1.py)
# at 1024x512; results in results/label2city_1024_g1/test_latest/.
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0 test.py --name label2city_1024_g1 \
    --label_nc 35 --loadSize 1024 --n_scales_spatial 3 --use_instance --fg --n_downsample_G 2 --use_single_G \
    -- "$@"
