"""Test-time flags: the reference's TestOptions.

The reference's test.py overwrote nThreads=1, batchSize=1, serial_batches=True, no_flip=True and
dataset_mode 'temporal' -> 'test' after parsing; here those are simply the test-time defaults, so the parsed
namespace equals the reference's. The test dataset keeps no state, so --nThreads > 1 works.
"""
from __future__ import annotations

import argparse
import math

from .base_options import NO_OP, BaseOptions, OptionsError, int_or_inf


class TestOptions(BaseOptions):
    is_train = False
    __test__ = False  # not a pytest class

    def description(self) -> str:
        return "Run a trained vid2vid model on test sequences (flags as in NVIDIA's vid2vid test.py)."

    def initialize(self, parser: argparse.ArgumentParser) -> None:
        super().initialize(parser)
        add = parser.add_argument
        add("--ntest", type=int_or_inf, default=math.inf, help=NO_OP + "number of test examples")
        add("--results_dir", type=str, default="./results/", help="results are saved here")
        add("--aspect_ratio", type=float, default=1.0, help="aspect ratio of result images")
        add("--phase", type=str, default="test", help="data split: reads <dataroot>/<phase>_A etc.")
        add("--which_epoch", type=str, default="latest", help="which checkpoint to load: latest or an epoch")
        add("--how_many", type=int, default=300, help="how many frames to generate in total")
        add("--use_real_img", action="store_true",
            help="use the real frames (<phase>_B) as the first n_frames_G-1 frames of each sequence")
        add("--start_frame", type=int, default=0, help="frame index to start inference at")
        parser.set_defaults(nThreads=1, serial_batches=True, no_flip=True, dataset_mode="test")

    def validate(self, opt: argparse.Namespace) -> None:
        super().validate(opt)
        if opt.batchSize != 1:
            raise OptionsError(f"--batchSize {opt.batchSize}: test.py generates one frame at a time; use 1")
        if opt.how_many < 1:
            raise OptionsError(f"--how_many must be >= 1, got {opt.how_many}")
        if opt.start_frame < 0:
            raise OptionsError(f"--start_frame must be >= 0, got {opt.start_frame}")
        if opt.aspect_ratio <= 0:
            raise OptionsError(f"--aspect_ratio must be > 0, got {opt.aspect_ratio}")
