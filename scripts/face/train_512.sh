#!/usr/bin/env bash
# face edge maps -> talking-head video at 512x512; the reference trained it on 8 GPUs.
# The face mode reads <phase>_keypoints (scripts/face/detect_landmarks.py) and <phase>_img.
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."  # train.py, test.py and the relative paths below are at the root
# $PYTHON when set, else the repository's virtual environment, else python from PATH
if [[ -n ${PYTHON:-} ]]; then PY=$PYTHON; elif [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python; fi
# One process per GPU of the last --gpu_ids given (the eight below unless an appended --gpu_ids says
# otherwise), through torchrun; a single GPU, or --gpu_ids -1 for the CPU, runs one plain process.
gpus=0,1,2,3,4,5,6,7
previous=
for arg in "$@"; do
    if [[ $previous == --gpu_ids ]]; then gpus=$arg; elif [[ $arg == --gpu_ids=* ]]; then gpus=${arg#*=}; fi
    previous=$arg
done
IFS=, read -ra ids <<< "$gpus"
launch=()
if (( ${#ids[@]} > 1 )); then launch=(-m torch.distributed.run --standalone "--nproc_per_node=${#ids[@]}"); fi
exec "$PY" "${launch[@]}" train.py --name edge2face_512 \
    --dataroot datasets/face/ --dataset_mode face \
    --input_nc 15 --loadSize 512 --num_D 3 \
    --gpu_ids 0,1,2,3,4,5,6,7 --n_gpus_gen 6 \
    --niter 20 --niter_decay 20 --n_frames_total 12 \
    "$@"
