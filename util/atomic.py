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


class NewFolder:
    """``with NewFolder(path):`` makes ``path`` (and missing parents) and, if the block fails or is interrupted,
    removes again those of them that were made here and are still empty: a failed run leaves no empty folders."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        missing, folder = [], self.path.absolute()
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        self.made = missing  # deepest first

    def __enter__(self) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            return
        for folder in self.made:
            try:
                folder.rmdir()  # only when empty
            except OSError:
                break
