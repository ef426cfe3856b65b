#!/usr/bin/env bash
# Runs NVIDIA's published edge2face_512 model (python scripts/face/download_models.py) on
# datasets/face; results in results/edge2face_512/test_latest/.
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."  # train.py, test.py and the relative paths below are at the root
# $PYTHON when set, else the repository's virtual environment, else python from PATH
if [[ -n ${PYTHON:-} ]]; then PY=$PYTHON; elif [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python; fi
exec "$PY" test.py --name edge2face_512 \
    --dataroot datasets/face/ --dataset_mode face \
    --input_nc 15 --loadSize 512 --use_single_G \
    "$@"
