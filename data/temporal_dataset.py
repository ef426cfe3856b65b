"""Training dataset (--dataset_mode temporal): one random clip of a sequence per item."""
from __future__ import annotations

import argparse

import torch

from .base_dataset import SequenceDataset
from .image_folder import DataError, sequence_name


def clip_params(opt: argparse.Namespace, n_frames_total: int, seq_len: int, index: int) -> tuple[int, int, int]:
    """How many frames to read, from where, with which spacing (the reference's get_video_params).

    The clip holds ``n_frames_G - 1`` history frames plus a multiple of the chunk size
    (``max_frames_per_gpu``) of frames to generate; frames are ``t_step`` apart, ``t_step`` drawn
    uniformly from 1..max_t_step (limited by the sequence length), the start uniformly from what fits.

    Returns:
        (number of frames to read, start index, t_step)
    """
    tG = opt.n_frames_G
    n_generate = min(n_frames_total, seq_len - tG + 1)
    per_chunk = min(n_generate, opt.max_frames_per_gpu)
    n_read = per_chunk * (n_generate // per_chunk) + tG - 1
    max_t_step = max(1, min(opt.max_t_step, (seq_len - 1) // max(1, n_read - 1)))
    t_step = int(torch.randint(max_t_step, ()).item()) + 1
    offset_max = max(1, seq_len - (n_read - 1) * t_step)
    if opt.dataset_mode == "pose":
        start = index % offset_max
    else:
        start = int(torch.randint(offset_max, ()).item())
    if opt.debug:
        print(f"loading {n_read} frames, starting at index {start}, spacing {t_step}")
    return n_read, start, t_step


class TemporalDataset(SequenceDataset):
    """Item ``i`` is a random clip of sequence ``i % n_sequences``.

    A sample is a dict: ``A`` (T*C, H, W) label indices (C = 1) or input images in [-1, 1] (C = input_nc),
    ``B`` (T*3, H, W) real frames in [-1, 1], ``inst`` (T, H, W) instance ids (or a 0-d zero without
    --use_instance), ``A_path``/``B_paths`` (the last frame's paths, as in the reference).
    T = n_frames_G - 1 + the frames to generate. The DataLoader adds the batch dimension.

    ``n_frames_total`` is the current training sequence length (the schedule doubles it); the dataset only
    reads it, the trainer makes a new dataset when it changes.
    """

    def __init__(self, opt: argparse.Namespace, n_frames_total: int | None = None) -> None:
        super().__init__(opt, need_real_frames=True)
        self.n_frames_total = opt.n_frames_total if n_frames_total is None else n_frames_total
        lengths = [len(frames) for frames in self.A_paths]
        too_short = [(sequence_name(f), len(f)) for f in self.A_paths if len(f) < opt.n_frames_G]
        if too_short:
            listing = ", ".join(f"{name} ({n} frames)" for name, n in too_short[:5])
            raise DataError(f"{len(too_short)} sequence(s) in {self.dir_A} have fewer than --n_frames_G "
                            f"{opt.n_frames_G} frames, the minimum for one generated frame: {listing}. "
                            "Remove them or lower --n_frames_G")
        wanted = self.n_frames_total + opt.n_frames_G - 1
        short = [(sequence_name(f), len(f)) for f in self.A_paths if len(f) < wanted]
        if short:
            name, count = min(short, key=lambda item: item[1])
            print(f"notice: {len(short)} of {len(lengths)} sequences have fewer than the {wanted} frames asked "
                  f"for (--n_frames_total {self.n_frames_total} + {opt.n_frames_G - 1} history frames) and "
                  f"train on fewer frames; the shortest is {name} with {count}")
        self.seq_len_max = max(lengths)
        # Items of one batch must have the same length: batches of several sequences use the shortest.
        self.seq_len_cap = min(lengths) if opt.batchSize > 1 else None

    def __len__(self) -> int:
        return len(self.A_paths)

    def __getitem__(self, index: int) -> dict:
        seq_index = index % len(self.A_paths)
        seq_len = len(self.A_paths[seq_index])
        n_read, start, t_step = clip_params(self.opt, self.n_frames_total,
                                            min(seq_len, self.seq_len_cap or seq_len), index)
        frame_indices = [start + i * t_step for i in range(n_read)]
        params = self.sample_params(seq_index, frame_indices[0])
        frames = [self.read_frame(seq_index, i, params) for i in frame_indices]
        sample = {
            "A": torch.cat([f["A"] for f in frames]),  # (T*C, H, W)
            "B": torch.cat([f["B"] for f in frames]),  # (T*3, H, W)
            # (T, H, W), or a 0-d zero as the reference hands over when instance maps are unused
            "inst": torch.cat([f["inst"] for f in frames]) if self.I_paths is not None else torch.tensor(0.0),
            "A_path": self.A_paths[seq_index][frame_indices[-1]],
            "B_paths": self.B_paths[seq_index][frame_indices[-1]],
        }
        return sample
