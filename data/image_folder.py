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


class DataProblems(DataError):
    """Several data problems at once: the message is the first one plus a count, ``problems`` lists them all
    (scripts/inspect_dataset.py prints them), so a fix-and-rerun loop is not one file at a time."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(summarize_problems(problems))
        self.problems = list(problems)


def summarize_problems(problems: list[str]) -> str:
    """One line: the first problem and how many more there are."""
    more = len(problems) - 1
    if more <= 0:
        return problems[0]
    return (f"{problems[0]} (and {more} more problem{'s' if more > 1 else ''}; "
            "python scripts/inspect_dataset.py lists them all)")


def problems_of(error: DataError) -> list[str]:
    """Every problem a `DataError` reports (one, unless it is a `DataProblems`)."""
    return list(getattr(error, "problems", None) or [str(error)])


def stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def strip_common_suffix(stems: list[str]) -> list[str]:
    """The stems without the suffix all of them share, cut at a ``_`` (``x_000019_gtFine_labelIds`` ->
    ``x_000019``), so folders with per-folder suffixes (Cityscapes) pair frame by frame. No key is left empty."""
    common = os.path.commonprefix([s[::-1] for s in stems])[::-1]
    for cut in (i for i, char in enumerate(common) if char == "_"):
        suffix = len(common) - cut
        if all(len(s) > suffix for s in stems):
            return [s[:-suffix] for s in stems]
    return list(stems)


def frame_keys(reference: list[str], other: list[str]) -> tuple[list[str], list[str]]:
    """Pairing keys of two folders' frames: the file stems, or the stems without the suffix common to one
    folder (or both), whichever pairs the most frames (exact stems win ties)."""
    ref, oth = [stem(p) for p in reference], [stem(p) for p in other]
    ref_cut, oth_cut = strip_common_suffix(ref), strip_common_suffix(oth)
    candidates = [(ref, oth), (ref_cut, oth_cut), (ref_cut, oth), (ref, oth_cut)]
    return max(candidates, key=lambda keys: len(set(keys[0]) & set(keys[1])))


def _duplicates(frames: list[str], keys: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for path, key in zip(frames, keys, strict=True):
        if key in seen:
            problems.append(f"{path} and {seen[key]} have the same frame name {key!r}; keep one of them")
        seen.setdefault(key, path)
    return problems


def _unpaired(ref_frames: list[str], other_frames: list[str], ref_keys: list[str], other_keys: list[str],
              ref_dir: str, other_dir: str) -> list[str]:
    """One problem per frame without a partner, in position order; a frame and its position partner that are
    both unpaired (a renamed file) make one problem."""
    ref_set, other_set = set(ref_keys), set(other_keys)
    lone_ref = {i for i, key in enumerate(ref_keys) if key not in other_set}
    lone_other = {i for i, key in enumerate(other_keys) if key not in ref_set}
    rule = "frames pair by file name (a suffix shared by all files of a folder is ignored)"
    problems = []
    for i in sorted(lone_ref | lone_other):
        if i in lone_ref:
            partner = f"; by position it would be paired with {other_frames[i]}" if i < len(other_frames) else ""
            fix = "rename one of them" if i in lone_other else f"add its partner to {other_dir} or remove it"
            problems.append(f"{ref_frames[i]} has no frame of the same name in {other_dir}{partner}; "
                            f"{rule}: {fix}")
        elif i in lone_other:
            partner = f"; by position it would be paired with {ref_frames[i]}" if i < len(ref_frames) else ""
            problems.append(f"{other_frames[i]} has no frame of the same name in {ref_dir}{partner}; {rule}: "
                            f"rename or remove it")
    return problems


def pair_frames(ref_frames: list[str], other_frames: list[str]) -> tuple[list[str], list[str]]:
    """``other_frames`` reordered to partner ``ref_frames`` one by one by name, and the problems found (any
    problem: the list is not usable)."""
    ref_dir, other_dir = os.path.dirname(ref_frames[0]), os.path.dirname(other_frames[0])
    ref_keys, other_keys = frame_keys(ref_frames, other_frames)
    problems = _duplicates(ref_frames, ref_keys) + _duplicates(other_frames, other_keys)
    problems += _unpaired(ref_frames, other_frames, ref_keys, other_keys, ref_dir, other_dir)
    if problems and len(ref_frames) != len(other_frames):
        problems[0] = (f"sequence {other_dir} has {len(other_frames)} frames but {ref_dir} has "
                       f"{len(ref_frames)}: {problems[0]}")
    by_key = dict(zip(other_keys, other_frames, strict=True))
    return ([] if problems else [by_key[key] for key in ref_keys]), problems


def _folder_key(frames: list[str], root: str) -> str:
    return os.path.relpath(os.path.dirname(frames[0]), root)


def _unpaired_folders(missing: list[str], extra: list[str], ref_dir: str, other_dir: str,
                      check_extra: bool) -> list[str]:
    rule = "sequence folders pair by name"
    hint = f" (unpaired there: {', '.join(extra[:3])}{', ...' if len(extra) > 3 else ''})" if extra else ""
    problems = [f"sequence folder {os.path.join(ref_dir, key)} has no counterpart {os.path.join(other_dir, key)}"
                f"{hint}; {rule}: rename or add one" for key in missing]
    if check_extra and not missing:
        problems += [f"sequence folder {os.path.join(other_dir, key)} has no counterpart "
                     f"{os.path.join(ref_dir, key)}; {rule}: rename or remove it" for key in extra]
    return problems


def pair_by_name(reference: list[list[str]], other: list[list[str]], reference_dir: str, other_dir: str,
                 check_extra: bool = True) -> list[list[str]]:
    """``other``'s sequences and frames reordered to partner ``reference``'s by NAME: sequence folders by their
    path under the two folders, frames by file stem (see `frame_keys`). Raises `DataProblems` listing every
    unpaired folder or frame, so renamed files can never train on the wrong partner. ``check_extra=False``
    ignores sequences of ``other`` without a partner (``reference`` was cut by --max_dataset_size)."""
    others = {_folder_key(frames, other_dir): frames for frames in other}
    keys = [_folder_key(frames, reference_dir) for frames in reference]
    missing = [key for key in keys if key not in others]
    extra = sorted(set(others) - set(keys))
    problems = _unpaired_folders(missing, extra, reference_dir, other_dir, check_extra)
    paired = []
    for key, frames in zip(keys, reference, strict=True):
        if key in others:
            partners, frame_problems = pair_frames(frames, others[key])
            paired.append(partners)
            problems += frame_problems
    if problems:
        raise DataProblems(problems)
    return paired


def sequence_name(frames: list[str]) -> str:
    """Name of a sequence: its folder name."""
    return os.path.basename(os.path.dirname(frames[0]))
