"""The per-frame baseline: one pix2pixHD global generator that maps each label frame to an image on its own.

This is the network ``--use_single_G`` uses for the first frames of a sequence, and the paper's frame-by-frame
baseline. ``train.py --model single_frame`` trains it with the image discriminator, feature matching and VGG
losses (no flow, no temporal discriminators); ``test.py --model single_frame`` runs it on every frame.

Its files follow the published single-frame generators: ``<run>/<epoch>_net_G_<loadSize>.pth`` (a bare
state_dict), so a run named ``label2city_single`` is found by ``test.py --use_single_G`` as NVIDIA's download
is. The network is a GlobalGenerator with instance normalisation (as the published ones) whose width, depth and
downsampling come from ``--ngf``, ``--n_blocks`` and ``--n_downsample_G``; it reads one-hot labels (or the
``--input_nc`` channels) without the instance-edge channel, as ``--use_single_G`` feeds it.
"""

from __future__ import annotations

from argparse import Namespace

import torch
from torch import nn

from options.run_folder import LATEST, RunFolder

from .input_encoding import encode_labels
from .networks.blocks import get_norm_layer
from .networks.single_frame import GlobalGenerator
from .outputs import GeneratedFrame, GeneratorChunk

SINGLE_FRAME_MODEL = "single_frame"
# the published single-frame generators live under fixed run names, always as 'latest' (as in the reference)
CITY_SINGLE_DIR = "label2city_single"
FACE_SINGLE_DIR = "edge2face_single"


def single_frame_label(opt: Namespace) -> str:
    """Checkpoint label of the per-frame generator: ``G_<loadSize>`` (file ``<epoch>_net_G_<loadSize>.pth``)."""
    return f"G_{opt.loadSize}"


def single_frame_input_channels(opt: Namespace) -> int:
    """One-hot classes, or the continuous input's channels; never the instance edges."""
    return opt.label_nc if opt.label_nc != 0 else opt.input_nc


def build_single_frame_generator(opt: Namespace) -> GlobalGenerator:
    return GlobalGenerator(single_frame_input_channels(opt), opt.output_nc, opt.ngf, opt.n_downsample_G,
                           opt.n_blocks, get_norm_layer("instance"))


def single_frame_run(opt: Namespace) -> str:
    """The run folder name ``--use_single_G`` reads: ``--single_G_name``, else chosen by --dataroot as in the
    reference (``label2city_single`` for Cityscapes, ``edge2face_single`` for faces)."""
    name = getattr(opt, "single_G_name", "")
    if name:
        return name
    if "City" in opt.dataroot:
        return CITY_SINGLE_DIR
    if "face" in opt.dataroot:
        return FACE_SINGLE_DIR
    raise ValueError(
        f"--use_single_G: no single-frame generator is known for --dataroot {opt.dataroot!r} (the published ones "
        "are for Cityscapes ('City' in the path) and faces ('face'); train one with `train.py --model single_frame "
        "--name NAME` and pass --single_G_name NAME, or use --use_real_img / --no_first_img"
    )


def trained_single_frame_options(opt: Namespace) -> Namespace | None:
    """The saved options of the ``--use_single_G`` run when this project's train.py made it (its opt.json says
    ``model: single_frame``); None for NVIDIA's downloads, whose architecture the reference fixes by --loadSize.

    Raises ValueError when that run's input does not match this run's (--label_nc / --input_nc / --loadSize)."""
    found = single_frame_folder(opt).read_options()
    if found is None or found[1].get("model") != SINGLE_FRAME_MODEL:
        return None
    path, saved = found
    single = Namespace(**saved)
    if single_frame_input_channels(single) != single_frame_input_channels(opt) or single.loadSize != opt.loadSize:
        raise ValueError(
            f"--use_single_G: {path} was trained with --label_nc {single.label_nc} --input_nc {single.input_nc} "
            f"--loadSize {single.loadSize}, this run has --label_nc {opt.label_nc} --input_nc {opt.input_nc} "
            f"--loadSize {opt.loadSize}; train the single-frame run with this run's flags"
        )
    return single


def single_frame_folder(opt: Namespace) -> RunFolder:
    """The run folder ``--use_single_G`` reads, beside this run's (see `single_frame_run`)."""
    return RunFolder.of(opt, single_frame_run(opt))


def single_frame_source(run: str) -> str:
    """How to get the ``--use_single_G`` run folder ``run``: download the published one, or train it."""
    if run in (CITY_SINGLE_DIR, FACE_SINGLE_DIR):
        return (f"download it with `python scripts/download_models.py --model "
                f"{'label2city' if run == CITY_SINGLE_DIR else 'edge2face'}` or train it with `python train.py "
                f"--model single_frame --name {run} ...`")
    return f"train it with `python train.py --model single_frame --name {run} ...`"


def single_frame_kind(opt: Namespace) -> str:
    """Which first-frame generator ``--use_single_G`` loads: 'trained' (a ``train.py --model single_frame`` run),
    else the published layouts, 'face' (faces: G with a feature encoder) or 'city' (picked by --loadSize)."""
    if trained_single_frame_options(opt) is not None:
        return "trained"
    return "face" if single_frame_run(opt) == FACE_SINGLE_DIR else "city"


def check_single_frame_folder(opt: Namespace) -> None:
    """FileNotFoundError naming the ``--use_single_G`` run folder and how to get it, when it does not exist."""
    folder = single_frame_folder(opt)
    if not folder.exists():
        raise FileNotFoundError(f"--use_single_G: {folder} not found: {single_frame_source(folder.name)}; or use "
                                "--use_real_img / --no_first_img instead")


def single_frame_path(opt: Namespace, label: str) -> str:
    """File of ``G_single`` / ``E_single``: ``latest_net_G_<loadSize>.pth`` (trained runs and the published
    Cityscapes ones), ``latest_net_G.pth`` / ``latest_net_E.pth`` (the published face one)."""
    folder = single_frame_folder(opt)
    if single_frame_kind(opt) == "face":
        return folder.network_file(label[0], LATEST)
    if label == "E_single":
        raise ValueError("only the published face single-frame generator has a feature encoder")
    return folder.network_file(single_frame_label(opt), LATEST)


class SingleFrameModel(nn.Module):
    """The per-frame generator behind the interface of `GeneratorModel` that the trainer and test.py use.

    ``generators`` holds the one network (a single spatial scale); ``networks()`` names it ``G_<loadSize>``.
    """

    def __init__(self, opt: Namespace) -> None:
        super().__init__()
        self.label_nc = opt.label_nc
        self.label = single_frame_label(opt)
        self.generators = nn.ModuleList([build_single_frame_generator(opt)])

    def networks(self) -> dict[str, nn.Module]:
        return {self.label: self.generators[0]}

    def encode(self, label_map: torch.Tensor) -> torch.Tensor:
        """(B, T, c, H, W) dataset labels -> (B, T, C, H, W) one-hot (or continuous) input, no instance edges."""
        return encode_labels(label_map, self.label_nc, None)

    def forward(self, label_map: torch.Tensor) -> GeneratorChunk:
        """Every frame independently: (B, T, c, H, W) labels -> fake_image (B, T, 3, H, W) and real_label."""
        labels = self.encode(label_map)
        b, t = labels.shape[:2]
        fake = self.generators[0](labels.flatten(0, 1))
        return GeneratorChunk(fake_image=fake.unflatten(0, (b, t)), real_label=labels)

    @torch.no_grad()
    def inference(
        self,
        label_map: torch.Tensor,
        real_image: torch.Tensor | None,
        instances: torch.Tensor | None,
        prev_outputs: list | None,
        face_features: dict | None = None,
    ) -> GeneratedFrame:
        """The newest frame of a test window, made from its labels alone (the same call as
        `GeneratorModel.inference`; history, real frames and instances are not used)."""
        del real_image, instances, prev_outputs, face_features
        labels = self.encode(label_map[:, -1:])[:, 0]
        fake = self.generators[0](labels)
        return GeneratedFrame(fake_image=fake, real_label=labels, scale_outputs=[{"image": fake}], prev_outputs=[])
