"""A run's folder: the one owner of every path of a training run, and of the run's life on disk.

A run named N keeps everything in two places, both built here and nowhere else:

* ``<checkpoints_dir>/N/`` — the options (``opt.txt`` for people, ``opt.json`` for programs), the reference-named
  network files ``<epoch>_net_<label>.pth`` (bare state_dicts, so NVIDIA's published folders and ours
  interchange), the training state ``<epoch>_training_state.pth`` (exact resume), the save manifest
  ``<epoch>_checkpoint.json`` (which files make one complete save), the reference's resume point ``iter.txt``,
  the loss log ``loss_log.txt`` and the snapshot page ``web/``;
* ``runs/N/`` — the TensorBoard events.

Names stay inside these folders: `path_flag_problem` refuses a --name (or --single_G_name, --which_epoch,
--phase) that is empty, absolute or has an empty, ``.`` or ``..`` part (nested run names like ``exp/run1`` are
fine). While a train.py process trains a run, it holds ``<checkpoints_dir>/N/train.lock``
(options/run_lock.py).

Its life: `protect` refuses to train over a run by accident, `clear` (``--start_over``) removes it,
`write_options` describes it, `save` writes one complete save atomically (every file under a temporary name
renamed when complete, ``iter.txt``, then the manifest last), `check_manifest` lets a reader refuse files of an
interrupted save, `read_options` / `read_iter` resume or describe it.

File formats stay with their owners: tensors are written by the ``save`` callables the caller passes (the
checkpoint module's ``torch.save``) and read by ``models.checkpoint``; this module only decides where they go and
in which order.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
from argparse import Namespace
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from util.atomic import write_atomically, write_text_atomically

OPTIONS_JSON = "opt.json"
OPTIONS_TXT = "opt.txt"
ITER_FILE = "iter.txt"
LOSS_LOG = "loss_log.txt"
WEB_FOLDER = "web"
EVENTS_PREFIX = "events.out.tfevents."  # TensorBoard's event file names
EVENTS_ROOT = "runs"  # TensorBoard's folder, relative to where train.py runs (as `tensorboard --logdir runs`)
LATEST = "latest"
PARTIAL_PREFIX = ".partial-"  # util/atomic.py's temporary names
LOCK_FILE = "train.lock"

# Flags that become part of a path: flag -> (may hold nested folders, what the value is, how to point elsewhere).
PATH_FLAGS = {
    "name": (True, "a run's folder under --checkpoints_dir, runs/ and --results_dir",
             "use a plain or nested name (my_run, exp/run1) and choose where runs go with --checkpoints_dir"),
    "single_G_name": (True, "a run folder under --checkpoints_dir",
                      "name a run there (nested names like exp/run1 are fine) or pass --checkpoints_dir"),
    "which_epoch": (False, "the label in the file names <label>_net_*.pth of this run",
                    "give 'latest' or an epoch number (another run's weights: --name, --load_pretrain)"),
    "phase": (False, "the prefix of the folders <phase>_A, <phase>_B of --dataroot",
              "give a split such as train or test (another dataset: --dataroot)"),
}


class ManifestError(RuntimeError):
    """A file of a save differs from the save manifest beside it (an interrupted save mixed two iterations)."""


def path_flag_problem(opt: Namespace) -> str | None:
    """One line naming the first `PATH_FLAGS` value of ``opt`` that would put files outside its folder, and the
    fix; None when all are fine. An empty --single_G_name means its default and is fine."""
    for dest, (nested, what, fix) in PATH_FLAGS.items():
        value = getattr(opt, dest, None)
        if value is None or dest == "single_G_name" and value == "":
            continue
        problem = name_problem(str(value), nested)
        if problem:
            return f"--{dest} {str(value)!r} {problem}: it is {what}; {fix}"
    return None


def name_problem(value: str, nested: bool) -> str | None:
    """What makes ``value`` unusable as a part of a path inside its parent folder, or None."""
    parts = value.split("/")
    if not value.strip():
        return "is empty"
    if "\0" in value:
        return "contains a NUL character"
    if os.path.isabs(value):
        return "is an absolute path"
    if ".." in parts:
        return "has a '..' part, which leads out of its folder"
    if not nested and len(parts) > 1:
        return "contains '/'"
    if any(part in ("", ".") for part in parts):
        cleaned = "/".join(part for part in parts if part not in ("", "."))
        return f"has an empty or '.' part (write it as {cleaned!r})" if cleaned else "names no folder"
    return None


@dataclass(frozen=True)
class RunFolder:
    """The files of run ``name`` under ``checkpoints_dir`` (and its events under ``events_root``)."""

    checkpoints_dir: str
    name: str
    events_root: str = EVENTS_ROOT

    @classmethod
    def of(cls, opt: Namespace, name: str | None = None) -> RunFolder:
        """The folder of ``opt.name`` (or of the run ``name`` beside it, e.g. the ``--use_single_G`` run)."""
        return cls(opt.checkpoints_dir, opt.name if name is None else name)

    @classmethod
    def at(cls, folder: str) -> RunFolder:
        """The run whose folder is ``folder`` (e.g. ``--load_pretrain checkpoints/label2city_256``)."""
        parent, name = os.path.split(os.path.normpath(folder))
        return cls(parent or ".", name)

    # ------------------------------------------------------------------------------------------ paths
    @property
    def path(self) -> str:
        return os.path.normpath(os.path.join(self.checkpoints_dir, self.name))

    def __str__(self) -> str:
        return self.path

    def file(self, file_name: str) -> str:
        return os.path.join(self.path, file_name)

    @staticmethod
    def network_file_name(label: str, epoch_label: str | int) -> str:
        """``<epoch>_net_<label>.pth``: the reference's name for network ``label`` (G0, D, D_T1, G_512, ...)."""
        return f"{epoch_label}_net_{label}.pth"

    def network_file(self, label: str, epoch_label: str | int) -> str:
        return self.file(self.network_file_name(label, epoch_label))

    def training_state_file(self, epoch_label: str | int) -> str:
        return self.file(f"{epoch_label}_training_state.pth")

    def manifest_file(self, epoch_label: str | int) -> str:
        return self.file(f"{epoch_label}_checkpoint.json")

    @property
    def options_json(self) -> str:
        return self.file(OPTIONS_JSON)

    @property
    def options_txt(self) -> str:
        return self.file(OPTIONS_TXT)

    @property
    def iter_file(self) -> str:
        """The reference's resume point, ``<epoch>,<iteration>``."""
        return self.file(ITER_FILE)

    @property
    def loss_log(self) -> str:
        return self.file(LOSS_LOG)

    @property
    def web_dir(self) -> str:
        return self.file(WEB_FOLDER)

    @property
    def lock_file(self) -> str:
        return self.file(LOCK_FILE)

    @property
    def events_dir(self) -> str:
        return os.path.normpath(os.path.join(self.events_root, self.name))

    # ------------------------------------------------------------------------------------------ describing
    def exists(self) -> bool:
        return os.path.isdir(self.path)

    def run_files(self) -> list[str]:
        """The files that show a run lives here (its options, resume point or training state), by name."""
        names = (OPTIONS_JSON, ITER_FILE, os.path.basename(self.training_state_file(LATEST)))
        return [name for name in names if os.path.isfile(self.file(name))]

    def epochs_of(self, label: str) -> list[str]:
        """The epoch labels for which network ``label`` has a file, sorted."""
        suffix = f"_net_{label}.pth"
        return sorted(os.path.basename(p)[: -len(suffix)] for p in glob.glob(os.path.join(self.path, f"*{suffix}")))

    def network_files(self, label_pattern: str = "*", epoch_label: str | int = "*") -> list[str]:
        """Names of the network files matching a glob on the label and epoch, sorted."""
        pattern = self.network_file(label_pattern, epoch_label)
        return sorted(os.path.basename(p) for p in glob.glob(pattern))

    def count_scales(self, epoch_label: str | int) -> int:
        """Number of consecutive generator scales G0, G1, ... saved for ``epoch_label``."""
        n = 0
        while os.path.isfile(self.network_file(f"G{n}", epoch_label)):
            n += 1
        return n

    def read_options(self) -> tuple[str, dict] | None:
        """(path, saved options) from ``opt.json``; None when the run has none (NVIDIA's published folders).

        Raises ValueError naming the file when it cannot be read or is not a JSON object."""
        path = self.options_json
        fix = "restore it from a copy, or delete it and give the architecture flags"
        if not os.path.lexists(path):
            return None
        if not os.path.isfile(path):  # a folder, a dangling link: never silently "no options"
            raise ValueError(f"{path} is not a file; {fix}")
        try:
            with open(path, encoding="utf-8") as handle:
                saved = json.load(handle)
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read {path} ({error}); {fix}") from None
        if not isinstance(saved, dict) or not saved:
            raise ValueError(f"{path} holds no options ({'an empty object' if saved == {} else 'not a JSON object'});"
                             f" {fix}")
        return path, saved

    def read_iter(self) -> tuple[int, int] | None:
        """(epoch, iteration) from ``iter.txt``; None without one. ValueError naming the file when unreadable."""
        if not os.path.isfile(self.iter_file):
            return None
        with open(self.iter_file, encoding="utf-8") as handle:
            text = handle.read().strip()
        try:
            epoch, iteration = (int(value) for value in text.split(","))
        except ValueError:
            raise ValueError(f"{self.iter_file} holds {text[:40]!r}, not '<epoch>,<iteration>'; fix or delete it"
                             ) from None
        return epoch, iteration

    # ------------------------------------------------------------------------------------------ life
    def protect(self, continue_train: bool, start_over: bool) -> None:
        """Refuse to start a run over an existing one by accident, or to resume one that is not there.

        Raises ValueError (a run is here and neither --continue_train nor --start_over was given) or
        FileNotFoundError (--continue_train without a run folder, or with one holding nothing but the lock)."""
        present = self.run_files()
        if not present:
            if continue_train and not (self.exists() and set(os.listdir(self.path)) - {LOCK_FILE}):
                raise FileNotFoundError(f"--continue_train: no run in {self.path}; check --name/--checkpoints_dir, "
                                        "or drop --continue_train to start it")
            return
        if not (continue_train or start_over):
            raise ValueError(f"{self.path} already holds a run ({', '.join(present)}): resume it with "
                             "--continue_train, start it over with --start_over (removes its checkpoints), or choose "
                             "another --name")

    def clear(self) -> None:
        """``--start_over``: remove the run's checkpoints, options, logs, snapshots and TensorBoard event files
        (other files a user put in its folders, and the folders of nested runs such as <name>/run1, stay)."""
        if self.exists():
            for name in os.listdir(self.path):
                if name.endswith((".pth", "_checkpoint.json")) or name in (ITER_FILE, LOSS_LOG, OPTIONS_TXT,
                                                                            OPTIONS_JSON):
                    os.remove(self.file(name))
            shutil.rmtree(self.web_dir, ignore_errors=True)
        if os.path.isdir(self.events_dir):  # only this run's event files: runs/<name>/ may hold nested runs' folders
            for name in os.listdir(self.events_dir):
                if name.startswith(EVENTS_PREFIX) and os.path.isfile(os.path.join(self.events_dir, name)):
                    os.remove(os.path.join(self.events_dir, name))
            if not os.listdir(self.events_dir):
                os.rmdir(self.events_dir)

    def remove_partial_files(self) -> None:
        """Temporary files of a save that was killed before its rename."""
        if self.exists():
            for name in os.listdir(self.path):
                if name.startswith(PARTIAL_PREFIX):
                    os.remove(self.file(name))

    def create(self) -> str:
        os.makedirs(self.path, exist_ok=True)
        return self.path

    def write_options(self, text: str, values: Mapping[str, object]) -> None:
        """``opt.txt`` (``text``, for people) and ``opt.json`` (``values``, for programs), each atomically."""
        self.create()
        write_text_atomically(self.options_txt, text)
        write_text_atomically(self.options_json, json.dumps(dict(values), indent=2) + "\n")

    def save(self, epoch_label: str | int, writers: Mapping[str, Callable[[str], None]], iteration: dict) -> None:
        """One complete save: each ``writers[file_name](temporary_path)`` writes one file, renamed onto
        ``<run>/<file_name>`` when complete; then ``iter.txt`` (for 'latest') and last the save manifest.

        ``iteration``: {"epoch", "epoch_iter", "total_steps"}. A save interrupted anywhere leaves the previous
        complete save readable: a reader of the network files checks them against the manifest
        (`check_manifest`), and resuming reads the training state alone."""
        self.create()
        paths = []
        for file_name, write in writers.items():
            paths.append(self.file(file_name))
            write_atomically(paths[-1], write)
        if str(epoch_label) == LATEST:
            write_text_atomically(self.iter_file, f"{iteration['epoch']},{iteration['epoch_iter']}\n")
        self._write_manifest(epoch_label, paths, iteration)

    # ------------------------------------------------------------------------------------------ save manifests
    # ``<epoch>_checkpoint.json``, written after every file of one save: the iteration and each file's size,
    # mtime and SHA-256. A later save interrupted between its files leaves files that do not match it.
    def _write_manifest(self, epoch_label: str | int, files: list[str], iteration: dict) -> None:
        entries = {}
        for path in files:
            stat = os.stat(path)
            entries[os.path.basename(path)] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                                               "sha256": file_digest(path)}
        text = json.dumps({"iteration": iteration, "files": entries}, indent=1) + "\n"
        write_atomically(self.manifest_file(epoch_label), lambda temporary: Path(temporary).write_text(text))

    def check_manifest(self, epoch_label: str | int, files: list[str]) -> None:
        """ManifestError when a file of ``files`` (paths in this folder) differs from the save manifest beside it.
        Unchanged size and mtime are trusted; otherwise the content hash decides, so a copied run folder still
        passes. Folders without a manifest (published models, older runs) are not checked."""
        path = self.manifest_file(epoch_label)
        if not os.path.isfile(path):
            return
        try:
            with open(path, encoding="utf-8") as handle:
                entries = json.load(handle)["files"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ManifestError(f"cannot read the save manifest {path} ({error}); delete it to load the files "
                                "as they are") from None
        for file_path in files:
            entry = entries.get(os.path.basename(file_path))
            if entry is None or not os.path.isfile(file_path):
                continue
            stat = os.stat(file_path)
            if stat.st_size == 0 or stat.st_size == entry["size"] and stat.st_mtime_ns == entry["mtime_ns"]:
                continue  # (an empty file is a copy that failed, not a save: reading it says so)
            if file_digest(file_path) != entry["sha256"]:
                raise ManifestError(
                    f"{file_path} is not the file of the last complete save (manifest {path}): a save was "
                    "interrupted and the networks are from different iterations; resume training with "
                    "--continue_train to rewrite them, or pick another --which_epoch")


def file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()

