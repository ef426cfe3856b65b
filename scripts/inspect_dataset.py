"""Check a dataset with the flags you will train with: python scripts/inspect_dataset.py [train.py flags].

First checks EVERY frame of every sequence of the training split and (when test_A, or test_img, exists) the test split
(data/validate.py: readability, image modes, label range, sizes, lossy label formats, channels, name pairing)
and prints every problem found, one line each (at most MAX_LISTED, then a count); returns 1 if there is any.
Then builds both datasets exactly as train.py/test.py do, reads one clip, and prints sequence counts, tensor
shapes and value ranges. Frames found good are remembered in <dataroot>/.vid2vid_checked.json, so a rerun on an
unchanged dataset reads nothing again.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split

from data import DataError, TestDataset, ValidationReport, check_dataset, create_dataset  # noqa: E402
from options import TrainOptions  # noqa: E402
from util.cli import exit_on_interrupt  # noqa: E402

MAX_LISTED = 50


def describe(name: str, tensor) -> str:
    if tensor is None:
        return f"{name}: unused"
    return f"{name}: {tuple(tensor.shape)} {str(tensor.dtype).replace('torch.', '')} " \
           f"[{tensor.min().item():.3g}, {tensor.max().item():.3g}]"


def options_of_test_split(opt: argparse.Namespace) -> argparse.Namespace | None:
    """The test split as test.py reads it (a new namespace; the parsed one is left as it is), or None when the
    dataroot has none (no test_A, nor test_img for the face and pose modes)."""
    if not any(os.path.isdir(os.path.join(opt.dataroot, f"test_{kind}")) for kind in ("A", "img")):
        return None
    test_mode = "test" if opt.dataset_mode == "temporal" else opt.dataset_mode
    return argparse.Namespace(**{**vars(opt), "isTrain": False, "phase": "test", "dataset_mode": test_mode,
                                 "start_frame": 0,
                                 "use_real_img": os.path.isdir(os.path.join(opt.dataroot, "test_B"))})


def report_problems(reports: list[ValidationReport]) -> int:
    """Print every problem (at most MAX_LISTED lines, then a count) to stderr; the number of problems."""
    problems = [problem for report in reports for problem in report.problems]
    for problem in problems[:MAX_LISTED]:
        print(f"error: {problem}", file=sys.stderr)
    if len(problems) > MAX_LISTED:
        print(f"... and {len(problems) - MAX_LISTED} more problems", file=sys.stderr)
    if problems:
        where = ", ".join(f"{len(r.problems)} in {r.phase}" for r in reports if r.problems)
        print(f"{len(problems)} problem(s) found ({where})", file=sys.stderr)
    return len(problems)


def main() -> int:
    opt = TrainOptions().parse_cli(save=False)
    test_opt = options_of_test_split(opt)
    reports = [check_dataset(opt)] + ([check_dataset(test_opt)] if test_opt is not None else [])
    if report_problems(reports):
        return 1
    for report in reports:
        print(f"checked {report.summary()}")
    try:
        train = create_dataset(opt)
        clip = train[0]
        lengths = [len(frames) for frames in train.mode.sequences]
        print(f"train: {len(train)} sequences, {sum(lengths)} frames (shortest {min(lengths)}, longest {max(lengths)})")
        print("  one clip (T, C, H, W): " + "; ".join(describe(k, getattr(clip, k))
                                                     for k in ("label", "real", "instance")))
        if opt.label_nc:
            print(f"  label ids in the clip: {sorted(int(v) for v in clip.label.unique())}")
        if test_opt is not None:
            test = TestDataset(test_opt)
            window = test[0]
            print(f"test: {len(test)} frames to generate in {len(test.mode.sequences)} sequences")
            print("  one window: " + "; ".join(describe(k, getattr(window, k)) for k in ("label", "real", "instance")))
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_interrupt(main, "inspect_dataset", "nothing was written"))
