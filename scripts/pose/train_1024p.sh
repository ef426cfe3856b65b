#!/usr/bin/env bash
# pose2body at 1024p, from checkpoints/pose2body_512p (train_512p.sh); the reference used 8 GPUs.
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
exec "$PY" "${launch[@]}" train.py --name pose2body_1024p \
    --dataroot datasets/pose --dataset_mode pose \
    --input_nc 6 --n_scales_spatial 3 --num_D 4 \
    --resize_or_crop randomScaleHeight_and_scaledCrop --loadSize 1536 --fineSize 1024 \
    --gpu_ids 0,1,2,3,4,5,6,7 --n_gpus_gen 4 \
    --no_first_img --n_frames_total 12 --max_t_step 4 --add_face_disc \
    --niter_fix_global 3 --niter 5 --niter_decay 5 \
    --lr 0.00005 --load_pretrain checkpoints/pose2body_512p \
    "$@"
