#!/usr/bin/env bash
# label2city at 2048x1024, third stage, from checkpoints/label2city_1024 (train_1024.sh);
# the reference states 8 GPUs with at least 24 GB each (train_2048_crop.sh is its 12/16 GB variant).
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0,1,2,3,4,5,6,7 train.py --name label2city_2048 \
    --label_nc 35 --loadSize 2048 --n_scales_spatial 3 --num_D 4 --use_instance --fg \
    --gpu_ids 0,1,2,3,4,5,6,7 --n_gpus_gen 4 \
    --n_frames_total 4 --niter_step 1 \
    --niter 5 --niter_decay 5 \
    --niter_fix_global 5 --load_pretrain checkpoints/label2city_1024 --lr 0.00005 \
    -- "$@"
