#!/usr/bin/env bash
# Runs NVIDIA's published edge2face_512 model (python scripts/face/download_models.py) on
# datasets/face; results in results/edge2face_512/test_latest/.
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0 test.py --name edge2face_512 \
    --dataroot datasets/face/ --dataset_mode face \
    --input_nc 15 --loadSize 512 --use_single_G \
    -- "$@"
