#!/usr/bin/env bash
# label2city at 512x256 without the foreground/background split (no --fg); 8 GPUs.
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0,1,2,3,4,5,6,7 train.py --name label2city_512_no_fg \
    --label_nc 35 --loadSize 512 --use_instance \
    --gpu_ids 0,1,2,3,4,5,6,7 --n_gpus_gen 6 \
    --n_frames_total 6 --max_frames_per_gpu 2 \
    -- "$@"
