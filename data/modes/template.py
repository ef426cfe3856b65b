"""Template of a dataset mode: copy this file to ``data/modes/<name>.py``, fill in the four marked parts, and
import it at the end of ``data/modes/__init__.py``. Then ``--dataset_mode <name>`` trains and tests with it.

What a mode owns (and nothing else; clip sampling for training and sliding windows for testing are shared):
  1. its own flags and defaults (`modify_commandline_options`), read from ``self.opt`` afterwards; a flag that
     changes what the input means is declared with `run_flag`, so a run saves it and ``test.py --name`` uses it;
  2. file discovery for one phase (``__init__``: fill ``self.sequences``, one sorted list of frame files per
     sequence; its folder names the sequence; fail early with `DataError` naming the folder and the fix);
  3. how one frame becomes tensors (`read_frame`: apply ``params`` with `transform_image` so crops, flips and
     scaling match across the frame's maps; labels with NEAREST, images with BICUBIC);
  4. the channel count of its label tensor (`label_channels`; the default is 1 class-id channel with
     --label_nc > 0, else --input_nc).
Validation before training (data/validate.py) reads every frame through `check_frame`, which by default calls
`read_frame`; override `frame_files` when a frame reads several files (so the cache notices changes to any of
them) and pair several folders with `data.image_folder.pair_by_name`.
A mode keeps no state between frames, so loader workers can read any frame in any order.

This example reads ``<dataroot>/<phase>_img/<seq>/*.png`` and makes its own input: the grayscale image
thresholded at ``--template_threshold`` (a 1-channel "sketch" for ``--label_nc 0 --input_nc 1``). It is not
registered; ``tests/data/toy_mode.py`` is a registered copy that the tests train on.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch
from PIL import Image

from util.flag_marks import run_flag

from ..image_folder import DataError, make_grouped_dataset, require_folder
from ..transforms import ImageParams, to_normalized_tensor, transform_image
from .base import DatasetMode, Frame


class TemplateMode(DatasetMode):  # decorate with @register_mode("template") in your copy
    # 1. flags and defaults
    @staticmethod
    def modify_commandline_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
        # run_flag: the value changes what the input means, so a run saves it and test.py --name restores it
        run_flag(parser.add_argument("--template_threshold", type=float, default=0.5,
                                     help="gray level in [0, 1] above which a pixel of the input sketch is 1"))
        parser.set_defaults(label_nc=0, input_nc=1)
        return parser

    # 2. file discovery for one phase
    def __init__(self, opt: argparse.Namespace, need_real_frames: bool) -> None:
        super().__init__(opt, need_real_frames)
        folder = os.path.join(opt.dataroot, f"{opt.phase}_img")
        require_folder(folder, f"--dataset_mode {self.name or 'template'}", "Put one sub-folder of frames per "
                       "sequence there")
        self.sequences = make_grouped_dataset(folder)
        if not self.sequences:
            raise DataError(f"no frames found in {folder}; expected one sub-folder of images per sequence")

    @property
    def threshold(self) -> float:
        return self.opt.template_threshold

    def frame_size(self, seq_index: int, frame_index: int) -> tuple[int, int]:
        with Image.open(self.sequences[seq_index][frame_index]) as image:
            return image.size

    # 3. one frame -> tensors
    def read_frame(self, seq_index: int, frame_index: int, params: ImageParams) -> Frame:
        path = self.sequences[seq_index][frame_index]
        try:
            image = Image.open(path).convert("RGB")
        except OSError as error:
            raise DataError(f"cannot read image {path}: {error}; replace or remove the file") from error
        image = transform_image(image, self.opt, params, Image.BICUBIC)
        gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
        sketch = torch.from_numpy((gray > self.threshold).astype(np.float32))[None] * 2 - 1
        real = to_normalized_tensor(image) if self.need_real_frames else None
        return Frame(label=sketch, real=real, instance=None)  # (1, H, W), (3, H, W), no instances

    # 4. label channels: the default (--input_nc, here 1) fits
