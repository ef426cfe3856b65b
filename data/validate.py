"""Check a whole dataset before the first training step: every frame of every sequence, as training reads it.

Why: a loader reads only the frames an epoch samples, so a bad file surfaces late inside a DataLoader worker, or
never (the last frame of a sequence, a text file named ``.png``). `validate_dataset` builds the dataset mode of
``--dataset_mode`` (which pairs its folders and frames by name), then reads every frame with the mode's own
`DatasetMode.check_frame` (readability, image modes, label range, sizes, lossy label formats, channels, the
generator's size divisibility), checks that all frames of a sequence have one size and that the real frames of
a split are all colour or all greyscale (a stray grey frame is read as grey RGB, silently). It reports every
problem; the `DataError` it raises names the first one and how many more there are.

Frames are checked in a thread pool of ``--nThreads`` threads (at least 1). Frames found good are remembered in
``<dataroot>/.vid2vid_checked.json``, keyed by the (path, size, mtime_ns) of their files and by the flags that
change the verdict, so an unchanged dataset is read once; the file is written (atomically) only after a
validation found no problem, and not at all when the dataroot is read-only.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from PIL import Image
from tqdm import tqdm

from util.atomic import write_text_atomically
from util.cli import one_line

from .dataset_record import unfinished_problem
from .image_folder import DataError, DataProblems, problems_of
from .modes import build_mode
from .modes.base import DatasetMode, FrameSize

CACHE_NAME = ".vid2vid_checked.json"
CACHE_VERSION = 2  # bump when a check changes, so frames found good by an older validator are checked again
MAX_SECTIONS = 8  # flag sets (and phases) remembered in one cache file; the least recently used is dropped
# flags that change whether a frame is valid (the mode adds its own: DatasetMode.verdict_flags)
VERDICT_FLAGS = ("phase", "isTrain", "use_real_img", "label_nc", "input_nc", "use_instance", "loadSize", "fineSize",
                 "resize_or_crop", "n_downsample_G", "n_scales_spatial", "no_flip")

FileStat = tuple[str, int, int]  # (path relative to the dataroot, size in bytes, mtime_ns)


@dataclass
class ValidationReport:
    """What a validation did: sequences, frames read, frames skipped as unchanged since a passed validation
    (the cache), seconds, and every problem found (one line each; empty when the dataset is good)."""

    phase: str
    sequences: int = 0
    frames_checked: int = 0
    frames_cached: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return self.frames_checked + self.frames_cached

    def summary(self) -> str:
        return (f"{self.phase}: {self.sequences} sequences, {self.frames} frames valid ({self.frames_cached} "
                f"unchanged since the last check) in {self.seconds:.1f} s")


class FrameResult(NamedTuple):
    """One frame's verdict: its files' stats, its stored size (None if unreadable), whether the cache knew it,
    its problem (None when good) and whether its real frame is greyscale (None without one)."""

    stats: tuple[FileStat, ...]
    size: FrameSize | None
    cached: bool
    problem: str | None
    grey: bool | None = None


# ---------------------------------------------------------------------------------------------- the cache
def verdict_flags(opt: argparse.Namespace, mode: DatasetMode) -> dict:
    """The flags a frame's verdict depends on, as stored in (and keying) the cache."""
    flags = {name: getattr(opt, name, None) for name in (*VERDICT_FLAGS, *mode.verdict_flags)}
    return {**flags, "dataset_mode": mode.name, "need_real_frames": mode.need_real_frames}


class CheckCache:
    """Frames found good by an earlier passed validation with the same verdict flags (one section per flag set
    in ``<dataroot>/.vid2vid_checked.json``): a frame is known when all its files have the same path, size and
    mtime_ns as then."""

    def __init__(self, opt: argparse.Namespace, mode: DatasetMode) -> None:
        self.root = opt.dataroot
        self.path = os.path.join(self.root, CACHE_NAME)
        self.flags = verdict_flags(opt, mode)
        text = json.dumps([CACHE_VERSION, self.flags], sort_keys=True, default=str)
        self.key = hashlib.sha256(text.encode()).hexdigest()[:16]
        self.sections = self._load()
        try:
            self.known = {self._stats_key(files): (FrameSize(os.path.join(self.root, str(rel)), int(w), int(h)),
                                                   None if grey is None else bool(grey))
                          for files, rel, w, h, grey in self.sections.get(self.key, {}).get("frames", [])}
        except (ValueError, TypeError, KeyError, AttributeError):  # a damaged cache is an empty one
            self.sections, self.known = {}, {}

    @staticmethod
    def _stats_key(files: Iterable) -> tuple[FileStat, ...]:
        return tuple((str(rel), int(size), int(mtime)) for rel, size, mtime in files)

    def _load(self) -> dict:
        """The cache's sections; an absent, foreign or damaged file is an empty cache."""
        try:
            with open(self.path, encoding="utf-8") as file:
                content = json.load(file)
            sections = content["sections"] if content.get("version") == CACHE_VERSION else {}
            return {key: section for key, section in sections.items() if isinstance(section, dict)}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def stat(self, path: str) -> FileStat:
        info = os.stat(path)
        return os.path.relpath(path, self.root), info.st_size, info.st_mtime_ns

    def lookup(self, stats: tuple[FileStat, ...]) -> tuple[FrameSize, bool | None] | None:
        """(stored size, real frame greyscale) of a frame found good with these very files, else None."""
        return self.known.get(stats)

    def save(self, results: list[FrameResult]) -> None:
        """Remember every frame of a passed validation (only these: removed files drop out); nothing is written
        when nothing changed, and a read-only dataroot is left alone."""
        if all(r.cached for r in results) and len(results) == len(self.known):
            return
        frames = [[[list(s) for s in r.stats], os.path.relpath(r.size.path, self.root), r.size.width,
                   r.size.height, r.grey] for r in results]
        sections = {**self.sections, self.key: {"used": time.time(), "flags": self.flags, "frames": frames}}
        newest = sorted(sections, key=lambda key: sections[key].get("used", 0), reverse=True)[:MAX_SECTIONS]
        text = json.dumps({"version": CACHE_VERSION, "sections": {key: sections[key] for key in newest}},
                          separators=(",", ":"), default=str)
        try:
            write_text_atomically(self.path, text)
        except OSError:
            pass  # a read-only dataroot: validate again next time


# ---------------------------------------------------------------------------------------------- checking
def check_one(mode: DatasetMode, cache: CheckCache, seq_index: int, frame_index: int) -> FrameResult:
    """Verdict on one frame: from the cache when its files are unchanged, else by reading it (stat first, so a
    file changed while it is read is checked again next time)."""
    files = mode.frame_files(seq_index, frame_index)
    try:
        stats = tuple(cache.stat(path) for path in files)
    except OSError as error:
        return FrameResult((), None, False, f"cannot read {error.filename}: {error.strerror}; restore or remove it")
    known = cache.lookup(stats)
    if known is not None:
        return FrameResult(stats, known[0], True, None, known[1])
    try:
        size = mode.check_frame(seq_index, frame_index)
        real = real_frame_file(mode, seq_index, frame_index)
        return FrameResult(stats, size, False, None, None if real is None else is_greyscale(real))
    except DataError as error:
        return FrameResult(stats, None, False, one_line(str(error)))
    except Exception as error:  # noqa: BLE001 - any failure to read a frame is that frame's problem
        problem = (f"reading frame {files[0]} as training does failed ({type(error).__name__}: {error}); "
                   "check its files and the size flags (--loadSize, --fineSize, --resize_or_crop)")
        return FrameResult(stats, None, False, one_line(problem))


def run_checks(check: Callable[[tuple[int, int]], FrameResult], items: list[tuple[int, int]], workers: int,
               progress: bool, phase: str) -> list[FrameResult]:
    """``check`` on every (sequence, frame), in order, on ``workers`` threads, with a progress bar on a TTY."""
    show = progress and sys.stderr.isatty()
    with tqdm(total=len(items), desc=f"checking {phase} frames", unit="frame", disable=not show,
              dynamic_ncols=True) as bar:
        def counted(item: tuple[int, int]) -> FrameResult:
            result = check(item)
            bar.update(1)
            return result

        if workers <= 1:
            return [counted(item) for item in items]
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="validate")
        try:
            return list(pool.map(counted, items))
        finally:  # Ctrl-C: drop the frames not started instead of waiting for all of them
            pool.shutdown(wait=True, cancel_futures=True)


GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")  # PIL modes without colour


def real_frame_file(mode: DatasetMode, seq_index: int, frame_index: int) -> str | None:
    """The real (RGB) frame of a frame, None when the mode reads none. The folders layout keeps its real frames
    beside the label maps (``B_paths``); the other modes name a frame after its real image (`size_file`)."""
    if not mode.need_real_frames:
        return None
    real = getattr(mode, "B_paths", None)
    return real[seq_index][frame_index] if real is not None else mode.size_file(seq_index, frame_index)


def is_greyscale(path: str) -> bool:
    """Whether the image at ``path`` is stored without colour (its header's mode: nothing decoded)."""
    with Image.open(path) as image:
        return image.mode in GREY_MODES


def colour_problems(paths: list[str | None], greys: list[bool | None]) -> list[tuple[int, str]]:
    """(item index, problem) for each real frame of a split whose colour differs from most others: a greyscale
    frame among colour ones is read as grey RGB and teaches the generator grey output (and the reverse)."""
    kinds = Counter(grey for grey in greys if grey is not None)
    if len(kinds) <= 1:
        return []
    grey_is_odd = kinds[True] <= kinds[False]
    n_usual = kinds[not grey_is_odd]
    example = next(path for path, grey in zip(paths, greys, strict=True) if grey is (not grey_is_odd))
    if grey_is_odd:
        problem = (f"is greyscale but {n_usual} real frame(s) of this split are colour (e.g. {example}); it would be "
                   "read as a grey RGB frame: replace it with the colour frame, or convert it to RGB if grey is meant")
    else:
        problem = (f"is colour but {n_usual} real frame(s) of this split are greyscale (e.g. {example}); convert it to "
                   "greyscale, or replace the grey frames with colour ones")
    return [(i, f"real frame {path} {problem}") for i, (path, grey) in enumerate(zip(paths, greys, strict=True))
            if grey is grey_is_odd]


def size_problems(sizes: list[FrameSize | None]) -> list[tuple[int, str]]:
    """(frame index, problem) for each frame of one sequence whose stored size differs from the most common."""
    counts = Counter((s.width, s.height) for s in sizes if s is not None)
    if len(counts) <= 1:
        return []
    (width, height), n = counts.most_common(1)[0]
    example = next(s.path for s in sizes if s is not None and (s.width, s.height) == (width, height))
    return [(i, f"{s.path} is {s.width}x{s.height} but {n} frame(s) of its sequence are {width}x{height} "
                f"(e.g. {example}); all frames of a sequence must have one size: resize it")
            for i, s in enumerate(sizes) if s is not None and (s.width, s.height) != (width, height)]


def frame_problems(mode: DatasetMode, items: list[tuple[int, int]], results: list[FrameResult]) -> list[str]:
    """Every problem, in dataset order: each frame's own, then the sizes that differ within its sequence."""
    found = [(seq, frame, 0, r.problem) for (seq, frame), r in zip(items, results, strict=True) if r.problem]
    start = 0
    for seq, frames in enumerate(mode.sequences):
        sizes = [r.size for r in results[start: start + len(frames)]]
        found += [(seq, frame, 1, problem) for frame, problem in size_problems(sizes)]
        start += len(frames)
    reals = [real_frame_file(mode, *item) if r.grey is not None else None for item, r in zip(items, results,
                                                                                             strict=True)]
    found += [(*items[i], 2, problem) for i, problem in colour_problems(reals, [r.grey for r in results])]
    return [problem for *_, problem in sorted(found)]


def phase_options(opt: argparse.Namespace, phase: str | None) -> argparse.Namespace:
    """``opt`` itself, or a copy reading split ``phase``."""
    return opt if phase is None or phase == opt.phase else argparse.Namespace(**{**vars(opt), "phase": phase})


def needs_real_frames(opt: argparse.Namespace) -> bool:
    """As the datasets build their mode: real frames in training, and at test time with --use_real_img."""
    return bool(opt.isTrain or getattr(opt, "use_real_img", False))


def check_dataset(opt: argparse.Namespace, phase: str | None = None, progress: bool = True) -> ValidationReport:
    """Check every frame of every sequence of split ``phase`` (default --phase) of the --dataset_mode and return
    the report with ALL problems found (a missing folder or unpaired names: those alone, as no frame can be
    read). Raises nothing for bad data; the cache is updated only when no problem was found."""
    start = time.perf_counter()
    opt = phase_options(opt, phase)
    report = ValidationReport(opt.phase)
    report.problems = folder_problems(opt.dataroot, opt.phase)
    if report.problems:
        report.seconds = time.perf_counter() - start
        return report
    try:
        mode = build_mode(opt, needs_real_frames(opt))
    except DataError as error:
        report.problems = [one_line(problem) for problem in problems_of(error)]
        report.seconds = time.perf_counter() - start
        return report
    cache = CheckCache(opt, mode)
    items = [(seq, frame) for seq, frames in enumerate(mode.sequences) for frame in range(len(frames))]
    with torch.random.fork_rng(devices=[]):  # modes that draw random numbers leave training's stream as it was
        results = run_checks(lambda item: check_one(mode, cache, *item), items,
                             max(1, int(getattr(opt, "nThreads", 1) or 1)), progress, opt.phase)
    report.sequences = len(mode.sequences)
    report.frames_cached = sum(r.cached for r in results)
    report.frames_checked = len(results) - report.frames_cached
    report.problems = frame_problems(mode, items, results)
    if not report.problems:
        cache.save(results)
    report.seconds = time.perf_counter() - start
    return report


def folder_problems(dataroot: str, phase: str) -> list[str]:
    """What is wrong with the dataset as a whole, before any frame is read: a video_to_dataset.py run that has not
    finished (its complete files would read as a smaller dataset), or sequence folders without frames (pairing
    would call them missing, or skip a split's only sequence without a word)."""
    unfinished = unfinished_problem(dataroot)
    if unfinished:
        return [unfinished]
    return [f"{folder} holds no files: a sequence folder without frames; remove it or put its frames back"
            for folder in empty_sequence_folders(dataroot, phase)]


def empty_sequence_folders(dataroot: str, phase: str) -> list[str]:
    """Folders without any file or sub-folder under ``<dataroot>/<phase>_*``: sequences whose frames are gone."""
    empty = []
    if not os.path.isdir(dataroot):
        return empty
    for split in sorted(os.listdir(dataroot)):
        top = os.path.join(dataroot, split)
        if not split.startswith(f"{phase}_") or not os.path.isdir(top):
            continue
        walked = sorted(os.walk(top))
        if not any(files for _, _, files in walked):
            continue  # nothing in the whole split folder: the dataset mode says "no images found" there
        empty += [root for root, dirs, files in walked if root != top and not dirs and not files]
    return empty


def validate_dataset(opt: argparse.Namespace, phase: str | None = None, progress: bool = True) -> ValidationReport:
    """Check every frame of every sequence (see `check_dataset`) and return the report; raises `DataError` (a
    `DataProblems`, whose ``problems`` lists them all) with ONE line naming the first bad file and its fix,
    plus how many other problems were found. Call it before training writes anything."""
    report = check_dataset(opt, phase, progress)
    if report.problems:
        raise DataProblems(report.problems)
    return report
