"""The flags train.py and test.py share, one function per concern.

Each function adds one argparse group, so ``--help`` prints the flags in sections and a newcomer finds where a
new flag belongs. Names, types, defaults and actions are the reference vid2vid's (its scripts must run
unchanged); the help texts are our own and describe what this implementation does with each value. Flags kept
only so that the reference's command lines parse carry the ``NO_OP`` prefix. Flags that shape the networks or the
meaning of their inputs are declared with `run_flag` (util/flag_marks.py): a run saves them in ``opt.json`` and
``test.py --name`` takes them from there (options/saved_run.py); a dataset mode marks its own the same way.
"""
from __future__ import annotations

import argparse
import math

from util.flag_marks import run_flag

from .choices import FLOW_NETS, MODELS, NETG_CHOICES, NORM_TYPES

NO_OP = "[no-op: accepted for compatibility with the reference's scripts] "

ArgumentContainer = argparse.ArgumentParser | argparse._ArgumentGroup


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


def add_shared_flags(parser: argparse.ArgumentParser) -> None:
    """Every flag common to training and testing, grouped by concern (the order of the --help sections)."""
    for add_group in (add_experiment_flags, add_data_flags, add_input_flags, add_network_flags,
                      add_temporal_flags, add_flow_flags, add_device_flags, add_face_and_pose_flags,
                      add_display_flags, add_feature_encoder_flags):
        add_group(parser)


def add_experiment_flags(parser: argparse.ArgumentParser) -> None:
    """Where a run keeps its files and what it starts from."""
    add = parser.add_argument_group("run and experiment").add_argument
    add("--name", type=str, default="experiment_name",
        help="label of the run: its files live in <checkpoints_dir>/<name>, <results_dir>/<name> and runs/<name>")
    add("--checkpoints_dir", type=str, default="./checkpoints",
        help="parent folder of every run's network weights, training state, opt.txt, opt.json and loss log")
    run_flag(add("--model", type=str, default="vid2vid", choices=MODELS,
        help="vid2vid, or single_frame: the per-frame pix2pixHD generator (the baseline, and what --use_single_G "
             "loads; see docs/TRAINING.md)"))
    add("--load_pretrain", type=str, default="",
        help="start a new run from the --which_epoch networks another run saved in this folder (for example the "
             "run with one spatial scale fewer); tensors whose shape differs keep their fresh initialisation")
    add("--debug", action="store_true",
        help="verbose training: report how each clip is sampled and log losses and images after every step")


def add_data_flags(parser: argparse.ArgumentParser) -> None:
    """Which sequences are read, by which reader, and how they are batched."""
    add = parser.add_argument_group("dataset").add_argument
    add("--dataroot", type=str, default="datasets/Cityscapes/",
        help="folder holding, per split, <phase>_A (labels or input images), <phase>_B (real frames) and "
             "optionally <phase>_inst (instance maps), one sub-folder per sequence")
    run_flag(add("--dataset_mode", type=str, default="temporal",
        help="the data domain, i.e. which reader (data/modes/) finds the files and turns frames into tensors: "
             "folders (the <phase>_A/_B/_inst layout, also spelled temporal and test as in the reference's "
             "scripts), face (68-point landmarks -> edge and distance maps) and pose (DensePose + OpenPose). "
             "Checked at parse time against the registered modes"))
    add("--max_dataset_size", type=int_or_inf, default=math.inf,
        help="use only the first N sequences found under --dataroot ('inf' keeps them all); --dataset_mode "
             "pose keeps every sequence and trains on N items (start frames) per epoch, as the reference")
    add("--nThreads", type=int, default=2, help="DataLoader worker processes (0 reads in the main process)")
    add("--serial_batches", action="store_true",
        help="visit the sequences in folder order every epoch rather than in a shuffled order")
    add("--batchSize", type=int, default=1,
        help="sequences trained on together in one step, per process under torchrun (test.py needs 1)")


def add_input_flags(parser: argparse.ArgumentParser) -> None:
    """Frame size, augmentation and channel counts of what the networks see."""
    add = parser.add_argument_group("input frames").add_argument
    add("--resize_or_crop", type=str, default="scaleWidth",
        help="load-time geometry, recognised by substring like the reference: none, crop, scaledCrop, or one of "
             "resize/scaleWidth/scaleHeight/randomScaleWidth/randomScaleHeight optionally followed by "
             "_and_crop or _and_scaledCrop")
    run_flag(add("--loadSize", type=int, default=512,
        help="pixel size of the scaling step of --resize_or_crop (both sides for resize, the width for "
             "scaleWidth, the height for scaleHeight, the upper bound for randomScale*)"))
    add("--fineSize", type=int, default=512,
        help="pixel size of the crop taken after scaling; only read by the crop modes (lower bound for "
             "randomScale*)")
    add("--no_flip", action="store_true",
        help="disable the random horizontal mirroring of training clips")
    run_flag(add("--label_nc", type=int, default=0,
        help="classes in the semantic label maps, fed to G one-hot; 0 means the inputs are ordinary images"))
    run_flag(add("--input_nc", type=int, default=3,
                 help="channels of each input image; read only when --label_nc is 0"))
    run_flag(add("--output_nc", type=int, default=3, help="channels of each generated frame"))
    run_flag(add("--use_instance", action="store_true",
        help="append an object-boundary channel computed from the <phase>_inst instance maps"))


def add_network_flags(parser: argparse.ArgumentParser) -> None:
    """Sizes and kinds of the generators (and the width shared with the discriminators)."""
    add = parser.add_argument_group("networks").add_argument
    run_flag(add("--netG", type=str, default="composite", choices=NETG_CHOICES,
        help="coarsest-scale sequential generator (finer scales always use its local variant)"))
    run_flag(add("--ngf", type=int, default=128,
        help="width (channels) of G's first convolution at the coarsest scale; halved per finer scale"))
    run_flag(add("--n_downsample_G", type=int, default=3, help="stride-2 convolutions in G's encoder"))
    run_flag(add("--n_blocks", type=int, default=9,
        help="residual blocks in the coarsest-scale generator and in the single-frame G"))
    run_flag(add("--n_scales_spatial", type=int, default=1,
        help="generator scales from coarse to fine, each doubling the resolution"))
    run_flag(add("--n_blocks_local", type=int, default=3,
        help="residual blocks in each finer-scale generator (and in the 2048 single-frame enhancer)"))
    add("--n_local_enhancers", type=int, default=1,
        help="enhancer stages of the pix2pixHD single-frame generator used for 2048-wide Cityscapes")
    run_flag(add("--fg", action="store_true",
        help="generate foreground objects and background in separate branches (needs --label_nc)"))
    run_flag(add("--fg_labels", type=int_list, default="26",
        help="label ids, comma-separated, treated as foreground by --fg (Cityscapes 26 is 'car')"))
    add("--ndf", type=int, default=64, help="width (channels) of the first convolution of every discriminator")
    run_flag(add("--norm", type=str, default="batch", choices=NORM_TYPES,
        help="normalisation layer used throughout G and D"))


def add_temporal_flags(parser: argparse.ArgumentParser) -> None:
    """How many past frames G sees and how the first frames of a sequence are made."""
    add = parser.add_argument_group("temporal generation").add_argument
    run_flag(add("--n_frames_G", type=int, default=3,
        help="frames G looks at per output: the current input plus n_frames_G-1 earlier inputs and outputs"))
    run_flag(add("--no_first_img", action="store_true",
        help="let G make the opening frames itself from blank history; otherwise they are real frames "
             "(training, --use_real_img) or come from --use_single_G"))
    run_flag(add("--use_single_G", action="store_true",
        help="test.py: make the opening frames with the per-frame pix2pixHD generator (published checkpoint, or a "
             "run of train.py --model single_frame)"))
    add("--single_G_name", type=str, default="",
        help="run folder under --checkpoints_dir holding the --use_single_G generator (default: label2city_single "
             "for Cityscapes, edge2face_single for faces, chosen by --dataroot)")


def add_flow_flags(parser: argparse.ArgumentParser) -> None:
    """Flow warping inside G and the flow estimator used by the losses."""
    add = parser.add_argument_group("optical flow").add_argument
    run_flag(add("--no_flow", action="store_true",
        help="drop the warping branch: each frame is generated directly, with no warped previous output "
             "blended in"))
    add("--flow_net", type=str, default="flownet2", choices=FLOW_NETS,
        help="estimator of the ground-truth flow for the flow loss, warp loss and temporal discriminators")
    add("--flownet_checkpoint", type=str, default="",
        help="FlowNet2 weights file; empty means models/flownet2_pytorch/FlowNet2_checkpoint.pth.tar")


def add_device_flags(parser: argparse.ArgumentParser) -> None:
    """GPUs, processes and numeric precision."""
    add = parser.add_argument_group("devices and precision").add_argument
    add("--gpu_ids", type=int_list, default="0",
        help="comma-separated CUDA devices, or -1 for the CPU; torchrun processes pick theirs by LOCAL_RANK. "
             "The default falls back to the CPU, with one notice, when CUDA is missing")
    add("--n_gpus_gen", type=int, default=-1,
        help="[superseded: under DDP each process holds the whole model] the reference's split of GPUs "
             "between G and D; -1 stood for all of them")
    add("--local_rank", type=int, default=0,
        help="process index on this node, for launchers older than torchrun (LOCAL_RANK wins when set)")
    add("--fp16", action="store_true", default=False,
        help="half-precision autocast with a gradient scaler; CUDA only")


def add_face_and_pose_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of the face and pose datasets (read by --dataset_mode face / pose)."""
    group = parser.add_argument_group(
        "face and pose datasets",
        "read by the face and pose dataset readers (see --dataset_mode); --openpose_only and --add_face_disc "
        "also shape the networks")
    add = group.add_argument
    run_flag(add("--no_canny_edge", action="store_true", help="face: leave the Canny edge map out of the input"))
    run_flag(add("--no_dist_map", action="store_true", help="face: leave the landmark distance maps out of the input"))
    add("--random_scale_points", action="store_true",
        help="face: jitter the landmark positions slightly for variety")
    run_flag(add("--densepose_only", action="store_true", help="pose: input is the DensePose map alone"))
    run_flag(add("--openpose_only", action="store_true",
        help="pose: input is the OpenPose skeleton alone (this also turns flow warping off)"))
    add("--add_face_disc", action="store_true", help="pose: train an extra discriminator on the face region")
    run_flag(add("--remove_face_labels", action="store_true",
        help="pose: erase face labels so that a different person's face shape transfers more easily"))
    add("--random_drop_prob", type=float, default=0.05,
        help="pose: chance that a training sample loses any given body-part segment")
    run_flag(add("--basic_point_only", action="store_true",
        help="pose: keep the body joints of OpenPose and omit its hand and face points"))


def add_display_flags(parser: argparse.ArgumentParser) -> None:
    """The reference's visdom/TensorFlow display switches; TensorBoard and the HTML pages replace them."""
    add = parser.add_argument_group("display (reference)").add_argument
    add("--display_winsize", type=int, default=512,
        help=NO_OP + "image width of the reference's HTML pages; ours use a fixed width")
    add("--display_id", type=int, default=0, help=NO_OP + "the reference's visdom panel number")
    add("--tf_log", action="store_true", help=NO_OP + "TensorBoard summaries go to runs/<name> in every run")


def add_feature_encoder_flags(parser: argparse.ArgumentParser) -> None:
    """pix2pixHD's feature-encoder switches, which vid2vid parsed but never used."""
    add = parser.add_argument_group("feature encoder (reference)").add_argument
    add("--label_feat", action="store_true", help=NO_OP + "pix2pixHD switch for label-derived feature inputs")
    add("--feat_num", type=int, default=3,
        help=NO_OP + "length of the encoded feature vector (the face single-frame G is fixed at 16)")
    add("--nef", type=int, default=32, help=NO_OP + "channel width the encoder starts with")
    add("--load_features", action="store_true", help=NO_OP + "pix2pixHD switch for reading saved feature maps")
    add("--netE", type=str, default="simple", help=NO_OP + "kind of feature encoder")
    add("--n_downsample_E", type=int, default=3, help=NO_OP + "stride-2 stages of the feature encoder")


def add_checkpoint_selection(group: ArgumentContainer, phase: str) -> None:
    """--phase and --which_epoch, which both scripts take with the same meaning but a different split."""
    group.add_argument("--phase", type=str, default=phase,
                       help="split to read: the <phase>_A, <phase>_B and <phase>_inst folders under --dataroot")
    group.add_argument("--which_epoch", type=str, default="latest",
                       help="checkpoint label to load: 'latest' or an epoch number (files <label>_net_*.pth)")
