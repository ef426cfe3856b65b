"""The loader -> model contract: every dataset mode yields `Clip`s; trainer, inference, logger and result writer
consume them. Channel counts and the history length are computed here, once.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace

import torch


def history_length(opt: argparse.Namespace) -> int:
    """Frames of history each generator call sees before the frame it makes: n_frames_G - 1."""
    return opt.n_frames_G - 1


def dataset_label_channels(opt: argparse.Namespace) -> int:
    """Channels of one frame's ``label`` as datasets yield it: 1 (class ids) with --label_nc > 0, else
    --input_nc (continuous input such as images, edge maps or pose renderings)."""
    return 1 if opt.label_nc != 0 else opt.input_nc


def encoded_label_channels(opt: argparse.Namespace) -> int:
    """Channels of one frame's generator input: label_nc (one-hot) or input_nc, +1 for the instance edges."""
    channels = opt.label_nc if opt.label_nc != 0 else opt.input_nc
    return channels + (1 if opt.use_instance else 0)


@dataclass
class Clip:
    """Consecutive frames of one sequence, with an explicit time axis.

    A dataset item holds (T, C, H, W) tensors; a batch (see `collate_clips`) holds (B, T, C, H, W).
      label: class ids (C = 1, integer-valued float) or continuous input (C = input_nc, in [-1, 1]).
      real: (.., T, 3, H, W) real frames in [-1, 1], or None (test without --use_real_img).
      instance: (.., T, 1, H, W) instance ids (integer-valued float), or None without --use_instance.
      sequence: the sequence's name (a list of names in a batch).
      frame_paths: the label file of each frame (a list per item in a batch).
      starts_sequence: True when no earlier output of the sequence exists (test windows: the first window).
      frame_index: index of the newest frame in its sequence.
    """

    label: torch.Tensor
    real: torch.Tensor | None = None
    instance: torch.Tensor | None = None
    sequence: str | list[str] = ""
    frame_paths: list = field(default_factory=list)
    starts_sequence: bool = True
    frame_index: int = -1

    @property
    def batched(self) -> bool:
        return self.label.dim() == 5

    @property
    def newest_path(self) -> str:
        """Label file of the newest frame (of the first item in a batch)."""
        paths = self.frame_paths[0] if self.batched and self.frame_paths else self.frame_paths
        return paths[-1] if paths else ""

    @property
    def sequence_name(self) -> str:
        return self.sequence[0] if isinstance(self.sequence, list) else self.sequence

    def as_batch(self) -> Clip:
        """A batch of one: (T, C, H, W) -> (1, T, C, H, W); a batch is returned as it is."""
        if self.batched:
            return self
        return replace(
            self,
            label=self.label.unsqueeze(0),
            real=None if self.real is None else self.real.unsqueeze(0),
            instance=None if self.instance is None else self.instance.unsqueeze(0),
            sequence=[self.sequence],
            frame_paths=[self.frame_paths],
        )

    def to(self, device: torch.device | str) -> Clip:
        return replace(
            self,
            label=self.label.to(device),
            real=None if self.real is None else self.real.to(device),
            instance=None if self.instance is None else self.instance.to(device),
        )


def stack_field(parts: list, name: str) -> torch.Tensor | None:
    """``torch.stack`` of attribute ``name`` of each part (frames of a clip, items of a batch), None when the
    parts have none."""
    values = [getattr(part, name) for part in parts]
    return None if values[0] is None else torch.stack(values)


def collate_clips(items: list[Clip]) -> Clip:
    """DataLoader ``collate_fn``: stack items of equal length into one (B, T, C, H, W) batch."""
    first = items[0]
    return Clip(
        label=stack_field(items, "label"),
        real=stack_field(items, "real"),
        instance=stack_field(items, "instance"),
        sequence=[item.sequence for item in items],
        frame_paths=[item.frame_paths for item in items],
        starts_sequence=first.starts_sequence,
        frame_index=first.frame_index,
    )
