"""What a dataset mode is: one data domain's files, frames and flags. See `template.py` for a new one."""

from __future__ import annotations

import argparse
from typing import NamedTuple

import torch
from PIL import Image, UnidentifiedImageError

from ..clip import dataset_label_channels
from ..image_folder import DataError
from ..transforms import ImageParams, get_img_params


class Frame(NamedTuple):
    """One frame as tensors: label (C, H, W) ids or input; real (3, H, W) in [-1, 1] or None; instance
    (1, H, W) ids or None."""

    label: torch.Tensor
    real: torch.Tensor | None
    instance: torch.Tensor | None


class FrameImages(NamedTuple):
    """One frame's images in memory, before the transform: the label map or input image, the real frame and the
    instance map (None when absent), with the names errors use for them (file paths, or "live input")."""

    label: Image.Image
    label_name: str
    real: Image.Image | None = None
    real_name: str = ""
    instance: Image.Image | None = None
    instance_name: str = ""


class FrameSize(NamedTuple):
    """A frame's stored size (width, height) and the file it was read from (the sizes of one sequence must
    agree; see data/validate.py)."""

    path: str
    width: int
    height: int


class DatasetMode:
    """Base class of the dataset modes (``--dataset_mode NAME``, registered with `register_mode`).

    A mode owns, for one phase (``--phase``): where the sequences are (``sequences``: per sequence the
    sorted list of its frame files, which also names it), how one frame becomes tensors (`read_frame`), its
    own flags (`modify_commandline_options`) and the channels of its label tensor (`label_channels`).
    Sampling clips for training and sliding windows for testing is shared by every mode (data/temporal_dataset.py,
    data/test_dataset.py); a mode keeps no state between frames.
    """

    name = ""
    # the reference draws pose clips at deterministic starts (index % range) instead of random ones
    deterministic_clip_start = False
    # random horizontal flips (unless --no_flip); off for data whose left and right differ (pose)
    allow_flip = True
    # how training items map to sequences: one item per sequence (item i -> sequence i % n), or, as the
    # reference does for pose, one item per start frame (frames - n_frames_G + 1 per sequence), each drawing its
    # sequence at random weighted by that count; --max_dataset_size then limits the items of an epoch, not the
    # sequences (data.order.epoch_items)
    items_per_frame = False
    # flags of the mode that change whether a frame is valid (data/validate.py keys its cache on them too)
    verdict_flags: tuple[str, ...] = ()

    @staticmethod
    def modify_commandline_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
        """Add the mode's own flags or change defaults; called before the command line is parsed."""
        del is_train
        return parser

    def __init__(self, opt: argparse.Namespace, need_real_frames: bool) -> None:
        self.opt = opt
        self.need_real_frames = need_real_frames
        self.sequences: list[list[str]] = []

    @staticmethod
    def label_channels(opt: argparse.Namespace) -> int:
        """Channels of the label tensor `read_frame` returns (1 class-id channel, or --input_nc)."""
        return dataset_label_channels(opt)

    def frame_size(self, seq_index: int, frame_index: int) -> tuple[int, int]:
        """(width, height) of a frame as stored, from which the transform parameters are drawn."""
        raise NotImplementedError

    def sample_params(self, seq_index: int, frame_index: int, generator: torch.Generator | None = None) -> ImageParams:
        """One item's transform parameters (scaling, crop, flip), drawn from frame ``frame_index`` (the item's
        first frame; from ``generator`` instead of torch's global one when given); the samplers pass them to
        every `read_frame` of the item. A mode that needs more per item (the face crop box) returns a subclass
        of ImageParams carrying it, so no state is kept between calls."""
        return get_img_params(self.opt, self.frame_size(seq_index, frame_index), self.allow_flip, generator)

    def read_frame(self, seq_index: int, frame_index: int, params: ImageParams) -> Frame:
        """Frame ``frame_index`` of sequence ``seq_index`` with the sample's transform ``params`` applied."""
        raise NotImplementedError

    # ------------------------------------------------------------------ validation (data/validate.py)
    def frame_files(self, seq_index: int, frame_index: int) -> list[str]:
        """Every file `read_frame` reads for this frame (a frame is re-checked when one of them changes)."""
        return [self.sequences[seq_index][frame_index]]

    def size_file(self, seq_index: int, frame_index: int) -> str:
        """The image whose stored size is the frame's (all frames of a sequence must have one size)."""
        return self.sequences[seq_index][frame_index]

    def check_frame(self, seq_index: int, frame_index: int) -> FrameSize:
        """Read the frame as training does, with fixed transform parameters, and return its stored size;
        raises `DataError` naming the bad file. Modes with checks `read_frame` does not make override this."""
        params = self.sample_params(seq_index, frame_index, generator=torch.Generator().manual_seed(0))
        self.read_frame(seq_index, frame_index, params)
        path = self.size_file(seq_index, frame_index)
        return FrameSize(path, *self.image_size(path))

    # ------------------------------------------------------------------ helpers for the modes
    @staticmethod
    def image_size(path: str) -> tuple[int, int]:
        """(width, height) from the image's header (nothing decoded); a foreign file is a `DataError`."""
        try:
            with Image.open(path) as image:
                return image.size
        except (UnidentifiedImageError, OSError) as error:
            raise DataError(f"cannot read image {path}: {error}; replace or remove the file") from error

    @staticmethod
    def open_image(path: str) -> Image.Image:
        """The image at ``path``, fully read; a corrupt or foreign file is a `DataError` naming it."""
        try:
            image = Image.open(path)
            image.load()
        except (UnidentifiedImageError, OSError) as error:
            raise DataError(f"cannot read image {path}: {error}; replace or remove the file") from error
        return image

    def check_generator_size(self, label: torch.Tensor, path: str) -> None:
        """The loaded frame must be divisible by the generator's total downsampling."""
        factor = 2 ** (self.opt.n_downsample_G + self.opt.n_scales_spatial - 1)
        height, width = label.shape[-2:]
        if height % factor or width % factor:
            raise DataError(f"{path} loads as {width}x{height}, not divisible by 2^(n_downsample_G + "
                            f"n_scales_spatial - 1) = {factor}; change --loadSize/--fineSize/--resize_or_crop")
