#!/usr/bin/env bash
# Tests a model trained with train_g1_512p.sh.
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."  # train.py, test.py and the relative paths below are at the root
# $PYTHON when set, else the repository's virtual environment, else python from PATH
if [[ -n ${PYTHON:-} ]]; then PY=$PYTHON; elif [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python; fi
exec "$PY" test.py --name pose2body_512p_g1 \
    --dataroot datasets/pose --dataset_mode pose \
    --input_nc 6 --n_scales_spatial 2 --ngf 64 \
    --resize_or_crop scaleHeight --loadSize 512 --no_first_img \
    "$@"
