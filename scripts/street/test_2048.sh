#!/usr/bin/env bash
# Runs NVIDIA's published label2city_2048 model (python scripts/street/download_models.py) on the
# test sequences of datasets/Cityscapes; results in results/label2city_2048/test_latest/.
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0 test.py --name label2city_2048 \
    --label_nc 35 --loadSize 2048 --n_scales_spatial 3 --use_instance --fg --use_single_G \
    -- "$@"
