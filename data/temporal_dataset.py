"""Training clips of any dataset mode: one random clip of a sequence per item."""
from __future__ import annotations

import argparse

import torch

from .clip import Clip, history_length, stack_field
from .image_folder import DataError, sequence_name
from .modes import DatasetMode, build_mode


def clip_params(opt: argparse.Namespace, n_frames_total: int, seq_len: int, index: int,
                deterministic_start: bool = False) -> tuple[int, int, int]:
    """How many frames to read, from where, with which spacing (the reference's get_video_params).

    The clip holds ``n_frames_G - 1`` history frames plus a multiple of the chunk size
    (``max_frames_per_gpu``) of frames to generate; frames are ``t_step`` apart, ``t_step`` drawn
    uniformly from 1..max_t_step (limited by the sequence length), the start uniformly from what fits.

    Returns:
        (number of frames to read, start index, t_step)
    """
    n_history = history_length(opt)
    n_generate = min(n_frames_total, seq_len - n_history)
    per_chunk = min(n_generate, opt.max_frames_per_gpu)
    n_read = per_chunk * (n_generate // per_chunk) + n_history
    max_t_step = max(1, min(opt.max_t_step, (seq_len - 1) // max(1, n_read - 1)))
    t_step = int(torch.randint(max_t_step, ()).item()) + 1
    offset_max = max(1, seq_len - (n_read - 1) * t_step)
    if deterministic_start:
        start = index % offset_max
    else:
        start = int(torch.randint(offset_max, ()).item())
    if opt.debug:
        print(f"loading {n_read} frames, starting at index {start}, spacing {t_step}")
    return n_read, start, t_step


class TemporalDataset(torch.utils.data.Dataset):
    """Item ``i`` is a random `Clip` of sequence ``i % n_sequences`` (see `sequence_of`) of the dataset mode:
    label, real and instance tensors (T, C, H, W), T = n_frames_G - 1 history frames + the frames to generate.
    The DataLoader (with `collate_clips`) adds the batch dimension.

    Modes with ``items_per_frame`` (pose) have one item per start frame instead: a sequence of n frames counts
    n - n_frames_G + 1 items. A training epoch reads `data.order.epoch_items` of them (--max_dataset_size).

    ``n_frames_total`` is the current training sequence length (the schedule doubles it); the dataset only
    reads it, the trainer makes a new dataset when it changes.
    """

    def __init__(self, opt: argparse.Namespace, n_frames_total: int | None = None,
                 mode: DatasetMode | None = None) -> None:
        self.opt = opt
        self.mode = mode if mode is not None else build_mode(opt, need_real_frames=True)
        self.n_frames_total = opt.n_frames_total if n_frames_total is None else n_frames_total
        sequences = self.mode.sequences
        lengths = [len(frames) for frames in sequences]
        too_short = [(sequence_name(f), len(f)) for f in sequences if len(f) < opt.n_frames_G]
        if too_short:
            listing = ", ".join(f"{name} ({n} frames)" for name, n in too_short[:5])
            raise DataError(f"{len(too_short)} sequence(s) of --dataroot {opt.dataroot} ({opt.phase}) have fewer "
                            f"than --n_frames_G {opt.n_frames_G} frames, the minimum for one generated frame: "
                            f"{listing}. Remove them or lower --n_frames_G")
        wanted = self.n_frames_total + history_length(opt)
        short = [(sequence_name(f), len(f)) for f in sequences if len(f) < wanted]
        if short:
            name, count = min(short, key=lambda item: item[1])
            print(f"notice: {len(short)} of {len(lengths)} sequences have fewer than the {wanted} frames asked "
                  f"for (--n_frames_total {self.n_frames_total} + {history_length(opt)} history frames) and "
                  f"train on fewer frames; the shortest is {name} with {count}")
        self.seq_len_max = max(lengths)
        # the reference's count of start frames of a sequence (its items in modes with one item per start frame)
        self.n_start_frames = torch.tensor([n - opt.n_frames_G + 1 for n in lengths], dtype=torch.float64)
        # Items of one batch must have the same length: batches of several sequences use the shortest.
        self.seq_len_cap = min(lengths) if opt.batchSize > 1 else None

    def __len__(self) -> int:
        if self.mode.items_per_frame:
            return int(self.n_start_frames.sum())
        return len(self.mode.sequences)

    def sequence_of(self, index: int) -> int:
        """The sequence item ``index`` reads: ``index % n``, or, for modes with one item per start frame, drawn
        with probability proportional to its number of start frames (frames - n_frames_G + 1), from torch's RNG,
        which `SeededItems` seeds per item."""
        if not self.mode.items_per_frame:
            return index % len(self.mode.sequences)
        return int(torch.multinomial(self.n_start_frames, 1).item())

    def __getitem__(self, index: int) -> Clip:
        seq_index = self.sequence_of(index)
        paths = self.mode.sequences[seq_index]
        seq_len = len(paths)
        n_read, start, t_step = clip_params(self.opt, self.n_frames_total,
                                            min(seq_len, self.seq_len_cap or seq_len), index,
                                            self.mode.deterministic_clip_start)
        frame_indices = [start + i * t_step for i in range(n_read)]
        params = self.mode.sample_params(seq_index, frame_indices[0])
        frames = [self.mode.read_frame(seq_index, i, params) for i in frame_indices]
        return clip_of(frames, sequence_name(paths), [paths[i] for i in frame_indices], frame_indices[-1],
                       starts_sequence=True)


def clip_of(frames: list, sequence: str, frame_paths: list[str], frame_index: int, starts_sequence: bool) -> Clip:
    """Stack per-frame tensors (C, H, W) along a new time axis: (T, C, H, W)."""
    return Clip(label=stack_field(frames, "label"), real=stack_field(frames, "real"),
                instance=stack_field(frames, "instance"), sequence=sequence, frame_paths=frame_paths,
                starts_sequence=starts_sequence, frame_index=frame_index)
