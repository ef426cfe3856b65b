#!/usr/bin/env bash
# label maps -> street video at 512x256, first stage of the coarse-to-fine schedule;
# the reference trained at this size on 8 GPUs (one machine).
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
exec "$PY" "${launch[@]}" train.py --name label2city_512 \
    --label_nc 35 --loadSize 512 --use_instance --fg \
    --gpu_ids 0,1,2,3,4,5,6,7 --n_gpus_gen 6 \
    --n_frames_total 6 --max_frames_per_gpu 2 \
    "$@"
