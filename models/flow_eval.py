"""End-point error (EPE) of a flow backend against the sample dataset's exact ground-truth flow.

The sample dataset (``data/sample_video.py``) stores, for frame ``t`` of a sequence, the flow from frame ``t``
to frame ``t + 1``; a backend called as ``estimator(current=frame t, previous=frame t + 1)`` estimates exactly
that field, so the two compare pixel for pixel. EPE is the Euclidean distance between estimated and true
``(u, v)`` in pixels, averaged over every pixel (occluded ones included, as in the Middlebury "all" figure).
The zero-flow baseline (predicting no motion) is the mean magnitude of the true flow.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from data.transforms import to_normalized_tensor
from util.flow_io import read_flo


def load_frame(path: str | os.PathLike) -> torch.Tensor:
    """An image file -> (3, H, W) float32 RGB in [-1, 1], the range the flow backends expect."""
    with Image.open(path) as image:
        return to_normalized_tensor(image.convert("RGB"))


def end_point_error(flow: np.ndarray, target: np.ndarray) -> float:
    """Mean EPE in pixels between two (H, W, 2) flows."""
    flow, target = np.asarray(flow, np.float64), np.asarray(target, np.float64)
    if flow.shape != target.shape or flow.shape[-1] != 2:
        raise ValueError(f"end_point_error: flows must both be (H, W, 2), got {flow.shape} and {target.shape}")
    return float(np.sqrt(((flow - target) ** 2).sum(axis=-1)).mean())


def sample_dataset_pairs(dataroot: str | os.PathLike, split: str = "test") -> list[tuple[Path, Path, Path]]:
    """``(frame t, frame t + 1, flow t -> t + 1)`` paths of every sequence under ``<dataroot>/<split>_B``."""
    frames_root = Path(dataroot) / f"{split}_B"
    flow_root = Path(dataroot) / f"{split}_flow"
    if not frames_root.is_dir() or not flow_root.is_dir():
        raise FileNotFoundError(f"{frames_root} or {flow_root} not found; write the sample dataset with "
                                f"`python scripts/make_sample_dataset.py --dataroot {dataroot}`")
    pairs = []
    for sequence in sorted(path for path in frames_root.iterdir() if path.is_dir()):
        frames = sorted(sequence.glob("*.png"))
        for current, following in zip(frames[:-1], frames[1:], strict=True):
            flow_file = flow_root / sequence.name / f"{current.stem}.flo"
            if not flow_file.is_file():
                raise FileNotFoundError(f"ground-truth flow {flow_file} for frame {current} is missing")
            pairs.append((current, following, flow_file))
    if not pairs:
        raise FileNotFoundError(f"no frame pairs under {frames_root}")
    return pairs


def evaluate_sample_dataset(estimator: torch.nn.Module, dataroot: str | os.PathLike, split: str = "test",
                            max_pairs: int | None = None, device: torch.device | str = "cpu") -> dict:
    """Mean EPE of ``estimator`` and of zero flow over the sample dataset's pairs, one pair per call.

    Returns ``{"pairs": n, "epe": mean EPE, "zero_epe": mean |true flow|, "seconds_per_pair": s}``; the means
    are over pairs of the per-pair pixel means (all pairs have the same size).
    """
    pairs = sample_dataset_pairs(dataroot, split)[:max_pairs]
    epes, zero_epes, seconds = [], [], 0.0
    for current_path, following_path, flow_path in pairs:
        target = read_flo(flow_path)  # (H, W, 2)
        current = load_frame(current_path)[None].to(device)  # (1, 3, H, W)
        following = load_frame(following_path)[None].to(device)
        start = time.perf_counter()
        flow = estimator(current, following).flow[0]  # (2, H, W): frame t -> frame t + 1
        seconds += time.perf_counter() - start
        estimate = flow.permute(1, 2, 0).cpu().numpy()  # (H, W, 2)
        epes.append(end_point_error(estimate, target))
        zero_epes.append(end_point_error(np.zeros_like(target), target))
    return {"pairs": len(pairs), "epe": float(np.mean(epes)), "zero_epe": float(np.mean(zero_epes)),
            "seconds_per_pair": seconds / len(pairs)}


__all__ = ["end_point_error", "evaluate_sample_dataset", "load_frame", "sample_dataset_pairs"]
