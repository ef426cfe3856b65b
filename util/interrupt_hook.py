"""Imported first by every entry point (``import util.interrupt_hook``): a Ctrl-C while the heavy libraries
load (torch takes seconds) ends with util/cli.py's one line instead of a ``KeyboardInterrupt`` traceback.

Only an interrupt nothing else caught reaches the hook, and each script's ``main`` catches its own
(`util.cli.exit_on_interrupt`), so what arrives here stopped the script while it was starting: nothing was
written. Python then ends the process by SIGINT, as it does for any unhandled Ctrl-C (a shell shows 130).
Stdlib only, so that importing it costs nothing.
"""
from __future__ import annotations

import os
import sys
from types import TracebackType

from util.cli import interrupted_line

_previous_hook = sys.excepthook


def _one_line_on_interrupt(kind: type[BaseException], value: BaseException, traceback: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        program = os.path.basename(sys.argv[0] or "python").removesuffix(".py")
        print(interrupted_line(program, "stopped while starting, nothing was written"), file=sys.stderr)
        return
    _previous_hook(kind, value, traceback)


sys.excepthook = _one_line_on_interrupt
