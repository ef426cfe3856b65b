"""Test windows of any dataset mode: one item per output frame, in order, with no state between items.

The reference's test dataset carried the previous frames over from one ``__getitem__`` to the next, which
forced a single loader thread. Here every item reads its whole window of n_frames_G frames, so any number
of workers can load items in any order.
"""
from __future__ import annotations

import argparse

import torch

from .clip import Clip
from .image_folder import DataError, sequence_name
from .modes import DatasetMode, build_mode
from .temporal_dataset import clip_of


class TestDataset(torch.utils.data.Dataset):
    """Item ``i`` is the window of frames ``t .. t + n_frames_G - 1`` of one sequence, as a `Clip` (T = n_frames_G):
    real frames with --use_real_img, instance maps with --use_instance, ``starts_sequence`` for the first window
    of a sequence, ``frame_index`` the newest frame's index.

    Windows of a sequence come in order (t = --start_frame, start_frame + 1, ...), sequences one after
    another. --start_frame applies to every sequence (the reference applied it to the first one only).
    """

    __test__ = False  # not a pytest class

    def __init__(self, opt: argparse.Namespace, mode: DatasetMode | None = None) -> None:
        self.opt = opt
        self.mode = mode if mode is not None else build_mode(opt, need_real_frames=opt.use_real_img)
        tG = opt.n_frames_G
        self.windows: list[tuple[int, int]] = []
        for seq_index, frames in enumerate(self.mode.sequences):
            if len(frames) < opt.start_frame + tG:
                raise DataError(f"sequence {sequence_name(frames)} has {len(frames)} frames; --start_frame "
                                f"{opt.start_frame} + --n_frames_G {tG} needs at least {opt.start_frame + tG}. "
                                "Lower --start_frame or remove the sequence")
            self.windows += [(seq_index, t) for t in range(opt.start_frame, len(frames) - tG + 1)]

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> Clip:
        seq_index, start = self.windows[index]
        frame_indices = list(range(start, start + self.opt.n_frames_G))
        # One set of transform parameters per sequence, identical for all its windows (random crops too).
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seq_index)
            params = self.mode.sample_params(seq_index, 0)
        frames = [self.mode.read_frame(seq_index, i, params) for i in frame_indices]
        paths = self.mode.sequences[seq_index]
        return clip_of(frames, sequence_name(paths), [paths[i] for i in frame_indices], frame_indices[-1],
                       starts_sequence=start == self.opt.start_frame)
