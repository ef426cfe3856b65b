"""How an entry-point script ends when the user presses Ctrl-C: one line on stderr and exit code 130 (128 +
SIGINT, what a shell reports for a process a Ctrl-C stopped), never a ``KeyboardInterrupt`` traceback.

Only the ending is shared here. Leaving nothing half-written is each script's own job, done where it writes:
files go to a temporary name and are renamed into place (util/atomic.py), and a script that builds a folder
removes or keeps what it wrote so that a rerun of the same command is right either way. The line says which:
``interrupted`` is what the script wants the user to know (``"rerun the same command to resume"``).

    if __name__ == "__main__":
        sys.exit(exit_on_interrupt(main, "video_to_dataset", "the frames written so far are complete; rerun the "
                                   "same command to resume"))
"""
from __future__ import annotations

import sys
from collections.abc import Callable

INTERRUPTED = 130  # 128 + SIGINT


def interrupted_line(prog: str, outcome: str = "nothing was left half-written") -> str:
    """The line a script prints when Ctrl-C stopped it."""
    return f"{prog}: interrupted (Ctrl-C); {outcome}"


def exit_on_interrupt(main: Callable[[], int], prog: str, outcome: str = "nothing was left half-written") -> int:
    """``main()``'s exit code, or `INTERRUPTED` after printing `interrupted_line` when Ctrl-C stopped it.

    A second Ctrl-C while the line is printed is ignored (the script is ending anyway)."""
    try:
        return main()
    except KeyboardInterrupt:
        try:
            print(interrupted_line(prog, outcome), file=sys.stderr, flush=True)
        except KeyboardInterrupt:
            pass
        return INTERRUPTED


def one_line(error: BaseException | str) -> str:
    """An error's message on one line (whitespace, newlines included, folded to single spaces)."""
    return " ".join(str(error).split())
