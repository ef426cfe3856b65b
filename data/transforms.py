"""Per-sequence scaling, cropping and flipping with the reference's --resize_or_crop semantics.

All frames of one sample share one set of parameters (drawn once per sample), so a video stays consistent.
Randomness comes from torch's global generator, which DataLoader seeds per worker, so a fixed
``torch.manual_seed`` reproduces a run.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from .image_folder import DataError


def round_to_multiple(value: float, base: int = 32) -> int:
    """Round to the nearest multiple of ``base`` (the reference's make_power_2, which is not a power of 2)."""
    return int(round(value / base) * base)


@dataclass(frozen=True)
class ImageParams:
    """Where one sample's frames are scaled to, cropped from and whether they are flipped."""

    new_size: tuple[int, int]   # (width, height) after scaling
    crop_size: tuple[int, int]  # (width, height) of the crop; (0, 0) = no crop
    crop_pos: tuple[int, int]   # (x, y) of the crop's top-left corner
    flip: bool


def _randint(low: int, high: int, generator: torch.Generator | None = None) -> int:
    """Uniform integer in [low, high] (inclusive, like Python's random.randint)."""
    return int(torch.randint(low, high + 1, (), generator=generator).item())


def get_img_params(opt: argparse.Namespace, size: tuple[int, int], allow_flip: bool = True,
                   generator: torch.Generator | None = None) -> ImageParams:
    """Draw the scaling/cropping/flipping parameters for a frame of ``size`` = (width, height); ``allow_flip``
    is the dataset mode's (pose data must not be mirrored: left and right body parts have their own labels).
    ``generator`` replaces torch's global one (data/validate.py draws fixed parameters from its own, safely from
    several threads)."""
    mode = opt.resize_or_crop
    w, h = size
    new_w, new_h = w, h
    if "resize" in mode:
        new_w = new_h = opt.loadSize
    elif "scaleWidth" in mode:
        new_w, new_h = opt.loadSize, opt.loadSize * h // w
    elif "scaleHeight" in mode:
        new_w, new_h = opt.loadSize * w // h, opt.loadSize
    elif "randomScaleWidth" in mode:
        new_w = _randint(opt.fineSize, opt.loadSize + 1, generator)
        new_h = new_w * h // w
    elif "randomScaleHeight" in mode:
        new_h = _randint(opt.fineSize, opt.loadSize + 1, generator)
        new_w = new_h * w // h
    new_w, new_h = int(round(new_w / 4)) * 4, int(round(new_h / 4)) * 4

    crop_w = crop_h = crop_x = crop_y = 0
    if "crop" in mode or "scaledCrop" in mode:
        if "crop" in mode:
            crop_w = crop_h = opt.fineSize
        elif "Width" in mode:
            crop_w, crop_h = opt.fineSize, opt.fineSize * h // w
        else:
            crop_w, crop_h = opt.fineSize * w // h, opt.fineSize
        crop_w, crop_h = round_to_multiple(crop_w), round_to_multiple(crop_h)
        # As in the reference: x is drawn from a normal around the centre, y from the top eighth.
        x_span = (new_w - crop_w) // 2
        crop_x = int(max(0, min(x_span * 2, int(torch.randn((), generator=generator).item() * x_span / 3 + x_span))))
        crop_y = _randint(0, min(max(0, new_h - crop_h), new_h // 8), generator)
    else:
        scaled = (new_w, new_h)
        new_w, new_h = round_to_multiple(new_w), round_to_multiple(new_h)
        if not (new_w and new_h):  # a side under 16 pixels rounds to 0
            raise DataError(f"--loadSize {opt.loadSize} (--resize_or_crop {mode}) scales {w}x{h} frames to "
                            f"{scaled[0]}x{scaled[1]}, which rounds to {new_w}x{new_h} (sides are multiples of "
                            "32); raise --loadSize")

    # the random number is drawn even when flips are off, so every mode consumes the same random stream
    flip = bool(torch.rand((), generator=generator).item() > 0.5) and allow_flip
    return ImageParams((new_w, new_h), (crop_w, crop_h), (crop_x, crop_y), flip)


def transform_image(img: Image.Image, opt: argparse.Namespace, params: ImageParams,
                    method: int) -> Image.Image:
    """Scale, crop and flip one PIL frame as the reference does."""
    if "resize" in opt.resize_or_crop:
        img = img.resize((opt.loadSize, opt.loadSize), method)
    else:
        img = img.resize(params.new_size, method)
    if "crop" in opt.resize_or_crop or "scaledCrop" in opt.resize_or_crop:
        width, height = img.size
        crop_w, crop_h = params.crop_size
        x, y = params.crop_pos
        if width > crop_w or height > crop_h:
            img = img.crop((x, y, min(width, x + crop_w), min(height, y + crop_h)))
    if opt.isTrain and not opt.no_flip and params.flip:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    return img


def to_normalized_tensor(img: Image.Image) -> torch.Tensor:
    """8-bit image -> float tensor (C, H, W) in [-1, 1]."""
    array = np.asarray(img, dtype=np.float32)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.transpose(2, 0, 1).copy()).div_(127.5).sub_(1.0)


def to_index_tensor(img: Image.Image) -> torch.Tensor:
    """Label or instance map -> float tensor (1, H, W) holding the integer values (never normalised)."""
    return torch.from_numpy(np.asarray(img, dtype=np.float32).copy())[None]
