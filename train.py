"""Train vid2vid: python train.py --name NAME [reference flags]. See README.md."""
from __future__ import annotations

import sys

from data import DataError, create_dataset
from options import TrainOptions
from options.base_options import save_options
from util.device import select_device


def main() -> int:
    opt = TrainOptions().parse_cli(save=False)
    device = select_device(opt)
    try:
        dataset = create_dataset(opt)
    except (DataError, NotImplementedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    save_options(opt)  # only once the data is known to be good: a failed start leaves nothing behind
    print(f"dataset: {len(dataset)} sequences in {opt.dataroot} ({opt.phase}); device: {device}")
    print("error: the training loop is not implemented yet (tracked by the 'Training' issue); "
          "options and data were validated", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
