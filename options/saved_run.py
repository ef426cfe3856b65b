"""Runs describe themselves: ``test.py --name X`` takes X's run flags from ``checkpoints/X/opt.json``.

``train.py`` writes ``opt.json`` beside the checkpoints. Before test.py parses its command line, the run flags
(every flag declared with `util.flag_marks.run_flag`: those that shape the networks or the meaning of their
inputs, including the flags the run's dataset mode adds) that the command line does not give are filled in
from that file; flags typed on the command line win. The dataset mode is settled first, so that its hook has
added its own flags before they are filled. NVIDIA's published folders have no such file:
``scripts/download_models.py`` writes one for each published model with the flags of the reference's test
script for it (`PUBLISHED_RUN_FLAGS`).
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from util.flag_marks import run_flag_dests

from .run_folder import RunFolder, path_flag_problem

if TYPE_CHECKING:
    from .base_options import BaseOptions

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

    def source_of(self, problem: str) -> str | None:
        """``problem`` (an option check's line, starting with the flag) extended with the saved value it is about
        when that value came from this run's file, else None."""
        for dest, value in self.filled.items():
            if problem.startswith(f"--{dest} "):
                return (f"{problem}: the value comes from {self.path} (\"{dest}\": {json.dumps(value)}); correct it "
                        f"there, or give --{dest} on the command line")
        return None


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
    action = next((a for a in parser._actions if a.dest == dest), None)
    if action is None:
        raise ValueError(f"the saved option {dest!r} is not a flag of this program (was the run made by another "
                         "version, or with a dataset mode that is not installed?); remove it from opt.json")
    flag = action.option_strings[0]
    if isinstance(action, argparse._StoreTrueAction):
        return [flag] if value else []
    return [flag, shown(value)]


TYPE_NAMES = {int: "an integer", float: "a number", str: "a string"}


def check_saved_value(parser: argparse.ArgumentParser, dest: str, value: object, path: str) -> None:
    """ValueError naming ``path``, the key and the value when the saved ``value`` of flag ``dest`` is not one the
    flag accepts (a hand-edited or damaged opt.json): argparse would reject it with its usage text instead, which
    names neither the file nor the key."""
    action = next((a for a in parser._actions if a.dest == dest), None)
    if action is None:
        return  # (as_arguments names an unknown key)
    flag = action.option_strings[0]
    takes = TYPE_NAMES.get(action.type, f"a value like {shown(action.default)}")
    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
        wrong = None if isinstance(value, bool) else "is a switch: true or false"
    elif isinstance(value, bool | dict):
        wrong = f"takes {takes}"
    else:
        wrong = None
        try:
            converted = action.type(shown(value)) if action.type is not None else shown(value)
        except (ValueError, TypeError, argparse.ArgumentTypeError):
            wrong = f"takes {takes}"
        else:
            if action.choices is not None and converted not in action.choices:
                wrong = f"takes one of {', '.join(map(str, action.choices))}"
    if wrong:
        raise ValueError(f"{path} holds \"{dest}\": {json.dumps(value)}, which {flag} cannot take ({flag} {wrong}); "
                         f"correct it there (as the run was trained), or give {flag} on the command line")


def run_flags(parser: argparse.ArgumentParser) -> list[str]:
    """The run flags of ``parser`` (the shared ones and those its dataset mode added), by destination."""
    return run_flag_dests(parser)


def parser_for(opt: argparse.Namespace) -> argparse.ArgumentParser:
    """The options parser of a parsed run: the shared flags and those of its ``--dataset_mode``."""
    from .base_options import BaseOptions

    options = BaseOptions()
    options.add_dataset_mode_flags(["--dataset_mode", opt.dataset_mode])
    return options.parser


def run_flags_for(opt: argparse.Namespace) -> list[str]:
    """The run flags of a parsed run: the shared ones and those of its ``--dataset_mode``."""
    return run_flags(parser_for(opt))


def differing_run_flags(opt: argparse.Namespace, saved: dict, path: str = "opt.json") -> list[str]:
    """``--flag value (the run has saved)`` for each run flag of ``opt`` whose value differs from ``saved`` (read
    from ``path``); ValueError naming the file and the key when a saved value is not one the flag accepts."""
    parser = parser_for(opt)
    keys = [key for key in run_flags(parser) if key in saved]
    for key in keys:
        check_saved_value(parser, key, saved[key], path)
    return [f"--{key} {shown(getattr(opt, key))} (the run has {shown(saved[key])})" for key in keys
            if shown(getattr(opt, key, None)) != shown(saved[key])]


def with_saved_run_flags(options: BaseOptions, argv: Sequence[str]) -> tuple[list[str], SavedRun]:
    """``argv`` completed with the run's saved run flags that it does not give itself.

    The dataset mode comes first (the command line's, else the saved one) and its hook adds its flags to
    ``options.parser``; then every run flag of the parser is filled or compared. Returns the new argument list
    (saved flags first, so the command line still wins) and what was taken.
    """
    parser = options.parser
    given = explicit_flags(parser, argv)
    name = getattr(given, "name", parser.get_default("name"))
    if path_flag_problem(argparse.Namespace(name=name)):  # the option check says why, before a read outside
        return list(argv), SavedRun()
    run_folder = RunFolder(getattr(given, "checkpoints_dir", parser.get_default("checkpoints_dir")), name)
    found = run_folder.read_options()
    if found is None:
        return list(argv), SavedRun()
    path, saved = found
    mode = getattr(given, "dataset_mode", saved.get("dataset_mode", parser.get_default("dataset_mode")))
    try:
        options.add_dataset_mode_flags(["--dataset_mode", str(mode)])
    except ValueError as error:  # a mode the saved run names that this installation does not have
        raise ValueError(f"{error} (the dataset mode of {path}; pass --dataset_mode to use another)") from None
    given = explicit_flags(parser, argv)  # now with the mode's own flags
    run = SavedRun(path=path)
    prefix: list[str] = []
    for dest in run_flags(parser):
        if dest not in saved:
            continue
        if hasattr(given, dest):
            if shown(getattr(given, dest)) != shown(saved[dest]):
                run.overridden[dest] = (getattr(given, dest), saved[dest])
            continue
        check_saved_value(parser, dest, saved[dest], path)
        run.filled[dest] = saved[dest]
        prefix += as_arguments(parser, dest, saved[dest])
    return prefix + list(argv), run


def published_run_options(options: BaseOptions, name: str) -> dict[str, object]:
    """The run-flag values of a published model, parsed from its reference test script's flags."""
    argv = ["--name", name, *PUBLISHED_RUN_FLAGS[name]]
    options.add_dataset_mode_flags(argv)
    opt = options.parser.parse_args(argv)
    return {dest: getattr(opt, dest) for dest in run_flags(options.parser)} | {"name": name,
                                                                               "source": "reference test script"}
