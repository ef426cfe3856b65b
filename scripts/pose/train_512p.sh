#!/usr/bin/env bash
# pose2body at 512p with the face discriminator, from checkpoints/pose2body_256p (train_256p.sh); 8 GPUs.
# --batchSize counts per process here (append --batchSize 1 for the reference's 8 per step over 8 GPUs).
# Arguments are appended to the command (a flag given twice takes its last value): see docs/RECIPES.md
# for a tiny CPU smoke run.
source "$(dirname "${BASH_SOURCE[0]}")/../recipe.sh"  # cd to the root, $PY, recipe()
recipe 0,1,2,3,4,5,6,7 train.py --name pose2body_512p \
    --dataroot datasets/pose --dataset_mode pose \
    --input_nc 6 --n_scales_spatial 2 --num_D 3 \
    --resize_or_crop randomScaleHeight_and_scaledCrop --loadSize 768 --fineSize 512 \
    --gpu_ids 0,1,2,3,4,5,6,7 --batchSize 8 \
    --no_first_img --n_frames_total 12 --max_t_step 4 --add_face_disc \
    --niter_fix_global 3 --niter 5 --niter_decay 5 \
    --lr 0.0001 --load_pretrain checkpoints/pose2body_256p \
    -- "$@"
