"""Write the embedded synthetic street-video dataset (Cityscapes layout, exact optical flow).

    python scripts/make_sample_dataset.py [--dataroot datasets/Cityscapes/] [--seed 0] [--width 256]
        [--height 128] [--n_train_seqs 3] [--n_test_seqs 2] [--n_frames 24] [--overwrite]

Same seed and settings -> byte-identical files. See data/sample_video.py for the scene and conventions.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split

from data.sample_video import DEFAULTS, SampleDatasetError, make_sample_dataset, summary_line  # noqa: E402
from util.cli import exit_on_interrupt  # noqa: E402

INTERRUPTED = "nothing of the dataset was left in --dataroot (it is written in full or not at all)"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataroot", default="datasets/Cityscapes/", help="output folder (default %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="random seed (default %(default)s)")
    p.add_argument("--width", type=int, default=DEFAULTS["width"], help="frame width, multiple of 4")
    p.add_argument("--height", type=int, default=DEFAULTS["height"], help="frame height, multiple of 4")
    p.add_argument("--n_train_seqs", type=int, default=DEFAULTS["n_train_seqs"], help="training sequences")
    p.add_argument("--n_test_seqs", type=int, default=DEFAULTS["n_test_seqs"], help="test sequences")
    p.add_argument("--n_frames", type=int, default=DEFAULTS["n_frames"], help="frames per sequence (>= 8)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset in --dataroot")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not str(args.dataroot).strip():  # "" would write the dataset's folders straight into the working folder
        print("make_sample_dataset: error: --dataroot is empty: give a folder (leave the flag out for "
              f"{build_parser().get_default('dataroot')})", file=sys.stderr)
        return 2
    try:
        summary = make_sample_dataset(args.dataroot, seed=args.seed, width=args.width, height=args.height,
                                      n_train_seqs=args.n_train_seqs, n_test_seqs=args.n_test_seqs,
                                      n_frames=args.n_frames, overwrite=args.overwrite)
    except SampleDatasetError as e:
        print(f"make_sample_dataset: error: {e}", file=sys.stderr)
        return 2
    except OSError as error:  # (nothing of the dataset was left: it is built beside --dataroot, then renamed)
        print(f"make_sample_dataset: error: cannot write --dataroot {args.dataroot} ({error.strerror or error}: "
              f"{error.filename}); choose a folder you can write", file=sys.stderr)
        return 1
    print(summary_line(summary))
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_interrupt(main, "make_sample_dataset", INTERRUPTED))
