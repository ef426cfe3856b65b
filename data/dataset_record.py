"""What a dataset folder made by scripts/video_to_dataset.py remembers about how it was made.

``<dataroot>/video_to_dataset.json`` holds the settings that decide which file holds which frame (input, kind,
frame selection and size, sequence cuts, test split, extraction flags), the input's identity (its path and size
in bytes), whether the run finished, and what is on disk (frames, frame size, each sequence's source frames per
split). A rerun with the same settings resumes into the folder; other settings would splice frames of two cuts
into one sequence (or put test frames into training sequences), so they are refused unless ``--overwrite``
removes the old layout first. Nothing here knows about video decoding: the script passes the settings in.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from PIL import Image

from util.atomic import write_text_atomically

RECORD_FILE = "video_to_dataset.json"
FORMAT = 1
PHASES = ("train", "test")
OTHER_FILES = ("pose_stats.json",)
IMAGE_SUFFIXES = (".jpg", ".png")


class RecordError(RuntimeError):
    """The dataset folder was made another way; the message names the differences and the choices."""


def layout_folders(root: Path) -> list[Path]:
    """The split folders that exist in ``root``: ``train_B``, ``test_A``, ... and any other ``train_*`` / ``test_*``
    (``train_inst``, ``train_flow`` of another dataset there would pair with the new frames by name)."""
    if not root.is_dir():
        return []
    prefixes = tuple(f"{phase}_" for phase in PHASES)
    return sorted((p for p in root.iterdir() if p.is_dir() and p.name.startswith(prefixes)),
                  key=lambda p: (PHASES.index(p.name.split("_")[0]), p.name))


def input_identity(source: str) -> dict[str, object]:
    """The input as the record compares it: the resolved path and its size (a folder: its image files and their
    total size). Modification times are left out: copying a video changes them, not its frames."""
    path = Path(source).resolve()
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file()]
        return {"path": str(path), "files": len(files), "bytes": sum(p.stat().st_size for p in files)}
    return {"path": str(path), "bytes": path.stat().st_size if path.is_file() else None}


def read_record(root: Path) -> dict | None:
    """The record of ``root``, None when there is none; a damaged one is a `RecordError`."""
    path = root / RECORD_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or not isinstance(record.get("settings"), dict):
            raise ValueError("no settings in it")
    except (OSError, ValueError) as error:
        raise RecordError(f"{path} cannot be read ({error}); add --overwrite to make the dataset again") from None
    return record


def unfinished_problem(root: str | Path) -> str | None:
    """Why ``root`` must not be trained or tested on yet: video_to_dataset.py started it and has not finished
    (stopped by Ctrl-C, a failure, or a face found in only some frames); None otherwise (no record, or a damaged
    one: reading datasets is not this file's business)."""
    try:
        record = read_record(Path(root))
    except RecordError:
        return None
    if record is None or record.get("complete", True):
        return None
    return (f"{root} is a dataset scripts/video_to_dataset.py has not finished ({Path(root) / RECORD_FILE} says "
            "so: it was interrupted or failed); rerun the same video_to_dataset.py command to finish it (with "
            "--fill_missing if it reported frames without a face)")


def differences(old: Mapping[str, object], new: Mapping[str, object]) -> list[str]:
    """``"--size 640 (now 320)"`` for every setting that differs, in the order of ``new``."""
    def shown(value: object) -> str:
        if value is True:
            return "on"
        if value is False:
            return "off"
        if isinstance(value, list | tuple):
            return " ".join(str(v) for v in value)
        return "not set" if value is None else str(value)

    keys = list(new) + [k for k in old if k not in new]
    return [f"{key} {shown(old.get(key))} (now {shown(new.get(key))})" for key in keys
            if _comparable(old.get(key)) != _comparable(new.get(key))]


def _comparable(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value  # JSON gives lists back


def claim(root: Path, settings: Mapping[str, object], overwrite: bool) -> bool:
    """Make ``root`` ready for a run with ``settings``: resume (True: files of an earlier run with the same
    settings are kept), start afresh (False), or refuse with a `RecordError`. With ``overwrite`` an earlier
    layout is removed first. The record is written (unfinished) before any frame is."""
    record = read_record(root) if not overwrite else None
    existing = layout_folders(root)
    if record is not None:
        changed = differences(record["settings"], settings)
        if changed:
            raise RecordError(f"{root} was made with other settings: {', '.join(changed)}; rerun with the earlier "
                              "settings to resume it, choose another --dataroot, or add --overwrite to delete its "
                              "frames and make it again")
        return True
    if existing and not overwrite:
        names = ", ".join(p.name for p in existing)
        raise RecordError(f"{root} already holds {names} but no {RECORD_FILE} saying how they were made; choose "
                          "another --dataroot, or add --overwrite to delete them and make the dataset again")
    remove_layout(root)
    root.mkdir(parents=True, exist_ok=True)
    write_record(root, settings, complete=False)
    return False


def remove_layout(root: Path) -> None:
    """Delete the layout folders, the files video_to_dataset writes beside them and the record."""
    for folder in layout_folders(root):
        shutil.rmtree(folder)
    for name in (*OTHER_FILES, RECORD_FILE):
        (root / name).unlink(missing_ok=True)


def write_record(root: Path, settings: Mapping[str, object], complete: bool,
                 result: Mapping[str, object] | None = None) -> None:
    record = {"format": FORMAT, "made_by": "scripts/video_to_dataset.py", "complete": complete,
              "settings": dict(settings)}
    if result is not None:
        record["result"] = dict(result)
    write_text_atomically(root / RECORD_FILE, json.dumps(record, indent=2) + "\n")


def on_disk(root: Path, frame_kind: str) -> dict[str, object]:
    """What the dataset holds, counted from the files: per split the sequence folders and frames of the
    ``frame_kind`` folder ("B" or "img"), and the size of the frames (every frame is opened: a count must not
    trust the run that wrote them). A frame of another size than the first is a `RecordError`."""
    counts: dict[str, dict[str, int]] = {}
    size: tuple[int, int] | None = None
    for phase in PHASES:
        folder = root / f"{phase}_{frame_kind}"
        if not folder.is_dir():
            continue
        sequences = sorted(p for p in folder.iterdir() if p.is_dir())
        frames = [f for s in sequences for f in sorted(s.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
        counts[phase] = {"sequences": len(sequences), "frames": len(frames)}
        for frame in frames:
            with Image.open(frame) as image:
                if size is None:
                    size = image.size
                elif image.size != size:
                    raise RecordError(f"{frame} is {image.size[0]}x{image.size[1]}, the other frames "
                                      f"{size[0]}x{size[1]}; add --overwrite to make the dataset again")
    return {"splits": counts, "size": list(size) if size else None}


def new_paths(root: Path, before: set[Path], keep: Iterable[str] = ()) -> list[Path]:
    """Files and folders under ``root`` that are not in ``before`` (deepest first), outside the top-level
    folders named in ``keep``."""
    found = [p for p in root.rglob("*") if p not in before and p.relative_to(root).parts[0] not in keep]
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def remove_new(root: Path, before: set[Path] | None, keep: Iterable[str] = ()) -> None:
    """Undo a failed run: delete what it added under ``root``; ``before`` None: the run created ``root``, which
    goes too when nothing in ``keep`` is left in it."""
    if not root.exists():
        return
    for path in new_paths(root, before or set(), keep):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if before is None and root.is_dir() and not any(root.iterdir()):
        root.rmdir()
