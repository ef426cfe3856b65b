"""Test dataset (--dataset_mode test): one item per output frame, in order, with no state between items.

The reference's test dataset carried the previous frames over from one ``__getitem__`` to the next, which
forced a single loader thread. Here every item reads its whole window of n_frames_G frames, so any number
of workers can load items in any order.
"""
from __future__ import annotations

import argparse

import torch

from .base_dataset import SequenceDataset
from .image_folder import DataError, sequence_name


class TestDataset(SequenceDataset):
    """Item ``i`` is the window of frames ``t .. t + n_frames_G - 1`` of one sequence.

    Windows of a sequence come in order (t = --start_frame, start_frame + 1, ...), sequences one after
    another. A sample: ``A`` (tG*C, H, W), ``B`` (tG*3, H, W) with --use_real_img else a 0-d zero,
    ``inst`` (tG, H, W) with --use_instance else a 0-d zero, ``A_path`` (the newest frame's path),
    ``change_seq`` (True for the first window of a sequence), ``seq_index``, ``seq_name``, ``frame_index``.

    --start_frame applies to every sequence (the reference applied it to the first one only).
    """

    __test__ = False  # not a pytest class

    def __init__(self, opt: argparse.Namespace) -> None:
        super().__init__(opt, need_real_frames=opt.use_real_img)
        tG = opt.n_frames_G
        self.windows: list[tuple[int, int]] = []
        for seq_index, frames in enumerate(self.A_paths):
            if len(frames) < opt.start_frame + tG:
                raise DataError(f"sequence {sequence_name(frames)} has {len(frames)} frames; --start_frame "
                                f"{opt.start_frame} + --n_frames_G {tG} needs at least {opt.start_frame + tG}. "
                                "Lower --start_frame or remove the sequence")
            self.windows += [(seq_index, t) for t in range(opt.start_frame, len(frames) - tG + 1)]

    def __len__(self) -> int:
        return len(self.windows)

    def n_frames(self, seq_index: int) -> int:
        return len(self.A_paths[seq_index])

    def __getitem__(self, index: int) -> dict:
        seq_index, start = self.windows[index]
        frame_indices = range(start, start + self.opt.n_frames_G)
        # One set of transform parameters per sequence, identical for all its windows (random crops too).
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seq_index)
            params = self.sample_params(seq_index, 0)
        frames = [self.read_frame(seq_index, i, params) for i in frame_indices]
        zero = torch.tensor(0.0)
        return {
            "A": torch.cat([f["A"] for f in frames]),  # (tG*C, H, W)
            "B": torch.cat([f["B"] for f in frames]) if self.B_paths is not None else zero,  # (tG*3, H, W)
            "inst": torch.cat([f["inst"] for f in frames]) if self.I_paths is not None else zero,  # (tG, H, W)
            "A_path": self.A_paths[seq_index][frame_indices[-1]],
            "change_seq": start == self.opt.start_frame,
            "seq_index": seq_index,
            "seq_name": sequence_name(self.A_paths[seq_index]),
            "frame_index": frame_indices[-1],
        }
