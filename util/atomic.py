"""Crash-safe file writes: write to a temporary name in the same folder, then rename onto the final path, so a
reader (or a crash) never sees a half-written file."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Call ``write(temporary_path)`` then rename the result onto ``path``.

    The temporary name keeps ``path``'s extension (image writers pick the format from it) and is removed if
    ``write`` fails.
    """
    path = Path(path)
    temporary = path.with_name(f".partial-{os.getpid()}-{path.name}")
    try:
        write(str(temporary))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomically(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_atomically(path, lambda temporary: Path(temporary).write_text(text, encoding="utf-8"))
