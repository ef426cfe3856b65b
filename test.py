"""Run a trained vid2vid model on test sequences: python test.py --name NAME [reference flags].

Results go where NVIDIA's test.py puts them, with the same names and encodings:
``<results_dir>/<name>/<phase>_<which_epoch>/<sequence>/fake_B_<frame>.jpg`` and ``real_A_<frame>.png``
(colourised label map; ``.jpg`` holding the input image when --label_nc 0). New on top: ``index.html`` showing
every frame and one H.264 mp4 per sequence (input | output) in ``videos/``.

A run writes into a temporary folder that replaces the results folder only when every frame is done, so a
failed run (bad checkpoint, bad label map, Ctrl-C) leaves no partial results behind.
"""
from __future__ import annotations

import errno
import os
import sys
import time
from argparse import Namespace
from collections.abc import Iterable, Sequence

import util.interrupt_hook  # noqa: F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split
import torch
from tqdm import tqdm

from data import DataError, create_dataset
from models.checkpoint import CheckpointError
from models.inference import extra_scales_notice, generate, load_face_features, load_test_model
from options import OptionsError, TestOptions
from options.saved_run import as_arguments, with_saved_run_flags
from util.allocator import keep_freed_memory
from util.cli import exit_on_interrupt
from util.device import select_device
from util.result_writer import ResultWriter

INTERRUPTED = "the partial results were removed (earlier results of this run stay as they were)"


class ResultsFolderError(RuntimeError):
    """The results folder cannot be made; the message names it, --results_dir and the fix."""


def run(opt: Namespace, model: torch.nn.Module, samples: Iterable[dict], n_frames: int,
        device: torch.device, face_features: dict | None = None) -> tuple[str, int, float]:
    """Generate and save every frame of ``samples`` (``face_features``: the face single-frame G's feature
    bank, see `load_face_features`); returns (results folder, frames, seconds)."""
    try:
        writer = ResultWriter(opt)
    except OSError as error:  # (a FileNotFoundError too: a --results_dir under /proc, or below a file)
        raise ResultsFolderError(write_error(error, opt)) from None
    start = time.perf_counter()
    count = 0
    try:
        frames = generate(model, samples, device, face_features, getattr(opt, "reanchor_every", 0))
        for frame in tqdm(frames, total=n_frames, unit="frame", dynamic_ncols=True):
            writer.add(frame)
            count += 1
        seconds = time.perf_counter() - start
        return writer.finish(), count, seconds
    except BaseException:
        writer.abort()
        raise


def one_line(error: BaseException) -> str:
    """The message of ``error`` on one line (a DataLoader worker wraps it in a traceback: keep the last line)."""
    text = str(error).strip()
    if "Traceback" in text:
        last = text.splitlines()[-1]
        text = last.split(": ", 1)[1] if ": " in last else last
    return " ".join(text.split())


def write_error(error: OSError, opt: Namespace) -> str:
    """One line for a failed write of the results (a read-only or full --results_dir): the path and the fix."""
    where = error.filename or opt.results_dir
    if error.errno == errno.ENOSPC:
        return f"no space left on the device of {where}; free some space or choose another --results_dir"
    return f"cannot write {where} ({error.strerror or error}); make it writable or choose another --results_dir"


def main(argv: Sequence[str] | None = None) -> int:
    options = TestOptions()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        argv, saved_run = with_saved_run_flags(options, argv)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        opt = options.parse(argv, save=False)
    except OptionsError as error:  # a value the run's opt.json gave: name the file, not only the flag
        if saved_run.source_of(str(error)) is None:
            options.parser.error(str(error))
        print(f"error: {saved_run.source_of(str(error))}", file=sys.stderr)
        return 1
    if saved_run.filled:
        typed = [arg for k, v in saved_run.filled.items() for arg in as_arguments(options.parser, k, v)]
        print(f"architecture flags from {saved_run.path}: {' '.join(typed)}")
    try:
        device = select_device(opt)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        dataset = create_dataset(opt)
        model = load_test_model(opt, device)
        face_features = load_face_features(opt, model)
        notice = extra_scales_notice(opt)
        if notice:
            print(notice)
        n_frames = min(len(dataset), opt.how_many)  # --how_many counts generated frames over all sequences
        subset = torch.utils.data.Subset(dataset, range(n_frames))
        samples = torch.utils.data.DataLoader(subset, batch_size=None, shuffle=False, num_workers=opt.nThreads)
        print(f"generating {n_frames} of {len(dataset)} frames from {opt.dataroot} ({opt.phase}) on {device}")
        results, count, seconds = run(opt, model, samples, n_frames, device, face_features)
    except CheckpointError as error:
        # a flag typed on the command line that differs from the run's saved one is the likely cause: name it
        print(f"error: {saved_run.contradiction() or one_line(error)}", file=sys.stderr)
        return 1
    except (DataError, FileNotFoundError, ValueError, NotImplementedError, ResultsFolderError) as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 1
    except OSError as error:  # the partial results were removed (ResultWriter.abort)
        print(f"error: {write_error(error, opt)}", file=sys.stderr)
        return 1
    print(f"{count} frames in {seconds:.1f} s ({count / max(seconds, 1e-9):.2f} frames/s); results in {results} "
          f"(open {os.path.join(results, 'index.html')})")
    return 0


if __name__ == "__main__":
    keep_freed_memory()  # large activations are freed and reallocated every frame (see util/allocator.py)
    sys.exit(exit_on_interrupt(main, "test.py", INTERRUPTED))
