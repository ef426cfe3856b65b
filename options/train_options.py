"""Training flags: the reference's TrainOptions, same names and defaults."""
from __future__ import annotations

import argparse

from .base_options import NO_OP, BaseOptions, OptionsError


class TrainOptions(BaseOptions):
    is_train = True

    def description(self) -> str:
        return "Train a vid2vid model (flags as in NVIDIA's vid2vid train.py)."

    def initialize(self, parser: argparse.ArgumentParser) -> None:
        super().initialize(parser)
        add = parser.add_argument
        add("--display_freq", type=int, default=100,
            help="iterations between image summaries (TensorBoard images and the HTML page)")
        add("--print_freq", type=int, default=100, help="iterations between loss printouts")
        add("--save_latest_freq", type=int, default=1000, help="iterations between 'latest' checkpoints")
        add("--save_epoch_freq", type=int, default=1, help="epochs between numbered checkpoints")
        add("--continue_train", action="store_true", help="resume from the checkpoint of --which_epoch")
        add("--phase", type=str, default="train", help="data split: reads <dataroot>/<phase>_A etc.")
        add("--which_epoch", type=str, default="latest", help="which checkpoint to load: latest or an epoch")
        add("--niter", type=int, default=10, help="number of epochs at the initial learning rate")
        add("--niter_decay", type=int, default=10, help="number of epochs of linear decay to zero")
        add("--beta1", type=float, default=0.5, help="Adam beta1")
        add("--lr", type=float, default=0.0002, help="initial learning rate of Adam")
        add("--TTUR", action="store_true",
            help="two time-scale update rule: G lr/2, D lr*2, Adam betas (0, 0.9)")
        add("--gan_mode", type=str, default="ls", choices=("ls", "original", "hinge"),
            help="GAN loss: ls (least squares), original (cross-entropy) or hinge. The reference always "
                 "used least squares whatever was given; this implementation honours the flag")
        add("--pool_size", type=int, default=1, help=NO_OP + "size of the generated-image buffer")
        add("--no_html", action="store_true",
            help="do not write intermediate results to <checkpoints_dir>/<name>/web/")
        # discriminators
        add("--num_D", type=int, default=2, help="number of scales of each multiscale discriminator")
        add("--n_layers_D", type=int, default=3, help="number of layers of each discriminator")
        add("--no_vgg", action="store_true", help="no VGG19 perceptual loss")
        add("--no_ganFeat", action="store_true", help="no discriminator feature-matching loss")
        add("--lambda_feat", type=float, default=10.0, help="weight of feature-matching and VGG losses")
        add("--sparse_D", action="store_true",
            help="sparse temporal sampling for the temporal discriminators (saves memory)")
        # temporal
        add("--lambda_T", type=float, default=10.0, help="weight of the warp (temporal) losses")
        add("--lambda_F", type=float, default=10.0, help="weight of the flow loss")
        add("--n_frames_D", type=int, default=3, help="number of frames fed to the temporal discriminator")
        add("--n_scales_temporal", type=int, default=2,
            help="number of temporal scales (frame spacings 1, n_frames_D, n_frames_D^2, ...)")
        add("--max_frames_per_gpu", type=int, default=1,
            help="frames generated per chunk (one backward per chunk)")
        add("--max_frames_backpropagate", type=int, default=1,
            help="number of frames gradients flow back through (1 = previous outputs are detached)")
        add("--max_t_step", type=int, default=1,
            help="max spacing between sampled frames; > 1 lets training randomly skip frames")
        add("--n_frames_total", type=int, default=30,
            help="number of frames per sequence to train with (doubles every --niter_step epochs)")
        add("--niter_step", type=int, default=5, help="epochs between doublings of the sequence length")
        add("--niter_fix_global", type=int, default=0,
            help="train only the finest spatial scale for this many epochs")
        # --- training, new in this implementation ---
        add("--bf16", action="store_true",
            help="mixed precision: bfloat16 autocast on CUDA or CPU (no gradient scaling needed)")
        add("--seed", type=int, default=0,
            help="seed of the initial weights, the data order and every clip's sampling; a run and its "
                 "--continue_train resumption reproduce an uninterrupted run")
        add("--grad_checkpoint_G", action="store_true",
            help="recompute each frame's generator activations during backward (gradient checkpointing): "
                 "less memory, more time")

    def validate(self, opt: argparse.Namespace) -> None:
        super().validate(opt)
        for name in ("display_freq", "print_freq", "save_latest_freq", "save_epoch_freq", "num_D",
                     "n_layers_D", "max_frames_per_gpu", "max_frames_backpropagate", "max_t_step",
                     "n_frames_total", "niter_step", "n_scales_temporal"):
            if getattr(opt, name) < 1:
                raise OptionsError(f"--{name} must be >= 1, got {getattr(opt, name)}")
        for name in ("niter", "niter_decay", "niter_fix_global", "pool_size"):
            if getattr(opt, name) < 0:
                raise OptionsError(f"--{name} must be >= 0, got {getattr(opt, name)}")
        if opt.n_frames_D < 2:
            raise OptionsError(f"--n_frames_D must be >= 2 (temporal discriminators compare frames), "
                               f"got {opt.n_frames_D}")
        if opt.lr <= 0:
            raise OptionsError(f"--lr must be > 0, got {opt.lr}")
        if opt.niter + opt.niter_decay < 1:
            raise OptionsError("--niter + --niter_decay must be >= 1 epoch")
        if opt.fp16 and opt.bf16:
            raise OptionsError("--fp16 and --bf16 both pick the autocast precision; pass only one of them")
        if opt.continue_train and opt.load_pretrain:
            raise OptionsError("--continue_train resumes this run and --load_pretrain starts a new one from "
                               "another run's networks; pass only one of them")
