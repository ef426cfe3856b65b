"""Runs describe themselves: ``test.py --name X`` takes X's architecture flags from ``checkpoints/X/opt.json``.

``train.py`` writes ``opt.json`` beside the checkpoints. Before test.py parses its command line, the flags of
`RUN_FLAGS` that the command line does not give are filled in from that file; flags typed on the command line
win. NVIDIA's published folders have no such file: ``scripts/download_models.py`` writes one for each
published model with the flags of the reference's test script for it (`PUBLISHED_RUN_FLAGS`).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

OPTIONS_FILE = "opt.json"
# The flags that shape the networks or the meaning of their inputs (a test must use the values of training:
# the dataset mode and what it draws), and how the first frames are made (use_single_G: only the published
# models' files say so).
RUN_FLAGS = (
    "label_nc", "input_nc", "output_nc", "use_instance", "ngf", "n_downsample_G", "n_blocks", "n_blocks_local",
    "n_scales_spatial", "n_frames_G", "fg", "fg_labels", "no_flow", "netG", "norm", "no_first_img", "loadSize",
    "use_single_G", "dataset_mode", "no_dist_map", "no_canny_edge", "densepose_only", "openpose_only",
    "basic_point_only", "remove_face_labels", "model",
)  # fmt: skip
# The test scripts of the reference for the models it published (as NVIDIA's scripts/street|face/test_*.sh).
PUBLISHED_RUN_FLAGS = {
    "label2city_2048": ["--label_nc", "35", "--loadSize", "2048", "--n_scales_spatial", "3", "--use_instance",
                        "--fg", "--use_single_G"],
    "label2city_1024_g1": ["--label_nc", "35", "--loadSize", "1024", "--n_scales_spatial", "3", "--use_instance",
                           "--fg", "--n_downsample_G", "2", "--use_single_G"],
    "edge2face_512": ["--dataroot", "datasets/face/", "--dataset_mode", "face", "--input_nc", "15",
                      "--loadSize", "512", "--use_single_G"],
}  # fmt: skip


@dataclass
class SavedRun:
    """What the saved options of a run contributed to a command line."""

    path: str | None = None  # the opt.json read, None when the run has none
    filled: dict[str, object] = field(default_factory=dict)  # flag -> saved value, taken from the file
    overridden: dict[str, tuple[object, object]] = field(default_factory=dict)  # flag -> (given, saved)

    def contradiction(self) -> str | None:
        """One line naming the command-line flags that differ from the run's saved ones, if any."""
        if not self.overridden:
            return None
        flags = ", ".join(f"--{name} {shown(given)} (trained with {shown(saved)})"
                          for name, (given, saved) in self.overridden.items())  # fmt: skip
        return f"{flags} given on the command line contradicts {self.path}; drop the flag to use the run's value"


def shown(value: object) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def explicit_flags(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """Only the flags ``argv`` gives (every default suppressed)."""
    bare = copy.deepcopy(parser)
    bare._defaults.clear()  # parser-level defaults (test.py's set_defaults) are not "given" either
    for action in bare._actions:
        action.default = argparse.SUPPRESS
        action.required = False
    given, _ = bare.parse_known_args(list(argv))
    return given


def as_arguments(parser: argparse.ArgumentParser, dest: str, value: object) -> list[str]:
    """``--flag value`` (or ``--flag`` for a switch that is on) for an option value; [] for a switch that is off."""
    action = next(a for a in parser._actions if a.dest == dest)
    flag = action.option_strings[0]
    if isinstance(action, argparse._StoreTrueAction):
        return [flag] if value else []
    return [flag, shown(value)]


def read_saved_options(checkpoints_dir: str, name: str) -> tuple[str, dict] | None:
    path = os.path.join(checkpoints_dir, name, OPTIONS_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            saved = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read {path} ({error}); fix or delete it and give the architecture flags") from None
    if not isinstance(saved, dict):
        raise ValueError(f"{path} is not an options file (expected a JSON object); delete it or re-train")
    return path, saved


def with_saved_run_flags(parser: argparse.ArgumentParser, argv: Sequence[str]) -> tuple[list[str], SavedRun]:
    """``argv`` completed with the run's saved `RUN_FLAGS` that it does not give itself.

    Returns the new argument list (saved flags first, so the command line still wins) and what was taken.
    """
    given = explicit_flags(parser, argv)
    checkpoints_dir = getattr(given, "checkpoints_dir", parser.get_default("checkpoints_dir"))
    name = getattr(given, "name", parser.get_default("name"))
    found = read_saved_options(checkpoints_dir, name)
    if found is None:
        return list(argv), SavedRun()
    path, saved = found
    run = SavedRun(path=path)
    prefix: list[str] = []
    for dest in RUN_FLAGS:
        if dest not in saved:
            continue
        if hasattr(given, dest):
            if shown(getattr(given, dest)) != shown(saved[dest]):
                run.overridden[dest] = (getattr(given, dest), saved[dest])
            continue
        run.filled[dest] = saved[dest]
        prefix += as_arguments(parser, dest, saved[dest])
    return prefix + list(argv), run


def published_run_options(parser: argparse.ArgumentParser, name: str) -> dict[str, object]:
    """The `RUN_FLAGS` values of a published model, parsed from its reference test script's flags."""
    opt = parser.parse_args(["--name", name, *PUBLISHED_RUN_FLAGS[name]])
    return {dest: getattr(opt, dest) for dest in RUN_FLAGS} | {"name": name, "source": "reference test script"}
