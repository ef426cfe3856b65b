"""The reference's folder layout (``--dataset_mode folders``, also spelled ``temporal`` / ``test``).

``<dataroot>/<phase>_A/<seq>/*`` label maps (``--label_nc N``: 8/16-bit ids) or input images
(``--label_nc 0 --input_nc 1|3``), ``<phase>_B/<seq>/*`` real RGB frames, ``<phase>_inst/<seq>/*`` instance
maps (with --use_instance). The folders of a sequence, and its frames, pair by NAME (frames by file stem, a
suffix common to a whole folder ignored: Cityscapes' ``*_gtFine_labelIds.png`` pair with ``*_leftImg8bit.png``).
"""
from __future__ import annotations

import argparse
import os

import numpy as np
import torch
from PIL import Image

from ..image_folder import DataError, make_grouped_dataset, pair_by_name, require_folder
from ..transforms import ImageParams, to_index_tensor, to_normalized_tensor, transform_image
from .base import DatasetMode, Frame, FrameImages
from .registry import register_mode

SAMPLE_DATA_HINT = "For the embedded sample data run: python scripts/make_sample_dataset.py"
LABEL_MODES = ("L", "P", "I", "I;16")
LOSSY_EXTENSIONS = (".jpg", ".jpeg")
INPUT_MODES = {1: "L", 3: "RGB"}  # --input_nc -> how a continuous input image is read


def check_lossless(path: str, what: str) -> None:
    """Ids must be stored losslessly: JPEG changes most pixels' ids (a smoothed edge is a new class)."""
    if path.lower().endswith(LOSSY_EXTENSIONS):
        raise DataError(f"{what} {path} is a JPEG, whose lossy compression changes the ids; re-export it as PNG")


@register_mode("folders", aliases=("temporal", "test"))
class FolderMode(DatasetMode):
    """Label maps or input images in ``<phase>_A/<seq>/``, real frames in ``<phase>_B/<seq>/``, instance maps
    in ``<phase>_inst/<seq>/`` (with --use_instance), paired by name (the reference's layout)."""

    def __init__(self, opt: argparse.Namespace, need_real_frames: bool = True) -> None:
        super().__init__(opt, need_real_frames)
        self.A_is_label = opt.label_nc != 0
        root, phase = opt.dataroot, opt.phase
        if not os.path.isdir(root):
            raise DataError(f"--dataroot {root} does not exist. {SAMPLE_DATA_HINT}")
        self.dir_A = os.path.join(root, f"{phase}_A")
        require_folder(self.dir_A, "every run (--dataroot/--phase)", SAMPLE_DATA_HINT)
        self.A_paths = make_grouped_dataset(self.dir_A)
        if not self.A_paths:
            raise DataError(f"no images found in {self.dir_A}; expected one sub-folder of frames per sequence")
        n_found = len(self.A_paths)
        self.A_paths = self.A_paths[: int(min(n_found, opt.max_dataset_size))]
        complete = len(self.A_paths) == n_found  # with --max_dataset_size the other folders hold more

        self.B_paths = None
        if need_real_frames:
            self.dir_B = os.path.join(root, f"{phase}_B")
            needed_by = "training (real frames)" if opt.isTrain else "--use_real_img"
            fix = (f"Put the real frames there, one sub-folder per sequence named as in {self.dir_A}."
                   if opt.isTrain else "Provide the real frames or drop --use_real_img.")
            require_folder(self.dir_B, needed_by, fix)
            self.B_paths = pair_by_name(self.A_paths, make_grouped_dataset(self.dir_B), self.dir_A, self.dir_B,
                                        complete)

        self.I_paths = None
        if opt.use_instance:
            self.dir_inst = os.path.join(root, f"{phase}_inst")
            require_folder(self.dir_inst, "--use_instance",
                           "Provide instance maps or drop --use_instance.")
            self.I_paths = pair_by_name(self.A_paths, make_grouped_dataset(self.dir_inst), self.dir_A,
                                        self.dir_inst, complete)
        self.sequences = self.A_paths

    def frame_size(self, seq_index: int, frame_index: int) -> tuple[int, int]:
        """Size of a real (or, without real frames, input) frame, from its header."""
        paths = self.B_paths if self.B_paths is not None else self.A_paths
        return self.image_size(paths[seq_index][frame_index])

    def frame_files(self, seq_index: int, frame_index: int) -> list[str]:
        """The frame's label or input image, real frame and instance map (those in use)."""
        groups = (self.A_paths, self.B_paths, self.I_paths)
        return [paths[seq_index][frame_index] for paths in groups if paths is not None]

    def read_frame(self, seq_index: int, frame_index: int, params: ImageParams) -> Frame:
        """label (1 or input_nc, H, W); real (3, H, W) in [-1, 1] and instance (1, H, W) ids when available."""
        A_path = self.A_paths[seq_index][frame_index]
        if self.A_is_label:
            check_lossless(A_path, "label map")
        images = FrameImages(self.open_image(A_path), A_path)
        if self.B_paths is not None:
            B_path = self.B_paths[seq_index][frame_index]
            images = images._replace(real=self.open_image(B_path), real_name=B_path)
        if self.I_paths is not None:
            I_path = self.I_paths[seq_index][frame_index]
            check_lossless(I_path, "instance map")
            images = images._replace(instance=self.open_image(I_path), instance_name=I_path)
        frame = frame_from_images(self.opt, images, params)
        self.check_generator_size(frame.label, A_path)
        return frame


def frame_from_images(opt: argparse.Namespace, images: FrameImages, params: ImageParams) -> Frame:
    """One frame of this layout from images in memory (files as `FolderMode.read_frame` opens them, or a live
    input, see models/streaming.py): the label map (ids) or input image, with the real frame and the instance map
    when given; their names appear in the errors."""
    A_img, A_path = images.label, images.label_name
    size = A_img.size
    out: dict[str, torch.Tensor] = {}
    if opt.label_nc != 0:
        if A_img.mode not in LABEL_MODES:
            raise DataError(f"label map {A_path} has mode {A_img.mode}; --label_nc {opt.label_nc} "
                            "needs single-channel label ids (8-bit PNG). Use --label_nc 0 for RGB input")
        array = np.asarray(A_img)
        top = int(array.max())
        if int(array.min()) < 0:
            raise DataError(f"label map {A_path} contains the negative label {int(array.min())}; label ids "
                            f"are 0 .. --label_nc - 1")
        if top >= opt.label_nc:
            raise DataError(f"label map {A_path} contains label {top} >= --label_nc {opt.label_nc}; "
                            f"raise --label_nc to at least {top + 1} or fix the labels")
        if A_img.mode == "I;16":
            A_img = A_img.convert("I")
        out["A"] = to_index_tensor(transform_image(A_img, opt, params, Image.NEAREST))
    else:
        mode = INPUT_MODES.get(opt.input_nc)
        if mode is None:
            channels = len(A_img.getbands())
            raise DataError(f"{A_path} is a {channels}-channel {A_img.mode} image but --input_nc is "
                            f"{opt.input_nc}; --dataset_mode folders reads input images as 1 (grey) or 3 (RGB) "
                            f"channels: pass --input_nc {3 if channels >= 3 else 1}")
        out["A"] = to_normalized_tensor(transform_image(A_img.convert(mode), opt, params, Image.BICUBIC))

    if images.real is not None:
        B_img, B_path = images.real, images.real_name
        if B_img.size != size:
            raise DataError(f"{B_path} is {B_img.size[0]}x{B_img.size[1]} but {A_path} is {size[0]}x{size[1]}; "
                            "input and real frames must have the same size: resize one of them")
        out["B"] = to_normalized_tensor(transform_image(B_img.convert("RGB"), opt, params, Image.BICUBIC))

    if images.instance is not None:
        I_img, I_path = images.instance, images.instance_name
        if I_img.size != size:
            raise DataError(f"{I_path} is {I_img.size[0]}x{I_img.size[1]} but {A_path} is "
                            f"{size[0]}x{size[1]}; instance maps must have the size of the label maps: resize it")
        if I_img.mode not in LABEL_MODES:
            raise DataError(f"instance map {I_path} has mode {I_img.mode}; expected a single-channel "
                            "8- or 16-bit PNG of instance ids")
        out["inst"] = to_index_tensor(transform_image(I_img.convert("I"), opt, params, Image.NEAREST))
    return Frame(out["A"], out.get("B"), out.get("inst"))
