"""Each side in its own process: the two codebases share top-level package names (models, options, util, data), and
each side's peak memory must be measured apart. The parent starts ``bench/compare_reference.py --worker SIDE``,
sends one JSON line per call on its stdin and reads one JSON line back; the generated frames and gradients of a
kept call travel in a file. Everything else a worker prints goes to its log."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from bench import common

from .inputs import device_of
from .nvidia_side import TheirsInference, TheirsTraining, write_theirs
from .our_side import OursInference, OursTraining, write_ours
from .session import CallResult, Runner, timed_call
from .spec import REPO_ROOT, load_by_path

ENTRY_POINT = REPO_ROOT / "bench" / "compare_reference.py"
RUNNERS = {("ours", "inference"): OursInference, ("ours", "training"): OursTraining,
           ("theirs", "inference"): TheirsInference, ("theirs", "training"): TheirsTraining}
WRITERS = {"ours": write_ours, "theirs": write_theirs}


class WorkerError(RuntimeError):
    pass


def setup_process(spec: dict) -> None:
    """Threads and the allocator setting, identical in every worker (util/allocator.py by its path: in NVIDIA's
    process `util` is their package)."""
    torch.set_num_threads(spec["threads"])
    if spec["allocator"] == "keep":
        load_by_path("_compare_allocator", "util/allocator.py").keep_freed_memory()


def worker_env(threads: int) -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONUNBUFFERED="1")


def worker_command(side: str, spec_path: str, write: bool = False) -> list[str]:
    return [sys.executable, str(ENTRY_POINT), "--worker", side, "--spec", spec_path] + (["--write"] if write else [])


def protocol_channel():  # noqa: ANN201 - a text file on the original stdout
    """Keep stdout for the protocol and send everything else printed (their option dumps, C-level prints) to
    stderr, which the parent logs."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stdout.flush()
    os.dup2(2, 1)
    return channel


def to_channels_last(runner: Runner) -> None:
    """Every network a runner holds (its nn.Module attributes, and a trainer's networks) in the channels-last
    layout."""
    modules = [v for v in vars(runner).values() if isinstance(v, torch.nn.Module)]
    trainer = getattr(runner, "trainer", None)
    modules += list(trainer.networks().values()) if trainer is not None else []
    for module in modules:
        common.channels_last(module)


def worker_main(side: str, spec_path: str, write: bool) -> int:
    """The worker process: write the networks (``write``), or build the side's runner and answer calls until told
    to quit."""
    spec = json.loads(Path(spec_path).read_text())
    channel = protocol_channel()
    setup_process(spec)
    if write:
        WRITERS[side](spec)
        print(json.dumps({"written": True}), file=channel)
        return 0
    runner = RUNNERS[(side, spec["mode"])](spec)
    if spec.get("channels_last"):
        to_channels_last(runner)
    torch.backends.cudnn.benchmark = spec["cudnn_benchmark"]  # after their initialize, which sets it
    device = device_of(spec)
    print(json.dumps({"ready": True, "rss_gib": common.peak_rss_gib()}), file=channel)
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("quit"):
            break
        result = timed_call(runner, device, command.get("output") is not None)
        if result.output is not None:
            torch.save({"output": result.output, "grads": result.grads}, command["output"])
        print(json.dumps({"seconds": result.seconds, "peak_gib": result.peak_gib, "losses": result.losses}),
              file=channel)
    return 0


def log_tail(path: str, n: int = 15) -> str:
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


class WorkerSession:
    """A worker process for one side; calls go over its stdin/stdout, its stderr goes to ``log_path``. Used by the
    parent process, which never loads NVIDIA's code."""

    def __init__(self, side: str, spec_path: str, log_path: str, threads: int) -> None:
        self.side, self.log_path, self.tmp = side, log_path, str(Path(spec_path).parent)
        self.count = 0
        with open(log_path, "a") as log:
            self.process = subprocess.Popen(worker_command(side, spec_path), stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=log, text=True, env=worker_env(threads))
        self.receive()

    def receive(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            raise WorkerError(f"the {self.side} worker exited (status {self.process.returncode}); its log "
                              f"{self.log_path} ends:\n{log_tail(self.log_path)}")
        return json.loads(line)

    def call(self, keep_output: bool) -> CallResult:
        from models.checkpoint import read_checkpoint

        self.count += 1
        path = os.path.join(self.tmp, f"{self.side}_{id(self)}_{self.count}.pt") if keep_output else None
        self.process.stdin.write(json.dumps({"output": path}) + "\n")
        self.process.stdin.flush()
        reply = self.receive()
        kept = {"output": None, "grads": {}}
        if path:
            kept = read_checkpoint(path, f"the {self.side} worker's frames and gradients",
                                   f"see its log {self.log_path}")
            os.remove(path)
        return CallResult(reply["seconds"], reply["peak_gib"], kept["output"], reply["losses"], kept["grads"])

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self.process.stdin.write(json.dumps({"quit": True}) + "\n")
                self.process.stdin.flush()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run_writer(side: str, spec_path: str, log_path: str, threads: int) -> None:
    """The side's networks written to the reference-format files, in a process of their own."""
    with open(log_path, "a") as log:
        done = subprocess.run(worker_command(side, spec_path, write=True), stdout=subprocess.PIPE, stderr=log,
                              text=True, env=worker_env(threads), check=False)
    if done.returncode != 0:
        raise WorkerError(f"building {side} networks failed (status {done.returncode}); its log {log_path} ends:\n"
                          f"{log_tail(log_path)}")
