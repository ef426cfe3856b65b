"""Test-time flags: the reference's TestOptions.

The reference's test.py overwrote nThreads=1, batchSize=1, serial_batches=True, no_flip=True and
dataset_mode 'temporal' -> 'test' after parsing; here those are simply the test-time defaults, so the parsed
namespace equals the reference's. The test dataset keeps no state, so --nThreads > 1 works.
"""
from __future__ import annotations

import argparse
import math

from .base_options import NO_OP, BaseOptions, OptionsError
from .shared_flags import add_checkpoint_selection, int_or_inf


class TestOptions(BaseOptions):
    is_train = False
    __test__ = False  # not a pytest class

    def description(self) -> str:
        return "Run a trained vid2vid model on test sequences (accepts the flags of NVIDIA's vid2vid test.py)."

    def initialize(self, parser: argparse.ArgumentParser) -> None:
        """The shared flags, then one group for inference; the reference's post-parse overrides become defaults."""
        super().initialize(parser)
        group = parser.add_argument_group("inference")
        add = group.add_argument
        add_checkpoint_selection(group, phase="test")
        add("--results_dir", type=str, default="./results/",
            help="parent folder of the outputs: frames, videos and index.html go to <results_dir>/<name>/"
                 "<phase>_<which_epoch>/")
        add("--how_many", type=int, default=300, help="stop after generating this many frames over all sequences")
        add("--start_frame", type=int, default=0,
            help="index of the first frame read from every sequence; earlier frames are ignored")
        add("--use_real_img", action="store_true",
            help="seed each sequence with its real frames (<phase>_B) as the first n_frames_G-1 outputs")
        add("--reanchor_every", type=int, default=0,
            help="(not in the reference) every N generated frames of a sequence, make the history afresh from the "
                 "first-frame source (--use_single_G or --use_real_img) instead of the model's own outputs: "
                 "stops drift on long sequences at the cost of a jump every N frames; 0: never")
        add("--ntest", type=int_or_inf, default=math.inf, help=NO_OP + "a test-item limit the reference never applied")
        add("--aspect_ratio", type=float, default=1.0,
            help=NO_OP + "width/height stretch of saved results; frames are saved at the generated size")
        parser.set_defaults(nThreads=1, serial_batches=True, no_flip=True, dataset_mode="test")

    def validate(self, opt: argparse.Namespace) -> None:
        super().validate(opt)
        if opt.batchSize != 1:
            raise OptionsError(f"--batchSize {opt.batchSize}: test.py generates one frame at a time; use 1")
        if opt.how_many < 1:
            raise OptionsError(f"--how_many must be >= 1, got {opt.how_many}")
        if opt.reanchor_every < 0:
            raise OptionsError(f"--reanchor_every must be >= 0 (0: never), got {opt.reanchor_every}")
        if opt.reanchor_every and (opt.no_first_img or not (opt.use_single_G or opt.use_real_img)):
            raise OptionsError("--reanchor_every makes the history afresh from the first-frame source: pass "
                               "--use_single_G or --use_real_img (not --no_first_img)")
        if opt.start_frame < 0:
            raise OptionsError(f"--start_frame must be >= 0, got {opt.start_frame}")
        if opt.aspect_ratio <= 0:
            raise OptionsError(f"--aspect_ratio must be > 0, got {opt.aspect_ratio}")
