"""Command-line options shared by train.py and test.py.

Every flag of NVIDIA's vid2vid keeps its name, type and default, so the reference's scripts run verbatim.
Flags the reference accepts but never uses stay accepted and say so in their help ("no-op"). New flags are
snake_case. Options are parsed once and never changed afterwards: values the reference derived by rewriting
the namespace (for example ``n_gpus_gen = -1`` meaning "all GPUs") are computed where they are needed.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence

from util.atomic import write_text_atomically

NO_OP = "[no-op: accepted for compatibility with the reference's scripts] "

# The reference tests --resize_or_crop by substring (so 'ScaleHeight_and_scaledCrop' is a valid "scaledCrop
# only" mode); these are the substrings it reacts to.
SCALE_KEYWORDS = ("resize", "scaleWidth", "scaleHeight", "randomScaleWidth", "randomScaleHeight")
CROP_KEYWORDS = ("crop", "scaledCrop")
DATASET_MODES = ("temporal", "test", "face", "pose")


class OptionsError(ValueError):
    """A flag value or flag combination that cannot work; the message names the flag and the fix."""


def int_list(text: str) -> list[int]:
    """Parse '0,1,2' into [0, 1, 2]; negative entries are dropped ('-1' -> [], the reference's CPU switch)."""
    try:
        values = [int(item) for item in str(text).split(",") if item.strip() != ""]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from error
    return [value for value in values if value >= 0]


def int_or_inf(text: str) -> float | int:
    """An integer count, or 'inf' for no limit (the reference's default for --max_dataset_size / --ntest)."""
    if str(text).lower() in ("inf", "infinity"):
        return math.inf
    try:
        return int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected an integer or 'inf', got {text!r}") from error


class BaseOptions:
    """Flags common to training and testing. Subclasses add their own in ``initialize``."""

    is_train: bool = True

    def __init__(self) -> None:
        self.parser = argparse.ArgumentParser(
            description=self.description(),
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        self.initialize(self.parser)

    def description(self) -> str:
        return "vid2vid options"

    def initialize(self, parser: argparse.ArgumentParser) -> None:
        add = parser.add_argument
        # --- data ---
        add("--dataroot", type=str, default="datasets/Cityscapes/",
            help="root folder holding <phase>_A, <phase>_B and <phase>_inst sequence folders")
        add("--batchSize", type=int, default=1, help="input batch size (sequences per step)")
        add("--loadSize", type=int, default=512, help="scale images to this size (see --resize_or_crop)")
        add("--fineSize", type=int, default=512, help="then crop to this size (crop modes only)")
        add("--input_nc", type=int, default=3, help="number of input image channels when --label_nc is 0")
        add("--label_nc", type=int, default=0,
            help="number of label classes (label maps are one-hot encoded); 0 = continuous input images")
        add("--output_nc", type=int, default=3, help="number of output image channels")
        # --- generator architecture ---
        add("--netG", type=str, default="composite", help="generator architecture (composite)")
        add("--ngf", type=int, default=128, help="number of generator filters in the first conv layer")
        add("--ndf", type=int, default=64, help="number of discriminator filters in the first conv layer")
        add("--n_blocks", type=int, default=9, help="number of resnet blocks in the generator")
        add("--n_downsample_G", type=int, default=3, help="number of downsampling layers in the generator")
        # --- devices and bookkeeping ---
        add("--gpu_ids", type=int_list, default="0",
            help="gpu ids, e.g. 0 or 0,1,2; -1 for CPU. Without CUDA and with the default, runs on CPU "
                 "(one notice). Under torchrun each process uses its LOCAL_RANK's GPU")
        add("--n_gpus_gen", type=int, default=-1,
            help="[superseded: DDP runs the whole model on every GPU] the reference's number of GPUs "
                 "for the generator; -1 means all")
        add("--name", type=str, default="experiment_name",
            help="name of the experiment; decides where checkpoints, results and runs are stored")
        add("--dataset_mode", type=str, default="temporal", choices=DATASET_MODES,
            help="how datasets are loaded: temporal (training sequences), test, face, pose")
        add("--model", type=str, default="vid2vid", choices=("vid2vid",), help="which model to use")
        add("--nThreads", type=int, default=2, help="number of data-loading worker processes")
        add("--checkpoints_dir", type=str, default="./checkpoints", help="models are saved here")
        add("--norm", type=str, default="batch", choices=("batch", "instance"),
            help="normalization layer of G and D")
        add("--serial_batches", action="store_true",
            help="take sequences in order instead of shuffling them")
        add("--display_winsize", type=int, default=512, help=NO_OP + "display window size")
        add("--display_id", type=int, default=0, help=NO_OP + "visdom window id")
        add("--tf_log", action="store_true",
            help=NO_OP + "TensorBoard logging to runs/<name> is always on")
        add("--max_dataset_size", type=int_or_inf, default=math.inf,
            help="maximum number of sequences to use; inf = all")
        add("--resize_or_crop", type=str, default="scaleWidth",
            help="scaling and cropping at load time, matched by substring as in the reference: none | crop | "
                 "scaledCrop | {resize,scaleWidth,scaleHeight,randomScaleWidth,randomScaleHeight}"
                 "[_and_{crop,scaledCrop}]")
        add("--no_flip", action="store_true", help="do not flip images horizontally for augmentation")
        # --- extra input features ---
        add("--use_instance", action="store_true",
            help="add the instance-boundary map (from <phase>_inst) as an input channel")
        add("--label_feat", action="store_true", help=NO_OP + "encode label features as input")
        add("--feat_num", type=int, default=3,
            help=NO_OP + "number of encoded features (the face single-frame G always uses 16)")
        add("--nef", type=int, default=32, help=NO_OP + "encoder filters in the first conv layer")
        add("--load_features", action="store_true", help=NO_OP + "load precomputed feature maps")
        add("--netE", type=str, default="simple", help=NO_OP + "encoder architecture")
        add("--n_downsample_E", type=int, default=3, help=NO_OP + "downsampling layers in the encoder")
        # --- coarse-to-fine ---
        add("--n_blocks_local", type=int, default=3,
            help="number of resnet blocks in each finer-scale (local) generator")
        add("--n_local_enhancers", type=int, default=1,
            help="number of local enhancers of the single-frame generator (label2city_2048)")
        # --- temporal ---
        add("--n_frames_G", type=int, default=3,
            help="number of input frames fed to the generator; n_frames_G-1 previous frames are used")
        add("--n_scales_spatial", type=int, default=1,
            help="number of spatial scales of the coarse-to-fine generator")
        add("--no_first_img", action="store_true",
            help="the generator also synthesizes the first frames (from all-zero previous frames)")
        add("--use_single_G", action="store_true",
            help="at test time, make the first frames with the single-frame (pix2pixHD) generator")
        add("--fg", action="store_true", help="use the foreground/background split generator")
        add("--fg_labels", type=int_list, default="26",
            help="comma-separated label ids of foreground classes (26 = Cityscapes car)")
        add("--no_flow", action="store_true", help="no flow warping; synthesize every frame directly")
        # --- face ---
        add("--no_canny_edge", action="store_true", help="face: do not use Canny edges as input")
        add("--no_dist_map", action="store_true", help="face: do not use distance-transform maps as input")
        add("--random_scale_points", action="store_true", help="face: randomly rescale keypoints a little")
        # --- pose ---
        add("--densepose_only", action="store_true", help="pose: use only DensePose as input")
        add("--openpose_only", action="store_true", help="pose: use only OpenPose as input")
        add("--add_face_disc", action="store_true", help="pose: add a face discriminator")
        add("--remove_face_labels", action="store_true",
            help="pose: remove face labels to adapt better to other face shapes")
        add("--random_drop_prob", type=float, default=0.05,
            help="pose: probability of dropping each pose segment during training")
        add("--basic_point_only", action="store_true",
            help="pose: only basic OpenPose joints, no hand or face keypoints")
        # --- misc ---
        add("--load_pretrain", type=str, default="",
            help="folder of a previous run whose networks initialise this one (coarse-to-fine training)")
        add("--debug", action="store_true", help="print data-sampling details")
        add("--fp16", action="store_true", default=False,
            help="mixed precision: fp16 autocast with gradient scaling on CUDA")
        add("--local_rank", type=int, default=0,
            help="local rank for distributed training (torchrun sets LOCAL_RANK; this flag is for old launchers)")
        # --- new in this implementation ---
        add("--flow_net", type=str, default="flownet2", choices=("flownet2", "raft", "dis"),
            help="optical-flow backend for the flow losses and the temporal discriminator")
        add("--flownet_checkpoint", type=str, default="",
            help="path of FlowNet2_checkpoint.pth.tar (default: models/flownet2_pytorch/FlowNet2_checkpoint.pth.tar)")

    # ------------------------------------------------------------------ parsing
    def parse(self, argv: Sequence[str] | None = None, save: bool = True, verbose: bool = True
              ) -> argparse.Namespace:
        """Parse ``argv`` (default: sys.argv[1:]), validate, print and (optionally) save the options.

        Raises:
            OptionsError: a value or combination that cannot work, naming the flag and the fix.
        """
        opt = self.parser.parse_args(list(sys.argv[1:] if argv is None else argv))
        opt.isTrain = self.is_train
        self.validate(opt)
        if verbose:
            print(format_options(opt), end="")
        if save:
            save_options(opt)
        return opt

    def parse_cli(self, argv: Sequence[str] | None = None, save: bool = True) -> argparse.Namespace:
        """Parse ``argv`` (default sys.argv[1:]) for a script: a bad value ends the program with argparse's
        one-line error."""
        try:
            return self.parse(argv, save=save)
        except OptionsError as error:
            self.parser.error(str(error))

    def validate(self, opt: argparse.Namespace) -> None:
        """Reject impossible values at parse time instead of failing deep inside training."""
        positive = ["batchSize", "loadSize", "fineSize", "output_nc", "ngf", "ndf", "n_frames_G",
                    "n_scales_spatial", "n_downsample_G", "n_local_enhancers"]
        non_negative = ["label_nc", "n_blocks", "n_blocks_local", "nThreads"]
        for name in positive:
            if getattr(opt, name) < 1:
                raise OptionsError(f"--{name} must be >= 1, got {getattr(opt, name)}")
        for name in non_negative:
            if getattr(opt, name) < 0:
                raise OptionsError(f"--{name} must be >= 0, got {getattr(opt, name)}")
        if opt.label_nc == 0 and opt.input_nc < 1:
            raise OptionsError(f"--input_nc must be >= 1 when --label_nc is 0, got {opt.input_nc}")
        if opt.label_nc > 256:
            raise OptionsError(f"--label_nc {opt.label_nc}: label maps are 8-bit PNGs, so at most 256 classes")
        if opt.n_frames_G < 2:
            raise OptionsError("--n_frames_G must be >= 2 (the generator needs at least one previous frame)")
        if opt.max_dataset_size < 1:
            raise OptionsError(f"--max_dataset_size must be >= 1 or inf, got {opt.max_dataset_size}")
        if opt.fg:
            if opt.label_nc == 0:
                raise OptionsError("--fg needs semantic labels: set --label_nc > 0 or drop --fg")
            bad = [label for label in opt.fg_labels if label >= opt.label_nc]
            if bad or not opt.fg_labels:
                raise OptionsError(f"--fg_labels {','.join(map(str, opt.fg_labels)) or '(empty)'}: every "
                                   f"foreground label must be in [0, --label_nc={opt.label_nc})")
        self._validate_resize_or_crop(opt)

    @staticmethod
    def _validate_resize_or_crop(opt: argparse.Namespace) -> None:
        mode = opt.resize_or_crop
        crops = any(keyword in mode for keyword in CROP_KEYWORDS)
        scales = any(keyword in mode for keyword in SCALE_KEYWORDS)
        if not (crops or scales or mode == "none"):
            raise OptionsError(
                f"--resize_or_crop {mode!r} names no known operation; use none, crop, scaledCrop or "
                "{resize,scaleWidth,scaleHeight,randomScaleWidth,randomScaleHeight}[_and_{crop,scaledCrop}]")
        if crops and scales and opt.fineSize > opt.loadSize:
            raise OptionsError(f"--fineSize {opt.fineSize} > --loadSize {opt.loadSize} with --resize_or_crop "
                               f"{mode}: the crop must fit in the scaled image; lower --fineSize or raise --loadSize")
        if "randomScale" in mode and opt.fineSize > opt.loadSize:
            raise OptionsError(f"--resize_or_crop {mode} draws a size between --fineSize and --loadSize; "
                               f"--fineSize {opt.fineSize} > --loadSize {opt.loadSize}")
        # The loader rounds the output size to a multiple of 32 (the reference's make_power_2); the
        # generator halves it n_downsample_G + n_scales_spatial - 1 times, so the rounded size must divide.
        factor = 2 ** (opt.n_downsample_G + opt.n_scales_spatial - 1)
        known = opt.fineSize if crops else (opt.loadSize if scales else None)
        if known is not None:
            rounded = round_to_multiple(known, 32)
            if rounded % factor != 0:
                flag = "--fineSize" if crops else "--loadSize"
                raise OptionsError(
                    f"{flag} {known} (loaded as {rounded}) is not divisible by 2^(n_downsample_G + "
                    f"n_scales_spatial - 1) = {factor}; use a multiple of {factor} or fewer scales/downsamplings")


def round_to_multiple(value: float, base: int = 32) -> int:
    """Round to the nearest multiple of ``base`` (the reference's make_power_2, which is not a power of 2)."""
    return int(round(value / base) * base)


def format_options(opt: argparse.Namespace) -> str:
    lines = ["------------ Options -------------"]
    lines += [f"{key}: {value}" for key, value in sorted(vars(opt).items())]
    lines.append("-------------- End ----------------")
    return "\n".join(lines) + "\n"


def options_to_json(opt: argparse.Namespace) -> dict:
    """JSON-safe dict of the options (inf becomes the string 'inf', as in the reference manifests)."""
    return {key: ("inf" if isinstance(value, float) and math.isinf(value) else value)
            for key, value in sorted(vars(opt).items())}


def save_options(opt: argparse.Namespace) -> str:
    """Write ``opt.txt`` (human) and ``opt.json`` (machine) into checkpoints/<name>; returns the folder."""
    folder = os.path.join(opt.checkpoints_dir, opt.name)
    os.makedirs(folder, exist_ok=True)
    for file_name, text in (("opt.txt", format_options(opt)),
                            ("opt.json", json.dumps(options_to_json(opt), indent=2) + "\n")):
        write_text_atomically(os.path.join(folder, file_name), text)
    return folder
