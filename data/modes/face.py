"""Faces from landmarks (``--dataset_mode face``), the reference's edge2face input.

Layout: ``<dataroot>/<phase>_keypoints/<seq>/<frame>.txt`` (68 lines ``x,y``, as scripts/face/detect_landmarks.py
writes them) and ``<phase>_img/<seq>/<frame>.*`` (the real frames, paired by name). The real frames are read
at test time too: the Canny edges and the face single-frame G's encoder need them.

Per frame the label is 15 channels in [0, 1] (``--input_nc 15 --label_nc 0``, as the reference's face scripts
pass): the edge map (landmark curves + Canny edges of the background) and 14 distance maps, one per landmark
curve; 1 channel (the edge map) with --no_dist_map. The instance tensor is the face part map (0..6), over which
the face single-frame G's feature encoder averages. Every map is drawn on the full frame, cut to the face crop
box, then scaled like the real frame (maps BILINEAR, part labels NEAREST, real frames BICUBIC).

The crop box comes from the landmarks of one frame: in training the clip's first frame (so it follows the face
from clip to clip, and --resize_or_crop crops jitter inside it), at test time frame --start_frame of each
sequence (the reference took the first test window's box for every sequence).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from .. import face_drawing as draw
from ..image_folder import DataError, make_grouped_dataset, pair_by_name, require_folder
from ..transforms import ImageParams, get_img_params, to_index_tensor, to_normalized_tensor, transform_image
from .base import DatasetMode, Frame
from .registry import register_mode

N_LANDMARKS = 68
LANDMARK_HINT = "Make them with: python scripts/face/detect_landmarks.py --dataroot DATAROOT --phase PHASE"

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class FaceParams(ImageParams):
    """An item's transform parameters plus the face crop box (x0, y0, x1, y1) all its frames are cut to."""

    box: Box = (0, 0, 0, 0)


def to_unit_tensor(img: Image.Image) -> torch.Tensor:
    """8-bit single-channel image -> (1, H, W) float in [0, 1] (torchvision's ToTensor arithmetic)."""
    return torch.from_numpy(np.array(img, dtype=np.uint8))[None].float().div(255)


@register_mode("face")
class FaceMode(DatasetMode):
    """Landmark files in ``<phase>_keypoints/<seq>/``, real frames in ``<phase>_img/<seq>/``."""

    verdict_flags = ("no_dist_map", "no_canny_edge", "random_scale_points", "start_frame")

    def __init__(self, opt: argparse.Namespace, need_real_frames: bool = True) -> None:
        super().__init__(opt, need_real_frames)
        if opt.label_nc != 0:
            raise DataError(f"--dataset_mode face makes continuous input maps, not class ids: use --label_nc 0 "
                            f"(got {opt.label_nc})")
        channels = self.label_channels(opt)
        if opt.input_nc != channels:
            what = "the edge map (--no_dist_map)" if opt.no_dist_map else "1 edge map + 14 distance maps"
            raise DataError(f"--dataset_mode face makes {channels} input channel(s) per frame ({what}); "
                            f"pass --input_nc {channels} (got {opt.input_nc})")
        self.dir_keypoints = os.path.join(opt.dataroot, f"{opt.phase}_keypoints")
        self.dir_img = os.path.join(opt.dataroot, f"{opt.phase}_img")
        require_folder(self.dir_keypoints, "--dataset_mode face (landmarks)", LANDMARK_HINT)
        require_folder(self.dir_img, "--dataset_mode face (real frames, also read at test time)",
                       "Put one sub-folder of frames per sequence there, matching the landmark folders")
        keypoints = make_grouped_dataset(self.dir_keypoints, keep=lambda name: name.lower().endswith(".txt"))
        if not keypoints:
            raise DataError(f"no landmark files (*.txt) found in {self.dir_keypoints}. {LANDMARK_HINT}")
        n_found = len(keypoints)
        keypoints = keypoints[: int(min(n_found, opt.max_dataset_size))]
        self.img_paths = pair_by_name(keypoints, make_grouped_dataset(self.dir_img), self.dir_keypoints,
                                      self.dir_img, check_extra=len(keypoints) == n_found)
        self.sequences = keypoints

    @staticmethod
    def label_channels(opt: argparse.Namespace) -> int:
        """1 edge map, plus the 14 distance maps unless --no_dist_map: 15 (or 1)."""
        return 1 if opt.no_dist_map else 1 + draw.N_CURVES

    # ------------------------------------------------------------------ reading
    def load_points(self, seq_index: int, frame_index: int) -> np.ndarray:
        """(68, 2) float landmarks of one frame."""
        path = self.sequences[seq_index][frame_index]
        try:
            points = np.loadtxt(path, delimiter=",", ndmin=2)
        except (OSError, ValueError) as error:
            raise DataError(f"cannot read landmarks {path}: {error}; expected {N_LANDMARKS} lines 'x,y'") from error
        if points.shape != (N_LANDMARKS, 2):
            raise DataError(f"landmark file {path} holds {points.shape[0]}x{points.shape[1]} values; expected "
                            f"{N_LANDMARKS} lines 'x,y'. {LANDMARK_HINT}")
        return points

    def open_frame(self, seq_index: int, frame_index: int) -> Image.Image:
        return self.open_image(self.img_paths[seq_index][frame_index])

    def crop_box(self, seq_index: int, frame_index: int) -> Box:
        """Face crop box of the frame the current item's box is taken from (its first frame in training,
        --start_frame at test time)."""
        anchor = frame_index if self.opt.isTrain else min(self.opt.start_frame, len(self.sequences[seq_index]) - 1)
        size = self.image_size(self.img_paths[seq_index][anchor])
        return draw.crop_box(self.load_points(seq_index, anchor), size)

    def frame_size(self, seq_index: int, frame_index: int) -> tuple[int, int]:
        """(width, height) of the face crop box, from which the transform parameters are drawn (as in the
        reference)."""
        box = self.crop_box(seq_index, frame_index)
        return box[2] - box[0], box[3] - box[1]

    def sample_params(self, seq_index: int, frame_index: int, generator: torch.Generator | None = None) -> FaceParams:
        """The item's transform parameters, drawn from the size of its crop box, and the box itself, which
        every frame of the item is cut to."""
        box = self.crop_box(seq_index, frame_index)
        params = get_img_params(self.opt, (box[2] - box[0], box[3] - box[1]), self.allow_flip, generator)
        return FaceParams(**vars(params), box=box)

    def frame_files(self, seq_index: int, frame_index: int) -> list[str]:
        """The landmark file and the real frame."""
        return [self.sequences[seq_index][frame_index], self.img_paths[seq_index][frame_index]]

    def size_file(self, seq_index: int, frame_index: int) -> str:
        return self.img_paths[seq_index][frame_index]

    def read_frame(self, seq_index: int, frame_index: int, params: ImageParams) -> Frame:
        """label (15 or 1, H, W) in [0, 1]; real (3, H, W) in [-1, 1]; instance (1, H, W) part ids 0..6."""
        # the samplers pass the item's box; a direct call with plain parameters uses this frame's anchor box
        box = params.box if isinstance(params, FaceParams) else self.crop_box(seq_index, frame_index)
        frame = face_frame(self.opt, self.open_frame(seq_index, frame_index), self.load_points(seq_index, frame_index),
                           box, params)
        self.check_generator_size(frame.label, self.sequences[seq_index][frame_index])
        return frame


def face_frame(opt: argparse.Namespace, image: Image.Image, points: np.ndarray, box: Box,
               params: ImageParams) -> Frame:
    """One frame of the face mode from the real frame and its (68, 2) landmarks (a file's, or a live frame's: see
    models/streaming.py), cut to ``box`` and transformed with ``params``."""
    keypoints = draw.with_upper_face(points)
    parts = draw.part_label_map(keypoints, image.size)  # from the landmarks as read, before any scaling
    if not opt.isTrain and opt.random_scale_points:
        draw.scale_parts(keypoints)
    edges, distances = draw.draw_face_curves(keypoints, image.size, not opt.no_dist_map)
    if not opt.no_canny_edge:
        draw.add_background_edges(edges, np.asarray(image.convert("L")), parts)

    def scaled(array: np.ndarray, method: int) -> Image.Image:
        return transform_image(Image.fromarray(draw.crop_array(array, box)), opt, params, method)

    label = torch.cat([to_unit_tensor(scaled(m, Image.BILINEAR)) for m in [edges, *distances]])
    instance = to_index_tensor(scaled(parts, Image.NEAREST))
    real = to_normalized_tensor(transform_image(image.convert("RGB").crop(box), opt, params, Image.BICUBIC))
    return Frame(label=label, real=real, instance=instance)
