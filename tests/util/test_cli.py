"""util/cli.py: a script's ending on Ctrl-C is one line on stderr and exit code 130, never a traceback."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from util.cli import INTERRUPTED, exit_on_interrupt, interrupted_line

REPO = Path(__file__).resolve().parents[2]


def test_the_exit_code_of_main_passes_through(capsys: pytest.CaptureFixture) -> None:
    assert exit_on_interrupt(lambda: 0, "tool") == 0
    assert exit_on_interrupt(lambda: 3, "tool") == 3
    assert capsys.readouterr().err == ""


def test_ctrl_c_is_one_line_and_130(capsys: pytest.CaptureFixture) -> None:
    def main() -> int:
        raise KeyboardInterrupt

    assert exit_on_interrupt(main, "tool", "the frames written so far are complete") == INTERRUPTED == 130
    assert capsys.readouterr().err == "tool: interrupted (Ctrl-C); the frames written so far are complete\n"
    assert interrupted_line("tool") == "tool: interrupted (Ctrl-C); nothing was left half-written"


def test_other_errors_are_not_swallowed() -> None:
    def main() -> int:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        exit_on_interrupt(main, "tool")


def test_a_second_ctrl_c_while_the_line_is_printed_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    class Interrupted:
        def write(self, text: str) -> int:
            raise KeyboardInterrupt

        def flush(self) -> None:
            raise KeyboardInterrupt

    def main() -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(sys, "stderr", Interrupted())
    assert exit_on_interrupt(main, "tool") == INTERRUPTED


def test_a_real_sigint_ends_a_process_with_130_and_one_line(tmp_path: Path) -> None:
    script = tmp_path / "tool.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal, sys, time
        sys.path.insert(0, {str(REPO)!r})
        from util.cli import exit_on_interrupt

        def main():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(10)
            return 0

        sys.exit(exit_on_interrupt(main, "tool", "nothing was written"))
        """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 130
    assert done.stderr == "tool: interrupted (Ctrl-C); nothing was written\n"


ENTRY_POINTS = ["train.py", "test.py", *(str(p.relative_to(REPO)) for p in sorted(REPO.glob("scripts/**/*.py"))
                                         if "__main__" in p.read_text(encoding="utf-8"))]
HEAVY_IMPORT = re.compile(r"^(import (numpy|torch|cv2|requests|imageio)|from (PIL|tqdm|torch|numpy|data|models|"
                          r"options|scripts|util)\b)", re.MULTILINE)


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_every_entry_point_installs_the_interrupt_hook_before_heavy_imports(entry_point: str) -> None:
    text = (REPO / entry_point).read_text(encoding="utf-8")
    hook = text.find("import util.interrupt_hook")
    first_heavy = HEAVY_IMPORT.search(text)
    assert hook >= 0 and first_heavy is not None and hook < first_heavy.start(), entry_point


def test_a_ctrl_c_while_starting_is_one_line(tmp_path: Path) -> None:
    """A SIGINT before main runs (torch still loading): the hook's line, no traceback, ended by SIGINT (130)."""
    tool = tmp_path / "tool.py"
    tool.write_text(f"import sys\nsys.path.insert(0, {str(REPO)!r})\nimport util.interrupt_hook  # noqa\n"
                    "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(30)\n")
    result = subprocess.run([sys.executable, str(tool)], capture_output=True, text=True, timeout=60)
    assert result.returncode in (-signal.SIGINT, 128 + signal.SIGINT), result
    assert result.stderr.strip() == "tool: interrupted (Ctrl-C); stopped while starting, nothing was written"
