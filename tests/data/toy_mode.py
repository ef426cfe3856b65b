"""A toy dataset mode written from data/modes/template.py as a newcomer would: one file, registered by name.

``<dataroot>/<phase>_img/<seq>/*.png`` RGB frames; the input is the frame's grayscale thresholded at
``--toy_threshold`` (1 channel). Importing this module registers ``--dataset_mode toy``.
"""

from __future__ import annotations

import argparse

from data.modes import register_mode
from data.modes.template import TemplateMode
from util.flag_marks import run_flag


@register_mode("toy")
class ToyMode(TemplateMode):
    @staticmethod
    def modify_commandline_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
        run_flag(parser.add_argument("--toy_threshold", type=float, default=0.4, help="gray level of the sketch"))
        parser.set_defaults(label_nc=0, input_nc=1)
        return parser

    @property
    def threshold(self) -> float:
        return self.opt.toy_threshold
