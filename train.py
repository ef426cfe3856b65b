"""Train vid2vid: python train.py --name NAME [reference flags]. See docs/TRAINING.md.

Single process: ``python train.py ...``; data parallel: ``torchrun --nproc_per_node=N train.py ...`` (one
process per GPU with NCCL, or per CPU worker with gloo; across nodes with torchrun's --nnodes/--rdzv flags).

A run is checked before anything is written (flags, the run folder, every frame of the dataset, the networks
and, with --continue_train, the checkpoint); SIGTERM / Ctrl-C finish the current step and save a resumable
state; a non-finite loss or gradient skips that update, and weights holding NaN or inf are never saved (the run
stops, keeping its last finite save). One process at a time trains a run folder: it holds the folder's lock
(options/run_lock.py) from before the first check until it exits (docs/TRAINING.md, docs/ERRORS.md).
"""
from __future__ import annotations

import argparse
import errno
import os
import shutil
import signal
import sys
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import util.interrupt_hook  # noqa: F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split
import torch
import torch.distributed as dist
from tqdm import tqdm

from data import DataError, TemporalDataset, create_dataloader, create_dataset
from data.clip import history_length
from data.order import ResumableSampler, SeededItems, epoch_items
from models.checkpoint import CheckpointError, checkpoint_writer, listed, non_finite_keys, read_checkpoint
from models.schedule import sequence_length
from models.single_frame_model import SINGLE_FRAME_MODEL
from models.single_frame_trainer import SingleFrameTrainer
from models.trainer import DistributedContext, StepResult, Trainer
from models.training_logger import TrainingLogger, visuals_to_images
from models.warm_start import warm_start
from options import TrainOptions
from options.base_options import options_to_json, save_options
from options.run_folder import LATEST, RunFolder
from options.run_lock import RunLock, RunLockedError
from options.saved_run import differing_run_flags
from util.allocator import keep_freed_memory
from util.device import DeviceError, select_device

START_ERRORS = (DataError, NotImplementedError, ValueError, FileNotFoundError, CheckpointError, DeviceError)


def init_distributed(opt: argparse.Namespace) -> DistributedContext:
    """Join the torchrun process group (NCCL on GPUs, gloo on CPUs); a plain ``python train.py`` is world 1."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    use_nccl = torch.cuda.is_available() and bool(opt.gpu_ids)
    dist.init_process_group("nccl" if use_nccl else "gloo")
    if not use_nccl:  # CPU workers on one machine share its cores
        local_workers = int(os.environ.get("LOCAL_WORLD_SIZE", world_size))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_workers))
    return DistributedContext(rank=dist.get_rank(), world_size=dist.get_world_size())


def crossed(before: int, after: int, every: int) -> bool:
    """Whether a multiple of ``every`` lies in (before, after]: a step of several items cannot skip an event."""
    return after // every > before // every


# ---------------------------------------------------------------------------------------------- the run folder
def check_run_folder(opt: argparse.Namespace) -> None:
    """Refuse to train over an existing run by accident (`RunFolder.protect`), and to resume one with run flags
    that shape other networks: with --continue_train, every run flag must equal the saved one."""
    run_folder = RunFolder.of(opt)
    run_folder.protect(opt.continue_train, opt.start_over)
    found = run_folder.read_options() if opt.continue_train and run_folder.run_files() else None
    if found is not None:
        path, saved = found
        differ = differing_run_flags(opt, saved, path)
        if differ:
            raise ValueError(f"--continue_train with {', '.join(differ)}: these flags shape the networks and must "
                             f"match {path}; drop or correct them")


def file_system_error(error: OSError, opt: argparse.Namespace) -> str:
    """One line for a failed write: which path, why, and what to do."""
    where = error.filename or RunFolder.of(opt).path
    if error.errno == errno.ENOSPC:
        free = shutil.disk_usage(os.path.dirname(os.path.abspath(where)) or ".").free
        return (f"no space left on the device of {where} ({free / 2**20:.0f} MiB free); free some space or point "
                "--checkpoints_dir elsewhere, then resume with --continue_train (the last complete save is intact)")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {where} ({error.strerror}); make it writable or choose another --checkpoints_dir"
    if error.errno in (errno.EEXIST, errno.ENOTDIR) and os.path.isdir(opt.checkpoints_dir):
        # a file where the run's folder (or one of its nested names) should be: the name is at fault
        return (f"cannot write {where} ({error.strerror or error}): a file is where --name {opt.name} needs a "
                "folder; choose another --name, or move the file away")
    if os.path.abspath(where).startswith(os.path.abspath(opt.checkpoints_dir)):
        return (f"cannot write {where} ({error.strerror or error}); --checkpoints_dir {opt.checkpoints_dir} must be "
                "a folder this user can create and write: choose another --checkpoints_dir")
    return f"cannot write {where} ({error.strerror or error}); make it writable or run train.py in another folder"


# ---------------------------------------------------------------------------------------------- resuming
@dataclass
class Position:
    """Where training stands: the epoch, items done in it, items in all, CPU seconds trained in all."""

    epoch: int = 1
    epoch_iter: int = 0
    total_steps: int = 0
    cpu_seconds: float = 0.0


def save_state(trainer: Trainer, opt: argparse.Namespace, label: str | int, position: Position,
               n_frames: int) -> None:
    """One complete save through `RunFolder.save`: the per-network files, then the training state (each to a
    temporary name, renamed when complete), the reference's iter.txt, and last the save manifest. Resuming reads
    the training state only, so a save interrupted at any point resumes from the last complete one; test.py checks
    the network files against the manifest, so it never mixes two iterations' networks silently."""
    run_folder = RunFolder.of(opt)
    state = trainer.training_state(position.epoch, position.epoch_iter, position.total_steps, n_frames,
                                   options_to_json(opt))
    state["cpu_seconds"] = position.cpu_seconds
    writers = trainer.network_writers(label)
    writers[os.path.basename(run_folder.training_state_file(label))] = checkpoint_writer(state)
    run_folder.save(label, writers, {"epoch": position.epoch, "epoch_iter": position.epoch_iter,
                                     "total_steps": position.total_steps})


def restore(trainer: Trainer, opt: argparse.Namespace) -> tuple[Position, str]:
    """--continue_train: the position from the training state of --which_epoch, or, for a run with only the
    reference's per-network files, from them and iter.txt (optimizers start afresh; CPU time counts from 0).
    Returns it with a line for the log."""
    run_folder = RunFolder.of(opt)
    path = run_folder.training_state_file(opt.which_epoch)
    if os.path.isfile(path):
        state = read_checkpoint(path, "training state", "remove it to resume from the per-network files, or "
                                "restart with --start_over")
        if not isinstance(state, dict):
            raise CheckpointError(f"training state {path} holds a {type(state).__name__}, not a training state")
        trainer.set_epoch(state["epoch"])
        trainer.load_training_state(state, path)
        position = Position(state["epoch"], state["epoch_iter"], state["total_steps"],
                            float(state.get("cpu_seconds", 0.0)))
        return position, f"continuing this run at epoch {position.epoch}, item {position.epoch_iter} ({path})"
    epoch, epoch_iter = 1, 0
    if opt.which_epoch != LATEST:
        epoch = int(opt.which_epoch) + 1
    else:
        epoch, epoch_iter = run_folder.read_iter() or (epoch, epoch_iter)
    trainer.set_epoch(epoch)
    trainer.load_networks(opt.which_epoch)  # raises FileNotFoundError naming the missing file
    return Position(epoch, epoch_iter), (f"notice: no {path}; resuming from the per-network files at epoch {epoch}, "
                                         f"iteration {epoch_iter} with fresh optimizer states")


def make_trainer(opt: argparse.Namespace, device: torch.device, distributed: DistributedContext) -> Trainer:
    return (SingleFrameTrainer if opt.model == SINGLE_FRAME_MODEL else Trainer)(opt, device, distributed)


def generated_frames(opt: argparse.Namespace, dataset: TemporalDataset, wanted: int) -> str:
    """How many frames a training item generates when the schedule asks for ``wanted``, and why when fewer: a clip
    holds at most the longest sequence (the shortest with --batchSize > 1) less its history frames, in whole chunks
    of --max_frames_per_gpu (as `data.temporal_dataset.clip_params` cuts it)."""
    longest = dataset.seq_len_cap or dataset.seq_len_max
    history = history_length(opt)
    n_generate = min(wanted, longest - history)
    per_chunk = min(n_generate, opt.max_frames_per_gpu)
    used = per_chunk * (n_generate // per_chunk)
    if used == wanted:
        return f"{used} generated frames"
    why = []
    if n_generate < wanted:
        which = "shortest sequence (--batchSize > 1)" if dataset.seq_len_cap else "longest sequence"
        why.append(f"the {which} has {longest} frames, {history} of them history")
    if used < n_generate:
        why.append(f"clips are cut in whole chunks of --max_frames_per_gpu {opt.max_frames_per_gpu}")
    asked = f"--n_frames_total {wanted}" if wanted == opt.n_frames_total else \
        f"{wanted} (--n_frames_total {opt.n_frames_total} doubled by the schedule)"
    return f"{used} generated frames, not {asked}: clamped because {' and '.join(why)}"


# ---------------------------------------------------------------------------------------------- finite weights
class NonFiniteWeights(RuntimeError):
    """A network's state holds NaN or inf at a save: the run stops instead of saving it."""


def non_finite_network(trainer: Trainer) -> str | None:
    """The first network whose state (parameters and buffers) holds NaN or inf, with how much of it; None when
    every network is finite."""
    for label, network in trainer.networks().items():
        state = network.state_dict()
        bad = non_finite_keys(state)
        if bad:
            return f"{label} (NaN or inf in {len(bad)} of {len(state)} tensors: {listed(bad)})"
    return None


def last_save(opt: argparse.Namespace, labels: Sequence[str]) -> str:
    """What the run's last save ('latest': its network files and training state) is, read back and checked, so
    that a run stopping without saving says truly what it kept."""
    run_folder = RunFolder.of(opt)
    files = [run_folder.network_file(label, LATEST) for label in labels] + [run_folder.training_state_file(LATEST)]
    present = [path for path in files if os.path.isfile(path)]
    if not present:
        return f"no checkpoint of this run was saved in {run_folder} before"
    for path in present:
        try:
            saved = read_checkpoint(path, mmap=True)
        except (CheckpointError, FileNotFoundError):
            return f"the last checkpoint in {run_folder} cannot be read ({path}): start over with --start_over"
        if path == files[-1]:  # the training state holds every network
            states = list(saved.get("networks", {}).values()) if isinstance(saved, dict) else [None]
        else:
            states = [saved]
        if not all(isinstance(state, dict) for state in states):
            return f"the last checkpoint in {run_folder} is not a checkpoint of this run ({path}): start over"
        if any(non_finite_keys(state) for state in states):
            return (f"the last checkpoint in {run_folder} holds non-finite weights too ({path}): start over with "
                    "--start_over or from an earlier epoch's files")
    try:
        resumes = run_folder.read_iter()
    except ValueError:
        resumes = None
    at = f"resuming at epoch {resumes[0]}, iteration {resumes[1]}, " if resumes else ""
    return f"the last finite checkpoint was kept: 'latest' in {run_folder} ({at}checked finite)"


# ---------------------------------------------------------------------------------------------- signals
class StopSignals:
    """SIGTERM and SIGINT ask training to stop after the current step (and save); a second one aborts at once.

    Under torchrun every rank stops at the same step: the request is combined over ranks after each step."""

    def __init__(self, distributed: DistributedContext, device: torch.device,
                 before_abort: Callable[[], None] = lambda: None) -> None:
        self.distributed = distributed
        self.device = device  # NCCL reduces tensors on the process's GPU only
        self.before_abort = before_abort  # what must not be left behind by os._exit (the run folder's lock)
        self.received: int | None = None
        self.previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        for number in (signal.SIGTERM, signal.SIGINT):
            self.previous[number] = signal.signal(number, self.handle)
            # restart system calls the signal interrupts (SA_RESTART): the handler only sets a flag, and a receive of
            # a collective or a write of a checkpoint in another thread should not fail with EINTR meanwhile
            signal.siginterrupt(number, False)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)

    def handle(self, number: int, frame: object) -> None:
        del frame
        if self.received is not None:
            print(f"\n{signal.Signals(number).name} again: aborting without saving (the last complete checkpoint "
                  "is intact)", file=sys.stderr, flush=True)
            self.before_abort()
            os._exit(128 + number)
        self.received = number
        print(f"\n{signal.Signals(number).name}: finishing this step, then saving 'latest' (send it again to abort "
              "at once)", file=sys.stderr, flush=True)

    def agreed(self) -> int | None:
        """The signal to stop for, when this or any other rank received one (else None)."""
        if not self.distributed.enabled:
            return self.received
        flag = torch.tensor([float(self.received or 0)], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item()) or None


def ignore_sigint_in_worker(worker_id: int) -> None:
    """DataLoader workers leave Ctrl-C to the main process (which stops cleanly) instead of printing tracebacks."""
    del worker_id
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# ---------------------------------------------------------------------------------------------- training
class Prepared(NamedTuple):
    """A run ready to train: where, on what, with what, from where, and the lines to log first."""

    device: torch.device
    dataset: TemporalDataset  # the full-length training items (shorter ones are made per epoch by the schedule)
    trainer: Trainer
    position: Position
    lines: list[str]


def prepare(opt: argparse.Namespace, distributed: DistributedContext) -> Prepared:
    """Everything that can fail on bad input, before anything is written: device, run folder, dataset (every
    frame), networks and the resumed state."""
    from data.validate import validate_dataset

    device = select_device(opt)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    check_run_folder(opt)
    base_dataset = create_dataset(opt)
    validate_dataset(opt, progress=distributed.is_main)
    trainer = make_trainer(opt, device, distributed)
    lines = []
    if opt.continue_train:
        position, line = restore(trainer, opt)
        lines.append(line)
    else:
        position = Position()
        trainer.set_epoch(1)
        if opt.load_pretrain:
            lines += trainer.load_pretrained(opt.load_pretrain, opt.which_epoch)
        lines += warm_start(trainer.model_g, opt)
    return Prepared(device, base_dataset, trainer, position, lines)


def train(opt: argparse.Namespace, max_steps: int | None = None) -> int:
    """Run the training of ``opt``; returns the exit code. ``max_steps`` stops (and saves 'latest') after that
    many loader batches of this call, as an interruption would; used by tests and benchmarks.

    The run folder is locked first (by rank 0 under torchrun): a second process on the same run is one line and
    exit 1, having written nothing; the lock is released on every way out."""
    keep_freed_memory()
    distributed = init_distributed(opt)
    lock = RunLock(RunFolder.of(opt))
    if distributed.is_main:
        try:
            notice = lock.acquire()
        except RunLockedError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        except OSError as error:
            print(f"error: {file_system_error(error, opt)}", file=sys.stderr)
            return 1
        if notice:
            print(notice, file=sys.stderr)
    try:
        return train_locked(opt, max_steps, distributed, lock)
    finally:
        lock.release()


def train_locked(opt: argparse.Namespace, max_steps: int | None, distributed: DistributedContext,
                 lock: RunLock) -> int:
    """`train` once the run folder is locked."""
    try:
        device, base_dataset, trainer, position, lines = prepare(opt, distributed)
        if distributed.is_main:
            run_folder = RunFolder.of(opt)
            if opt.start_over and not opt.continue_train:
                run_folder.clear()
            run_folder.remove_partial_files()
            save_options(opt)  # only once the data, the networks and the checkpoint are known to be good
        logger = TrainingLogger(opt, enabled=distributed.is_main)
    except START_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: {file_system_error(error, opt)}", file=sys.stderr)
        return 1
    for line in lines:
        logger.message(line)
    n_items = epoch_items(len(base_dataset), opt.max_dataset_size)
    drawn_from = f" (--max_dataset_size; {len(base_dataset)} to draw from)" if n_items < len(base_dataset) else ""
    logger.message(f"{n_items} training items per epoch{drawn_from} from {len(base_dataset.mode.sequences)} "
                   f"sequences, {distributed.world_size} process(es) on {device}")
    finished_loop = False
    try:
        with StopSignals(distributed, device, before_abort=lock.release) as signals:
            code = Loop(opt, trainer, base_dataset, logger, distributed, signals).run(position, max_steps)
        finished_loop = True
    except OSError as error:
        print(f"error: {file_system_error(error, opt)}", file=sys.stderr)
        code = 1
    logger.close()
    if distributed.enabled:
        leave_process_group(device, together=finished_loop)
    return code


def leave_process_group(device: torch.device, together: bool) -> None:
    """Leave the torchrun process group; ``together``: every rank left the loop at the same step (a finished run,
    an agreed stop), so first meet in one last collective.

    A gloo worker thread drops its reference to a collective's tensors a moment after the collective has returned,
    and dropping one that Python also knew needs the GIL. A rank that went straight on to interpreter shutdown (rank 1
    does not save) could get there first; the worker thread then died inside a destructor and the process aborted
    with "terminate called without an active exception" (1 stop in 25 on 2 cores). So the last collective's tensor
    is watched through a weak reference and this thread sleeps (releasing the GIL) until the worker has let go of
    it; meeting there also keeps every rank until rank 0 has written its checkpoint."""
    if together:
        token = torch.ones(1, device=device)
        released = weakref.ref(token)
        try:
            dist.all_reduce(token)
        except RuntimeError as error:  # another rank failed and left (its own error names the cause)
            print(f"warning: leaving without the other ranks ({error})", file=sys.stderr)
        del token
        deadline = time.monotonic() + 5.0
        while released() is not None and time.monotonic() < deadline:
            time.sleep(0.001)
    dist.destroy_process_group()


class Loop:
    """The epoch / item loop of one train.py call: schedule, logging, saving, stopping."""

    def __init__(self, opt: argparse.Namespace, trainer: Trainer, base_dataset: torch.utils.data.Dataset,
                 logger: TrainingLogger, distributed: DistributedContext, signals: StopSignals) -> None:
        self.opt, self.trainer, self.base_dataset = opt, trainer, base_dataset
        self.logger, self.distributed, self.signals = logger, distributed, signals
        self.print_freq, self.display_freq = (1, 1) if opt.debug else (opt.print_freq, opt.display_freq)
        self.n_frames: int | None = None
        self.bad_in_a_row = self.bad_total = 0

    def save(self, label: str | int, position: Position) -> None:
        """Save on rank 0, once every network's state is finite on every rank; NonFiniteWeights otherwise."""
        bad = non_finite_network(self.trainer)
        if self.distributed.enabled:  # buffers (norm statistics) may differ between ranks: stop together
            flag = torch.tensor([float(bad is not None)], device=self.signals.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            bad = bad or ("a network of another rank" if flag.item() else None)
        if bad is not None:
            raise NonFiniteWeights(
                f"the weights of {bad} became non-finite (found at the save after {position.total_steps} training "
                f"sequences) and were not saved; {last_save(self.opt, list(self.trainer.networks()))}. Lower --lr, try "
                "without --fp16 or check the data")
        if self.distributed.is_main:
            save_state(self.trainer, self.opt, label, position, self.n_frames)

    def run(self, position: Position, max_steps: int | None) -> int:
        opt, distributed = self.opt, self.distributed
        n_epochs = opt.niter + opt.niter_decay
        items_per_step = opt.batchSize * distributed.world_size
        # items of every epoch: the datasets the schedule rebuilds for longer clips have as many as this one
        n_items = epoch_items(len(self.base_dataset), opt.max_dataset_size)
        steps_per_epoch = -(-n_items // items_per_step)
        progress = tqdm(total=n_epochs * steps_per_epoch, initial=(position.epoch - 1) * steps_per_epoch
                        + position.epoch_iter // items_per_step, disable=not distributed.is_main, unit="it",
                        dynamic_ncols=True)
        cpu_start, cpu_before = time.process_time(), position.cpu_seconds
        budget = opt.cpu_budget_minutes * 60
        dataset, steps_done = None, 0
        self.last_print, self.frames_since_print, self.items_since_print = time.time(), 0, 0
        try:
            for epoch in range(position.epoch, n_epochs + 1):
                epoch_start = time.time()
                position.epoch = epoch
                self.trainer.set_epoch(epoch)
                wanted = sequence_length(opt.n_frames_total, self.base_dataset.seq_len_max, opt.n_frames_G, epoch,
                                         opt.niter_step)
                if wanted != self.n_frames:
                    self.n_frames = wanted
                    dataset = SeededItems(self.base_dataset if wanted == opt.n_frames_total
                                          else create_dataset(opt, wanted), opt.seed)
                    self.logger.message(f"training on sequences of {generated_frames(opt, self.base_dataset, wanted)}")
                dataset.epoch = epoch
                skip = position.epoch_iter // distributed.world_size  # items this rank did in a resumed epoch
                sampler = ResumableSampler(dataset, distributed.world_size, distributed.rank,
                                           shuffle=not opt.serial_batches, seed=opt.seed, skip=skip, limit=n_items)
                sampler.set_epoch(epoch)
                progress.set_description(f"epoch {epoch}/{n_epochs}")
                loader = create_dataloader(opt, dataset, sampler)
                loader.worker_init_fn = ignore_sigint_in_worker
                for data in loader:
                    result = self.trainer.train_item(data)
                    if not self.count_bad_step(result, position):
                        return 1
                    self.after_step(result, position, data.label.size(0) * distributed.world_size)
                    position.cpu_seconds = cpu_before + time.process_time() - cpu_start
                    progress.update(1)
                    steps_done += 1
                    stop = self.stop_reason(steps_done, max_steps, position, budget)
                    if stop is not None:
                        self.save(LATEST, position)
                        self.logger.message(f"stopped after {stop} (epoch {epoch}, iteration {position.epoch_iter});"
                                            f" saved 'latest'; resume with the same command and --continue_train")
                        received = self.signals.received or 0
                        return 130 if received == signal.SIGINT else 0
                self.logger.message(f"epoch {epoch}/{n_epochs} finished in {time.time() - epoch_start:.0f} s")
                position.epoch_iter = 0
                if epoch % opt.save_epoch_freq == 0:
                    self.logger.message(f"writing checkpoints 'latest' and '{epoch}' after epoch {epoch} "
                                        f"({position.total_steps} sequences so far)")
                    after = Position(epoch + 1, 0, position.total_steps, position.cpu_seconds)
                    for label in (LATEST, epoch):
                        self.save(label, after)
            return 0
        except NonFiniteWeights as error:
            progress.close()  # (ends the progress bar's line first)
            if distributed.is_main:
                print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            progress.close()

    def stop_reason(self, steps_done: int, max_steps: int | None, position: Position, budget: float) -> str | None:
        received = self.signals.agreed()
        if received:
            return signal.Signals(received).name
        if budget > 0 and position.cpu_seconds >= budget:
            return (f"the CPU budget of {self.opt.cpu_budget_minutes:g} min ({position.cpu_seconds / 60:.2f} min "
                    "used)")
        if max_steps is not None and steps_done >= max_steps:
            return f"{steps_done} steps"
        return None

    def count_bad_step(self, result: StepResult, position: Position) -> bool:
        """Count a step whose update was skipped (non-finite loss or gradient); False once there were
        --max_bad_steps of them in a row (training stops, the last saved checkpoint stays as it was)."""
        if result.applied:
            self.bad_in_a_row = 0
            return True
        self.bad_in_a_row += 1
        self.bad_total += 1
        self.logger.log_scalar("train/skipped_steps", self.bad_total, position.total_steps)
        losses = ", ".join(f"{k}={float(v):.3g}" for k, v in result.losses.items() if not torch.isfinite(v))
        self.logger.message(f"skipped an update with non-finite values ({losses or 'gradients'}) at epoch "
                            f"{position.epoch}, iteration {position.epoch_iter}: {self.bad_in_a_row} in a row, "
                            f"{self.bad_total} in all")
        if self.bad_in_a_row < self.opt.max_bad_steps:
            return True
        print(f"error: {self.bad_in_a_row} updates in a row had non-finite losses or gradients (--max_bad_steps "
              f"{self.opt.max_bad_steps}); stopped without saving; "
              f"{last_save(self.opt, list(self.trainer.networks()))}. Lower --lr, try without --fp16 "
              "or check the data", file=sys.stderr)
        return False

    def after_step(self, result: StepResult, position: Position, step_items: int) -> None:
        """Advance the counters; print, display and save when their frequencies are crossed."""
        opt = self.opt
        before = position.total_steps
        position.total_steps += step_items
        position.epoch_iter += step_items
        self.frames_since_print += result.frames * self.distributed.world_size
        self.items_since_print += step_items
        if crossed(before, position.total_steps, self.print_freq):
            elapsed = time.time() - self.last_print
            losses = {name: float(value) for name, value in result.losses.items()}
            self.logger.log_losses(position.epoch, position.epoch_iter, position.total_steps, losses,
                                   elapsed / self.items_since_print, self.trainer.learning_rates(),
                                   self.frames_since_print / max(elapsed, 1e-9))
            self.last_print, self.frames_since_print, self.items_since_print = time.time(), 0, 0
        if crossed(before, position.total_steps, self.display_freq) and self.distributed.is_main:
            self.logger.log_images(position.epoch, position.total_steps, visuals_to_images(opt, result.visuals))
        if crossed(before, position.total_steps, opt.save_latest_freq) and self.bad_in_a_row == 0:
            # (not while updates are being skipped: the last good checkpoint stays as it was)
            self.logger.message(f"writing checkpoint 'latest' (epoch {position.epoch}, {position.total_steps} "
                                "sequences so far)")
            self.save(LATEST, position)


def main(argv: Sequence[str] | None = None) -> int:
    return train(TrainOptions().parse_cli(argv, save=False))


if __name__ == "__main__":
    sys.exit(main())
