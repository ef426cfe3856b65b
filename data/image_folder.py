"""Finding sequences on disk: one sub-folder per video, frames sorted by file name."""
from __future__ import annotations

import os
from collections.abc import Callable

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff")


class DataError(ValueError):
    """Bad input data; the message names the file or folder and what to do."""


def is_image_file(file_name: str) -> bool:
    return file_name.lower().endswith(IMG_EXTENSIONS)


def make_grouped_dataset(folder: str, keep: Callable[[str], bool] = is_image_file) -> list[list[str]]:
    """Return one sorted list of frame paths per sequence folder under ``folder`` (the folder itself counts
    when it holds frames directly); ``keep`` picks the files (images by default). Sequences are sorted by
    folder path, frames by file name."""
    sequences = []
    for root, dirs, files in sorted(os.walk(folder)):
        dirs.sort()
        frames = [os.path.join(root, name) for name in sorted(files) if keep(name)]
        if frames:
            sequences.append(frames)
    return sorted(sequences)


def require_folder(folder: str, needed_by: str, fix: str) -> None:
    if not os.path.isdir(folder):
        raise DataError(f"folder {folder} not found; it is needed by {needed_by}. {fix}")


def check_paired(reference: list[list[str]], other: list[list[str]], reference_dir: str, other_dir: str) -> None:
    """Both folders must hold the same sequences with the same number of frames (matched by position)."""
    if len(reference) != len(other):
        raise DataError(f"{other_dir} has {len(other)} sequence folders but {reference_dir} has "
                        f"{len(reference)}; every sequence needs a folder in both")
    for ref_seq, other_seq in zip(reference, other, strict=True):
        if len(ref_seq) != len(other_seq):
            raise DataError(f"sequence {os.path.dirname(other_seq[0])} has {len(other_seq)} frames but "
                            f"{os.path.dirname(ref_seq[0])} has {len(ref_seq)}; they must match frame by frame")


def sequence_name(frames: list[str]) -> str:
    """Name of a sequence: its folder name."""
    return os.path.basename(os.path.dirname(frames[0]))
