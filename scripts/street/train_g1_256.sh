#!/usr/bin/env bash
# label2city at 256x128, first stage of the single-GPU schedule;
# one GPU; the reference's single-GPU scripts come with no performance guarantee.
# The name is the one of the reference's README (its script file said label2city_256), so that
# train_g1_512.sh finds checkpoints/label2city_256_g1.
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0 train.py --name label2city_256_g1 \
    --label_nc 35 --loadSize 256 --use_instance --fg \
    --n_downsample_G 2 --num_D 1 \
    --max_frames_per_gpu 6 --n_frames_total 6 \
    -- "$@"
