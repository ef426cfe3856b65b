"""Check a dataset with the flags you will train with: python scripts/inspect_dataset.py [train.py flags].

Builds the training dataset and the test dataset (when <phase>_A of the test split exists) exactly as
train.py/test.py do, reads one clip, and prints sequence counts, tensor shapes and value ranges. Every data
error (missing folder, label out of range, size mismatch, short sequence, unreadable file) surfaces here.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from data import DataError, TestDataset, create_dataset  # noqa: E402
from options import TrainOptions  # noqa: E402


def describe(name: str, tensor) -> str:
    if tensor is None:
        return f"{name}: unused"
    return f"{name}: {tuple(tensor.shape)} {str(tensor.dtype).replace('torch.', '')} " \
           f"[{tensor.min().item():.3g}, {tensor.max().item():.3g}]"


def main() -> int:
    opt = TrainOptions().parse_cli(save=False)
    try:
        train = create_dataset(opt)
        clip = train[0]
        lengths = [len(frames) for frames in train.mode.sequences]
        print(f"train: {len(train)} sequences, {sum(lengths)} frames (shortest {min(lengths)}, longest {max(lengths)})")
        print("  one clip (T, C, H, W): " + "; ".join(describe(k, getattr(clip, k))
                                                     for k in ("label", "real", "instance")))
        if opt.label_nc:
            print(f"  label ids in the clip: {sorted(int(v) for v in clip.label.unique())}")
        test_mode = "test" if opt.dataset_mode == "temporal" else opt.dataset_mode
        # the test split as test.py reads it (a new namespace; the parsed one is left as it is)
        test_opt = argparse.Namespace(**{**vars(opt), "isTrain": False, "phase": "test", "dataset_mode": test_mode,
                                         "start_frame": 0,
                                         "use_real_img": os.path.isdir(os.path.join(opt.dataroot, "test_B"))})
        if os.path.isdir(os.path.join(opt.dataroot, "test_A")):
            test = TestDataset(test_opt)
            window = test[0]
            print(f"test: {len(test)} frames to generate in {len(test.mode.sequences)} sequences")
            print("  one window: " + "; ".join(describe(k, getattr(window, k)) for k in ("label", "real", "instance")))
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
