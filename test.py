"""Run a trained vid2vid model on test sequences: python test.py --name NAME [reference flags]."""
from __future__ import annotations

import sys

from data import DataError, create_dataset
from options import TestOptions
from util.device import select_device


def main() -> int:
    opt = TestOptions().parse_cli(save=False)
    device = select_device(opt)
    try:
        dataset = create_dataset(opt)
    except (DataError, NotImplementedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"dataset: {len(dataset)} frames in {opt.dataroot} ({opt.phase}); device: {device}")
    print("error: inference is not implemented yet (tracked by the 'Inference' issue); "
          "options and data were validated", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
