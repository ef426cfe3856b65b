"""Marks on argparse flags, set where a flag is declared and read from the parser afterwards.

One mark today: a *run flag* is a flag whose value something saved depends on (here: the networks' shapes or the
meaning of their inputs), so a program that reads the saved thing back must use the saved value. Declaring it
with the flag (``run_flag(group.add_argument(...))``) keeps one list, wherever flags are added — also by plug-ins
that add their own flags to a parser at run time.
"""

from __future__ import annotations

import argparse

RUN_FLAG_MARK = "defines_run"


def run_flag(action: argparse.Action) -> argparse.Action:
    """Mark the flag ``action`` (what ``add_argument`` returns) as a run flag; returns it."""
    setattr(action, RUN_FLAG_MARK, True)
    return action


def run_flag_dests(parser: argparse.ArgumentParser) -> list[str]:
    """The destinations of every run flag of ``parser``, in the order they were added."""
    return [action.dest for action in parser._actions if getattr(action, RUN_FLAG_MARK, False)]
