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
    # reference does for pose, one item per frame, each drawing its sequence at random weighted by length
    items_per_frame = False

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

    def sample_params(self, seq_index: int, frame_index: int) -> ImageParams:
        """One item's transform parameters (scaling, crop, flip), drawn from frame ``frame_index`` (the item's
        first frame); the samplers pass them to every `read_frame` of the item. A mode that needs more per item
        (the face crop box) returns a subclass of ImageParams carrying it, so no state is kept between calls."""
        return get_img_params(self.opt, self.frame_size(seq_index, frame_index), self.allow_flip)

    def read_frame(self, seq_index: int, frame_index: int, params: ImageParams) -> Frame:
        """Frame ``frame_index`` of sequence ``seq_index`` with the sample's transform ``params`` applied."""
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers for the modes
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
