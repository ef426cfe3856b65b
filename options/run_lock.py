"""The training lock of a run folder: one train.py process at a time trains a run.

Two processes training one run would interleave ``loss_log.txt``, write two event files and overwrite each
other's checkpoints. `RunLock` holds ``<checkpoints_dir>/<name>/train.lock`` (the name comes from `RunFolder`)
from before anything of the run is read or written until train.py exits, on every path (train.py releases it in a
``finally`` and before its abort on a second signal); a process killed with SIGKILL leaves a stale lock that the
next start takes over with a notice.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import time
from dataclasses import dataclass, field

from .run_folder import PARTIAL_PREFIX, RunFolder


class RunLockedError(ValueError):
    """Another train.py process trains in this run folder (it holds the lock file)."""


@dataclass
class RunLock:
    """``<run>/train.lock``, held while one train.py process trains the run: JSON with its ``pid``, ``host`` and
    ``since``. A second process is refused (`RunLockedError`); a lock whose process is no longer running on this
    host (killed with SIGKILL, the machine rebooted) is stale and taken over with a notice.

    The lock file appears whole (written under a temporary name, then hard-linked onto its name, which fails when
    it exists), so a reader never sees half of one. Folders made for the lock are removed with it when they are
    still empty (a refused start leaves nothing behind)."""

    run_folder: RunFolder
    created: list[str] = field(default_factory=list)
    held: bool = False

    @property
    def path(self) -> str:
        return self.run_folder.lock_file

    def acquire(self) -> str | None:
        """Take the lock; returns a notice when a stale one was taken over.

        Raises RunLockedError (another process holds it, one line naming that process and what to do) or OSError
        (the folder cannot be written)."""
        folder, missing = self.run_folder.path, []
        while folder and not os.path.isdir(folder):
            missing.append(folder)
            folder = os.path.dirname(folder)
        self.created = missing  # deepest first
        mine = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        notice = None
        try:
            os.makedirs(self.run_folder.path, exist_ok=True)
            for _ in range(2):  # the second try after taking a stale lock over
                if create_exclusively(self.path, json.dumps(mine) + "\n"):
                    self.held = True
                    return notice
                owner = self.owner()
                if owner is None or process_running(owner):
                    raise RunLockedError(self.refusal(owner))
                notice = (f"notice: took over the stale lock {self.path}: process {owner['pid']} on {owner['host']} "
                          f"(training since {owner.get('since', '?')}) is no longer running")
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self.path)
            raise RunLockedError(self.refusal(self.owner()))  # another process took it over in between
        except BaseException:
            self.remove_created_folders()
            raise

    def owner(self) -> dict | None:
        """The lock's JSON, or None when it cannot be read or is not one of ours."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                owner = json.load(handle)
        except (OSError, ValueError):
            return None
        valid = isinstance(owner, dict) and isinstance(owner.get("pid"), int) and isinstance(owner.get("host"), str)
        return owner if valid else None

    def refusal(self, owner: dict | None) -> str:
        if owner is None:
            return (f"{self.run_folder} is locked by {self.path}, which cannot be read; if no train.py is training "
                    "this run, delete the lock file and start again, or choose another --name")
        return (f"{self.run_folder} is being trained by process {owner['pid']} on {owner['host']} (since "
                f"{owner.get('since', '?')}; lock {self.path}): wait for it to finish or stop it, or choose another "
                "--name (delete the lock only if that process is gone)")

    def release(self) -> None:
        """Remove the lock (when held) and the folders made for it that are still empty."""
        if self.held:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
            self.held = False
        self.remove_created_folders()

    def remove_created_folders(self) -> None:
        for folder in self.created:
            try:
                os.rmdir(folder)
            except OSError:  # not empty (the run's files) or already gone
                break
        self.created = []


def create_exclusively(path: str, text: str) -> bool:
    """Write ``text`` to ``path`` whole, only if ``path`` does not exist; False when it does."""
    temporary = os.path.join(os.path.dirname(path), f"{PARTIAL_PREFIX}{os.getpid()}-{os.path.basename(path)}")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    except OSError as error:  # a file system without hard links: create-if-absent, then write
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        try:
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(text)
            return True
        except FileExistsError:
            return False
    finally:
        os.remove(temporary)


def process_running(owner: dict) -> bool:
    """Whether the process of a lock may still run: always for another host (it cannot be asked from here) and
    for this process; otherwise whether the PID exists and is not a zombie."""
    if owner["host"] != socket.gethostname() or owner["pid"] == os.getpid():
        return True
    try:
        os.kill(owner["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        with open(f"/proc/{owner['pid']}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
