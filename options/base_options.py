"""Parsing, validation and saving of the options shared by train.py and test.py.

The flags themselves are added by ``shared_flags.py`` (one argparse group per concern) and the closed sets of
values some of them accept live in ``choices.py``; this module turns a command line into a checked namespace.
Every flag of NVIDIA's vid2vid keeps its name, type and default, so the reference's scripts run verbatim.
Flags the reference accepts but never uses stay accepted and say so in their help ("no-op"). New flags are
snake_case. Options are parsed once and never changed afterwards: values the reference derived by rewriting
the namespace (for example ``n_gpus_gen = -1`` meaning "all GPUs") are computed where they are needed.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence

from data.modes import MODES, mode_names  # the registry of dataset modes lives with the datasets
from data.transforms import round_to_multiple

from .choices import CROP_KEYWORDS, SCALE_KEYWORDS
from .run_folder import RunFolder, path_flag_problem
from .shared_flags import NO_OP, add_shared_flags, int_list, int_or_inf

# Re-exported: scripts and the train/test options import these from here.
__all__ = ["CROP_KEYWORDS", "NO_OP", "SCALE_KEYWORDS", "BaseOptions", "OptionsError",
           "format_options", "int_list", "int_or_inf", "options_to_json", "save_options"]


class OptionsError(ValueError):
    """A flag value or flag combination that cannot work; the message names the flag and the fix."""


class BaseOptions:
    """Flags common to training and testing. Subclasses add their own in ``initialize``."""

    is_train: bool = True

    def __init__(self) -> None:
        self.parser = argparse.ArgumentParser(
            description=self.description(),
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        self.initialize(self.parser)
        self.modes_added: set[str] = set()

    def description(self) -> str:
        return "vid2vid options"

    def initialize(self, parser: argparse.ArgumentParser) -> None:
        """Add the flags; subclasses call this first and then add their own groups."""
        add_shared_flags(parser)

    # ------------------------------------------------------------------ parsing
    def parse(self, argv: Sequence[str] | None = None, save: bool = True, verbose: bool = True
              ) -> argparse.Namespace:
        """Parse ``argv`` (default: sys.argv[1:]), validate, print and (optionally) save the options.

        Raises:
            OptionsError: a value or combination that cannot work, naming the flag and the fix.
        """
        argv = list(sys.argv[1:] if argv is None else argv)
        self.add_dataset_mode_flags(argv)
        opt = self.parser.parse_args(argv)
        opt.isTrain = self.is_train
        self.validate(opt)
        if verbose:
            print(format_options(opt), end="")
        if save:
            save_options(opt)
        return opt

    def add_dataset_mode_flags(self, argv: list[str]) -> None:
        """Check --dataset_mode against the registered modes and let the chosen mode add its own flags and
        defaults (its ``modify_commandline_options`` hook), before the command line is parsed for real."""
        known, _ = self.parser.parse_known_args([a for a in argv if a not in ("-h", "--help")])
        name = known.dataset_mode
        if name not in mode_names():
            raise OptionsError(f"--dataset_mode {name!r} is not a dataset mode; choose from {', '.join(mode_names())}")
        if name in MODES and name not in self.modes_added:
            MODES[name].modify_commandline_options(self.parser, self.is_train)
            self.modes_added.add(name)

    def parse_cli(self, argv: Sequence[str] | None = None, save: bool = True) -> argparse.Namespace:
        """Parse ``argv`` (default sys.argv[1:]) for a script: a bad value ends the program with argparse's
        one-line error."""
        try:
            return self.parse(argv, save=save)
        except OptionsError as error:
            self.parser.error(str(error))

    def validate(self, opt: argparse.Namespace) -> None:
        """Reject impossible values at parse time instead of failing deep inside training."""
        problem = path_flag_problem(opt)  # a name that leads out of its folder, before anything is read there
        if problem:
            raise OptionsError(problem)
        for dest in ("dataroot", "checkpoints_dir", "results_dir"):  # "" would put files straight into the working
            if getattr(opt, dest, None) is not None and not str(getattr(opt, dest)).strip():  # folder, unasked
                default = self.parser.get_default(dest)
                raise OptionsError(f"--{dest} is empty: give a folder (leave the flag out for {default})")
        if opt.output_nc != 3:  # (the data reads real frames as RGB: another count fails deep in the generator)
            raise OptionsError(f"--output_nc {opt.output_nc}: the real frames are read as RGB (3 channels), so the "
                               "generator makes 3; leave the flag out")
        if os.path.isfile(opt.dataroot):  # (a missing one is the dataset mode's to explain)
            raise OptionsError(f"--dataroot {opt.dataroot} is a file, not a folder: give the dataset's folder, the one "
                               f"holding {opt.phase}_A, {opt.phase}_B, ... (docs/DATA.md)")
        for action in self.parser._actions:  # NaN or inf never helps: --lr inf trains NaN weights
            value = getattr(opt, action.dest, None)
            if action.type is float and isinstance(value, float) and not math.isfinite(value):
                raise OptionsError(f"{action.option_strings[0]} must be a finite number, got {value}")
        positive = ["batchSize", "loadSize", "fineSize", "output_nc", "ngf", "ndf", "n_frames_G",
                    "n_scales_spatial", "n_downsample_G", "n_local_enhancers"]
        non_negative = ["label_nc", "n_blocks", "n_blocks_local", "nThreads"]
        for name in positive:
            if getattr(opt, name) < 1:
                raise OptionsError(f"--{name} must be >= 1, got {getattr(opt, name)}")
        for name in non_negative:
            if getattr(opt, name) < 0:
                raise OptionsError(f"--{name} must be >= 0, got {getattr(opt, name)}")
        if opt.label_nc == 0 and opt.input_nc < 1:
            raise OptionsError(f"--input_nc must be >= 1 when --label_nc is 0, got {opt.input_nc}")
        if opt.label_nc > 256:
            raise OptionsError(f"--label_nc {opt.label_nc}: label maps are 8-bit PNGs, so at most 256 classes")
        if opt.n_frames_G < 2:
            raise OptionsError("--n_frames_G must be >= 2 (the generator needs at least one previous frame)")
        if opt.max_dataset_size < 1:
            raise OptionsError(f"--max_dataset_size must be >= 1 or inf, got {opt.max_dataset_size}")
        if opt.fg:
            if opt.label_nc == 0:
                raise OptionsError("--fg needs semantic labels: set --label_nc > 0 or drop --fg")
            bad = [label for label in opt.fg_labels if label >= opt.label_nc]
            if bad or not opt.fg_labels:
                raise OptionsError(f"--fg_labels {','.join(map(str, opt.fg_labels)) or '(empty)'}: every "
                                   f"foreground label must be in [0, --label_nc={opt.label_nc})")
        self._validate_resize_or_crop(opt)

    @staticmethod
    def _validate_resize_or_crop(opt: argparse.Namespace) -> None:
        mode = opt.resize_or_crop
        crops = any(keyword in mode for keyword in CROP_KEYWORDS)
        scales = any(keyword in mode for keyword in SCALE_KEYWORDS)
        if not (crops or scales or mode == "none"):
            raise OptionsError(
                f"--resize_or_crop {mode!r} names no known operation; use none, crop, scaledCrop or "
                "{resize,scaleWidth,scaleHeight,randomScaleWidth,randomScaleHeight}[_and_{crop,scaledCrop}]")
        if crops and scales and opt.fineSize > opt.loadSize:
            raise OptionsError(f"--fineSize {opt.fineSize} > --loadSize {opt.loadSize} with --resize_or_crop "
                               f"{mode}: the crop must fit in the scaled image; lower --fineSize or raise --loadSize")
        if "randomScale" in mode and opt.fineSize > opt.loadSize:
            raise OptionsError(f"--resize_or_crop {mode} draws a size between --fineSize and --loadSize; "
                               f"--fineSize {opt.fineSize} > --loadSize {opt.loadSize}")
        # The loader rounds the output size to a multiple of 32 (the reference's make_power_2); the
        # generator halves it n_downsample_G + n_scales_spatial - 1 times, so the rounded size must divide.
        factor = 2 ** (opt.n_downsample_G + opt.n_scales_spatial - 1)
        known = opt.fineSize if crops else (opt.loadSize if scales else None)
        if known is not None:
            rounded = round_to_multiple(known, 32)
            if rounded % factor != 0:
                flag = "--fineSize" if crops else "--loadSize"
                raise OptionsError(
                    f"{flag} {known} (loaded as {rounded}) is not divisible by 2^(n_downsample_G + "
                    f"n_scales_spatial - 1) = {factor}; use a multiple of {factor} or fewer scales/downsamplings")


def format_options(opt: argparse.Namespace) -> str:
    """The parsed values as text for the console and ``opt.txt``: one ``name: value`` line per option, sorted by
    name, between two comment lines. Only people read it (programs read ``opt.json``), so the layout is free."""
    values = sorted(vars(opt).items())
    script = "train.py" if getattr(opt, "isTrain", True) else "test.py"
    lines = [f"# {script} settings of run '{getattr(opt, 'name', '?')}' ({len(values)} values, sorted by name)"]
    lines += [f"{key}: {value}" for key, value in values]
    lines.append(f"# end of {script} settings")
    return "\n".join(lines) + "\n"


def options_to_json(opt: argparse.Namespace) -> dict:
    """JSON-safe dict of the options (inf becomes the string 'inf', as in the reference manifests)."""
    return {key: ("inf" if isinstance(value, float) and math.isinf(value) else value)
            for key, value in sorted(vars(opt).items())}


def save_options(opt: argparse.Namespace) -> str:
    """Write ``opt.txt`` (human) and ``opt.json`` (machine) into the run's folder; returns the folder."""
    run_folder = RunFolder.of(opt)
    run_folder.write_options(format_options(opt), options_to_json(opt))
    return run_folder.path
