"""Pose-to-body videos (``--dataset_mode pose``): DensePose + OpenPose input, real frames as targets.

Layout (one sub-folder per sequence, paired with the frames by name: ``<frame>_IUV.png`` and
``<frame>_keypoints.json`` go with ``<frame>.*``):
  ``<dataroot>/<phase>_img/<seq>/*``                  real RGB frames (always needed: they name the frames and
                                                      give the size the skeleton is drawn at)
  ``<dataroot>/<phase>_densepose/<seq>/*_IUV.png``    DensePose IUV maps, part index I in the third channel
  ``<dataroot>/<phase>_openpose/<seq>/*_keypoints.json``  OpenPose BODY_25 + face + hands keypoints
The label of a frame is (6, H, W) in [-1, 1]: the IUV map (channels U and V as 8-bit images; the part index
p in 0..24 as 2p/24 - 1) followed by the drawn skeleton (RGB, see data/pose_drawing.py). --densepose_only and
--openpose_only keep one half (3 channels). Every frame is kept, also frames in which nobody was detected.
Every sequence is kept too: as in the reference, --max_dataset_size limits the items (start frames) of a
training epoch, not the sequences (see `items_per_frame`).

As in the reference: the skeleton is drawn at the frame's stored size and then scaled with the IUV map
(nearest neighbour); in training each DensePose part and each skeleton part (body segment, hand, face) is
dropped with --random_drop_prob, --remove_face_labels erases the DensePose head and moves the head and face
points a little; frames are never mirrored (left and right parts have their own labels and colours); a
clip starts at index % range; and only the central half of the width is kept (a multiple of 64 pixels).
"""
from __future__ import annotations

import argparse
import os

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..image_folder import DataError, is_image_file, make_grouped_dataset, pair_by_name, require_folder
from ..pose_drawing import draw_people, read_people
from ..transforms import ImageParams, to_normalized_tensor, transform_image
from .base import DatasetMode, Frame
from .registry import register_mode

HEAD_PARTS = (23, 24)  # DensePose part indices of the head
N_PARTS = 24
LAYOUT_HINT = ("expected <phase>_img/<seq>/ frames, <phase>_densepose/<seq>/*_IUV.png and "
               "<phase>_openpose/<seq>/*_keypoints.json")


def densepose_files(folder: str) -> list[list[str]]:
    """The ``*_IUV.png`` maps; folders without such names are read like the reference, every image in them."""
    iuv = make_grouped_dataset(folder, lambda name: name.endswith("_IUV.png"))
    return iuv or make_grouped_dataset(folder, is_image_file)


def central_half(tensor: torch.Tensor, path: str) -> torch.Tensor:
    """The middle columns of a (C, H, W) frame: 2 * (W // 4 rounded down to a multiple of 32) of them. The
    reference keeps only this part of each (wide) frame, where the person is, to save time."""
    width = tensor.shape[-1]
    half = width // 4 // 32 * 32
    if half == 0:
        raise DataError(f"{path} loads {width} pixels wide; the pose mode keeps the central half of the width "
                        "in multiples of 64 pixels and needs frames at least 128 pixels wide after "
                        "--resize_or_crop (the reference uses scaleHeight or *ScaleHeight_and_scaledCrop)")
    return tensor[..., width // 2 - half: width // 2 + half]


@register_mode("pose")
class PoseMode(DatasetMode):
    """DensePose IUV + OpenPose skeleton -> body frames (see the module docstring for the layout)."""

    deterministic_clip_start = True  # the reference starts pose clips at index % range
    allow_flip = False  # mirroring would swap left and right body parts without swapping their labels
    # the reference's pose epoch: one item per start frame, sequences drawn by their number of start frames,
    # every sequence kept (--max_dataset_size ends the epoch instead)
    items_per_frame = True
    verdict_flags = ("densepose_only", "openpose_only", "basic_point_only")

    @staticmethod
    def modify_commandline_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
        # the reference's scripts always pass --input_nc 6; it is the only value that fits the full input
        parser.set_defaults(label_nc=0, input_nc=6)
        return parser

    @staticmethod
    def label_channels(opt: argparse.Namespace) -> int:
        """3 (IUV or skeleton alone) with --densepose_only / --openpose_only, else 6."""
        return 3 if opt.densepose_only or opt.openpose_only else 6

    def __init__(self, opt: argparse.Namespace, need_real_frames: bool = True) -> None:
        super().__init__(opt, need_real_frames)
        if opt.densepose_only and opt.openpose_only:
            raise DataError("--densepose_only and --openpose_only leave no input; give at most one of them")
        channels = self.label_channels(opt)
        if opt.label_nc != 0 or opt.input_nc != channels:
            raise DataError(f"--dataset_mode pose makes {channels}-channel continuous input: use --label_nc 0 "
                            f"--input_nc {channels} (got --label_nc {opt.label_nc} --input_nc {opt.input_nc})")
        root, phase = opt.dataroot, opt.phase
        self.dir_img = os.path.join(root, f"{phase}_img")
        require_folder(self.dir_img, "--dataset_mode pose (frames and their size)", LAYOUT_HINT)
        self.img_paths = make_grouped_dataset(self.dir_img, is_image_file)
        if not self.img_paths:
            raise DataError(f"no frames found in {self.dir_img}; {LAYOUT_HINT}")
        self.dp_paths = self.op_paths = None
        if not opt.openpose_only:
            folder = os.path.join(root, f"{phase}_densepose")
            require_folder(folder, "--dataset_mode pose without --openpose_only", LAYOUT_HINT)
            self.dp_paths = self._paired(densepose_files(folder), folder)
        if not opt.densepose_only:
            folder = os.path.join(root, f"{phase}_openpose")
            require_folder(folder, "--dataset_mode pose without --densepose_only", LAYOUT_HINT)
            self.op_paths = self._paired(make_grouped_dataset(folder, lambda name: name.endswith(".json")), folder)
        self.sequences = self.img_paths  # frames are named after the real images, as in the reference

    def _paired(self, sequences: list[list[str]], folder: str) -> list[list[str]]:
        """``sequences`` paired with the frame sequences kept, folder by folder and frame by frame, by name."""
        return pair_by_name(self.img_paths, sequences, self.dir_img, folder)

    def frame_files(self, seq_index: int, frame_index: int) -> list[str]:
        """The real frame (always read: it gives the size), its IUV map and its keypoint file (those in use)."""
        groups = (self.img_paths, self.dp_paths, self.op_paths)
        return [paths[seq_index][frame_index] for paths in groups if paths is not None]

    # ------------------------------------------------------------------ reading
    def frame_size(self, seq_index: int, frame_index: int) -> tuple[int, int]:
        """(width, height) of the real frame, the size the skeleton is drawn at."""
        path = self.img_paths[seq_index][frame_index]
        try:
            with Image.open(path) as image:
                return image.size
        except (UnidentifiedImageError, OSError) as error:
            raise DataError(f"cannot read image {path}: {error}; replace or remove the file") from error

    def read_densepose(self, path: str, params: ImageParams) -> torch.Tensor:
        """(3, H, W) IUV map in [-1, 1]: U and V as 8-bit images, the part index p as 2p/24 - 1."""
        return densepose_tensor(self.opt, np.array(self.open_image(path).convert("RGB")), params, path)

    def read_openpose(self, path: str, size: tuple[int, int], params: ImageParams) -> torch.Tensor:
        """(3, H, W) skeleton in [-1, 1], drawn at ``size`` (the stored frame's) and then scaled like the IUV."""
        return openpose_tensor(self.opt, read_people(path), size, params)

    def read_frame(self, seq_index: int, frame_index: int, params: ImageParams) -> Frame:
        """label (6 or 3, H, W) in [-1, 1]; real (3, H, W) in [-1, 1] when real frames are needed."""
        img_path = self.img_paths[seq_index][frame_index]
        parts = []
        if self.dp_paths is not None:
            parts.append(self.read_densepose(self.dp_paths[seq_index][frame_index], params))
        if self.op_paths is not None:
            size = self.frame_size(seq_index, frame_index)
            parts.append(self.read_openpose(self.op_paths[seq_index][frame_index], size, params))
        label = central_half(torch.cat(parts), img_path)
        real = None
        if self.need_real_frames:
            image = self.open_image(img_path).convert("RGB")
            real = central_half(to_normalized_tensor(transform_image(image, self.opt, params, Image.BICUBIC)),
                                img_path)
        self.check_generator_size(label, img_path)
        return Frame(label=label, real=real, instance=None)


def densepose_tensor(opt: argparse.Namespace, iuv: np.ndarray, params: ImageParams, path: str) -> torch.Tensor:
    """(3, H, W) in [-1, 1] of an (H, W, 3) uint8 IUV array (V/U, U/V, part index), with training's part drops."""
    parts = iuv[:, :, 2]
    if int(parts.max()) > N_PARTS:
        raise DataError(f"{path}: part index (third channel) reaches {int(parts.max())}, above DensePose's "
                        f"{N_PARTS}; expected an IUV image with the part index in the blue channel")
    if opt.isTrain:  # the reference erases parts in training only
        original = parts.copy()
        for part in range(1, N_PARTS + 1):
            if opt.random_drop_prob > 0 and float(torch.rand(())) < opt.random_drop_prob:
                iuv[original == part] = 0
        if opt.remove_face_labels:
            iuv[np.isin(original, HEAD_PARTS)] = 0
    image = transform_image(Image.fromarray(iuv), opt, params, Image.NEAREST)
    tensor = to_normalized_tensor(image)
    index = np.asarray(image, dtype=np.float64)[:, :, 2]
    tensor[2] = torch.from_numpy(index * 2 / N_PARTS - 1)  # (p/255 -> p/24) on the [-1, 1] scale
    return tensor


def openpose_tensor(opt: argparse.Namespace, people: list, size: tuple[int, int],
                    params: ImageParams) -> torch.Tensor:
    """(3, H, W) skeleton of ``people`` (data/pose_drawing.py) in [-1, 1], drawn at ``size`` (the stored frame's)
    and then scaled like the IUV map; training's part drops and face jitter as the reference."""
    drop = opt.random_drop_prob if opt.isTrain else 0.0
    canvas = draw_people(people, size, drop_prob=drop, jitter=drop > 0 and opt.remove_face_labels,
                         basic_point_only=opt.basic_point_only)
    return to_normalized_tensor(transform_image(Image.fromarray(canvas), opt, params, Image.NEAREST))
