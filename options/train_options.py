"""Training flags: the reference's TrainOptions (same names, types and defaults), one argparse group per concern."""
from __future__ import annotations

import argparse

from .base_options import NO_OP, BaseOptions, OptionsError
from .choices import GAN_MODES
from .shared_flags import add_checkpoint_selection


class TrainOptions(BaseOptions):
    is_train = True

    def description(self) -> str:
        return "Train a vid2vid model (accepts the flags of NVIDIA's vid2vid train.py)."

    def initialize(self, parser: argparse.ArgumentParser) -> None:
        """The shared flags, then the training-only groups in --help order."""
        super().initialize(parser)
        for add_group in (add_progress_flags, add_optimizer_flags, add_loss_flags, add_clip_flags,
                          add_small_budget_flags, add_memory_flags):
            add_group(parser)

    def validate(self, opt: argparse.Namespace) -> None:
        super().validate(opt)
        for name in ("display_freq", "print_freq", "save_latest_freq", "save_epoch_freq", "num_D", "max_bad_steps",
                     "n_layers_D", "max_frames_per_gpu", "max_frames_backpropagate", "max_t_step",
                     "n_frames_total", "niter_step", "n_scales_temporal"):
            if getattr(opt, name) < 1:
                raise OptionsError(f"--{name} must be >= 1, got {getattr(opt, name)}")
        for name in ("niter", "niter_decay", "niter_fix_global", "pool_size", "cpu_budget_minutes"):
            if getattr(opt, name) < 0:
                raise OptionsError(f"--{name} must be >= 0, got {getattr(opt, name)}")
        if opt.n_frames_D < 2:
            raise OptionsError(f"--n_frames_D must be >= 2 (temporal discriminators compare frames), "
                               f"got {opt.n_frames_D}")
        if opt.lr <= 0:
            raise OptionsError(f"--lr must be > 0, got {opt.lr}")
        if not 0.0 <= opt.beta1 < 1.0:  # (Adam's own message would not name the flag)
            raise OptionsError(f"--beta1 must be in [0, 1) (Adam's first-moment decay; 0.5 by default), got "
                               f"{opt.beta1}")
        if opt.niter + opt.niter_decay < 1:
            raise OptionsError("--niter + --niter_decay must be >= 1 epoch")
        if opt.fp16 and opt.bf16:
            raise OptionsError("--fp16 and --bf16 both pick the autocast precision; pass only one of them")
        if opt.continue_train and opt.start_over:
            raise OptionsError("--continue_train resumes this run and --start_over discards it; pass only one")
        if not 0.0 <= opt.occlusion_init < 1.0:
            raise OptionsError(f"--occlusion_init must be in (0, 1) (0: the reference's initialisation), got "
                               f"{opt.occlusion_init}")
        if opt.occlusion_init and opt.model != "vid2vid":
            raise OptionsError("--occlusion_init sets the sequential generator's occlusion weight; the per-frame "
                               "model (--model single_frame) has none, drop the flag")
        if opt.warm_start_G and (opt.continue_train or opt.model != "vid2vid"):
            raise OptionsError("--warm_start_G starts a new vid2vid run from a per-frame generator; drop it with "
                               "--continue_train (the run's own weights are resumed) or --model single_frame")
        if opt.continue_train and opt.load_pretrain:
            raise OptionsError("--continue_train resumes this run and --load_pretrain starts a new one from "
                               "another run's networks; pass only one of them")


def add_progress_flags(parser: argparse.ArgumentParser) -> None:
    """When the run logs, saves and resumes. Frequencies count training sequences (items), as the reference did."""
    group = parser.add_argument_group("logging, checkpoints and resuming")
    add = group.add_argument
    add("--print_freq", type=int, default=100,
        help="sequences between two loss lines on the console, in loss_log.txt and in TensorBoard")
    add("--display_freq", type=int, default=100,
        help="sequences between two image snapshots (TensorBoard and, unless --no_html, the web/ page)")
    add("--save_latest_freq", type=int, default=1000,
        help="sequences between two overwrites of the 'latest' weights and training state")
    add("--save_epoch_freq", type=int, default=1,
        help="every this many epochs, also keep a copy of the weights labelled with the epoch number")
    add("--no_html", action="store_true",
        help="skip the image snapshots under <checkpoints_dir>/<name>/web/ (TensorBoard still gets them)")
    add("--continue_train", action="store_true",
        help="pick this run up where its --which_epoch training state left off (optimizers, schedule, RNG)")
    add("--start_over", action="store_true",
        help="train --name from scratch although it holds a run: its checkpoints, logs and snapshots are removed "
             "(once the data and networks are checked); without it such a --name is refused")
    add("--max_bad_steps", type=int, default=10,
        help="stop when this many updates in a row had a non-finite loss or gradient (each is skipped, counted "
             "and logged); the last saved checkpoint stays as it was")
    add("--cpu_budget_minutes", type=float, default=0.0,
        help="stop (saving 'latest') once this process has used this many CPU minutes, all threads and resumed "
             "calls counted, data-loader workers not (use --nThreads 0 to count loading); 0: no limit")
    add_checkpoint_selection(group, phase="train")


def add_optimizer_flags(parser: argparse.ArgumentParser) -> None:
    """Adam, the learning-rate schedule and seeding."""
    add = parser.add_argument_group("optimizer and schedule").add_argument
    add("--lr", type=float, default=0.0002, help="Adam step size before the decay starts")
    add("--beta1", type=float, default=0.5, help="Adam's first-moment decay rate")
    add("--niter", type=int, default=10, help="epochs trained at the full --lr")
    add("--niter_decay", type=int, default=10,
        help="further epochs over which the rate falls linearly to 0")
    add("--TTUR", action="store_true",
        help="two time-scale update rule: G lr/2, D lr*2, Adam betas (0, 0.9)")
    add("--seed", type=int, default=0,
        help="seed of the initial weights, the data order and every clip's sampling; a run and its "
             "--continue_train resumption reproduce an uninterrupted run")


def add_loss_flags(parser: argparse.ArgumentParser) -> None:
    """The discriminators and the weights of the loss terms."""
    add = parser.add_argument_group("discriminators and losses").add_argument
    add("--gan_mode", type=str, default="ls", choices=GAN_MODES,
        help="GAN loss: ls (least squares), original (cross-entropy) or hinge. The reference always "
             "used least squares whatever was given; this implementation honours the flag")
    add("--num_D", type=int, default=2,
        help="resolutions (each half the previous) every multiscale discriminator judges")
    add("--n_layers_D", type=int, default=3, help="stride-2 convolutions per discriminator resolution")
    add("--n_frames_D", type=int, default=3, help="consecutive frames one temporal discriminator judges at once")
    add("--n_scales_temporal", type=int, default=2,
        help="temporal discriminators; the k-th samples frames n_frames_D^k apart (1, n_frames_D, ...)")
    add("--sparse_D", action="store_true",
        help="the reference's sparse frame sampling for the temporal discriminators; not implemented here, "
             "so training stops with an error")
    add("--no_ganFeat", action="store_true", help="switch off the loss on intermediate discriminator features")
    add("--no_vgg", action="store_true", help="switch off the VGG19 perceptual loss")
    add("--lambda_feat", type=float, default=10.0,
        help="multiplier of the discriminator-feature and VGG loss terms")
    add("--lambda_T", type=float, default=10.0,
        help="multiplier of the warp losses (a frame vs. its predecessor warped by G's flow)")
    add("--lambda_F", type=float, default=10.0,
        help="multiplier of the flow loss (G's flow vs. the estimated flow of the real frames)")
    add("--pool_size", type=int, default=1, help=NO_OP + "pix2pix history buffer of generated images")


def add_clip_flags(parser: argparse.ArgumentParser) -> None:
    """How training clips are cut from sequences and how long they grow."""
    add = parser.add_argument_group("training clips").add_argument
    add("--n_frames_total", type=int, default=30,
        help="frames generated per training clip at the start; the length doubles every --niter_step epochs, "
             "up to min(128, longest sequence) - (n_frames_G - 1)")
    add("--niter_step", type=int, default=5,
        help="epochs between two doublings of the clip length and of the backpropagated frames")
    add("--max_t_step", type=int, default=1,
        help="largest spacing between the frames of a clip; above 1, each clip draws its spacing at random")
    add("--max_frames_per_gpu", type=int, default=1,
        help="frames generated per chunk of a clip; each chunk has its own backward pass")
    add("--max_frames_backpropagate", type=int, default=1,
        help="cap on how many generated frames gradients flow back through; it starts at 1 (earlier outputs "
             "detached) and doubles every --niter_step epochs up to this value")
    add("--niter_fix_global", type=int, default=0,
        help="epochs during which only the finest generator scale learns; 0 trains all scales from the start")


def add_small_budget_flags(parser: argparse.ArgumentParser) -> None:
    """Starts for small data and CPU budgets (not in the reference; measured in docs/RESULTS.md)."""
    add = parser.add_argument_group("small-budget starts (not in the reference; docs/RESULTS.md)").add_argument
    add("--warm_start_G", type=str, default="",
        help="start G from a per-frame run's generator file (<run>/latest_net_G_<loadSize>.pth of a --model "
             "single_frame run with this --ngf / --n_downsample_G / --n_blocks): its layers are copied and the "
             "previous-frame encoder starts shut, so step 0 draws the per-frame model's image")
    add("--occlusion_init", type=float, default=0.0,
        help="the occlusion weight starts at this share of G's raw image (the rest: the warped previous frame), "
             "e.g. 0.95; 0 keeps the reference's initialisation (about 0.5)")


def add_memory_flags(parser: argparse.ArgumentParser) -> None:
    """Precision and memory trade-offs of training (--fp16 is a shared flag)."""
    add = parser.add_argument_group("training precision and memory").add_argument
    add("--bf16", action="store_true",
        help="mixed precision: bfloat16 autocast on CUDA or CPU (no gradient scaling needed)")
    add("--grad_checkpoint_G", action="store_true",
        help="recompute each frame's generator activations during backward (gradient checkpointing): "
             "less memory, more time")
