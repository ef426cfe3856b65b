#!/usr/bin/env bash
# label2city at 512x256 with 15 sequences per step (a later variant of train_512.sh); 8 GPUs.
# --batchSize counts sequences per process here: under torchrun each of the 8 processes takes 15.
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0,1,2,3,4,5,6,7 train.py --name label2city_512_bs \
    --label_nc 35 --loadSize 512 --use_instance --fg \
    --gpu_ids 0,1,2,3,4,5,6,7 --n_gpus_gen -1 \
    --n_frames_total 6 --batchSize 15 \
    -- "$@"
