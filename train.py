"""Train vid2vid: python train.py --name NAME [reference flags]. See docs/TRAINING.md.

Single process: ``python train.py ...``; data parallel: ``torchrun --nproc_per_node=N train.py ...`` (one
process per GPU with NCCL, or per CPU worker with gloo; across nodes with torchrun's --nnodes/--rdzv flags).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

import torch
import torch.distributed as dist
from tqdm import tqdm

from data import DataError, create_dataloader, create_dataset
from data.order import ResumableSampler, SeededItems
from models.checkpoint import CheckpointError, iter_file_path, read_checkpoint, save_checkpoint, training_state_path
from models.schedule import sequence_length
from models.single_frame_model import SINGLE_FRAME_MODEL
from models.single_frame_trainer import SingleFrameTrainer
from models.trainer import DistributedContext, Trainer
from models.training_logger import TrainingLogger, visuals_to_images
from options import TrainOptions
from options.base_options import options_to_json, save_options
from util.allocator import keep_freed_memory
from util.atomic import write_text_atomically
from util.device import select_device


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


def save_state(trainer: Trainer, opt: argparse.Namespace, label: str | int, epoch: int, epoch_iter: int,
               total_steps: int, n_frames: int, cpu_seconds: float) -> None:
    """Training state to a temporary name, renamed when complete, plus the reference's iter.txt."""
    path = training_state_path(opt, label)
    state = trainer.training_state(epoch, epoch_iter, total_steps, n_frames, options_to_json(opt))
    state["cpu_seconds"] = cpu_seconds
    save_checkpoint(state, path)
    if label == "latest":
        write_text_atomically(iter_file_path(opt), f"{epoch},{epoch_iter}\n")


def restore(trainer: Trainer, opt: argparse.Namespace, logger: TrainingLogger) -> tuple[int, int, int, float]:
    """--continue_train: (epoch, items done in it, total items, CPU seconds trained) from the training state of
    --which_epoch, or, for a run with only the reference's per-network files, from them and iter.txt (optimizers
    start afresh; the CPU time is then unknown and counts from 0)."""
    path = training_state_path(opt, opt.which_epoch)
    if os.path.isfile(path):
        state = read_checkpoint(path, "training state", "remove it to resume from the per-network files, or "
                                "restart without --continue_train")
        if not isinstance(state, dict):
            raise CheckpointError(f"training state {path} holds a {type(state).__name__}, not a training state")
        trainer.set_epoch(state["epoch"])
        trainer.load_training_state(state, path)
        logger.message(f"continuing this run at epoch {state['epoch']}, item {state['epoch_iter']} ({path})")
        return state["epoch"], state["epoch_iter"], state["total_steps"], float(state.get("cpu_seconds", 0.0))
    epoch, epoch_iter = 1, 0
    iter_path = iter_file_path(opt)
    if opt.which_epoch != "latest":
        epoch = int(opt.which_epoch) + 1
    elif os.path.isfile(iter_path):
        epoch, epoch_iter = (int(x) for x in open(iter_path).read().strip().split(","))
    trainer.set_epoch(epoch)
    trainer.load_networks(opt.which_epoch)  # raises FileNotFoundError naming the missing file
    logger.message(f"notice: no {path}; resuming from the per-network files at epoch {epoch}, iteration "
                   f"{epoch_iter} with fresh optimizer states")
    return epoch, epoch_iter, 0, 0.0


def make_trainer(opt: argparse.Namespace, device: torch.device, distributed: DistributedContext) -> Trainer:
    return (SingleFrameTrainer if opt.model == SINGLE_FRAME_MODEL else Trainer)(opt, device, distributed)


def train(opt: argparse.Namespace, max_steps: int | None = None) -> int:
    """Run the training of ``opt``. ``max_steps`` stops (and saves 'latest') after that many loader batches of
    this call, as an interruption would; used by tests and benchmarks."""
    keep_freed_memory()
    distributed = init_distributed(opt)
    device = select_device(opt)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    try:
        base_dataset = create_dataset(opt)
        trainer = make_trainer(opt, device, distributed)
    except (DataError, NotImplementedError, ValueError, FileNotFoundError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    is_main = distributed.is_main
    if is_main:
        save_options(opt)  # only once the data and networks are known to be good
    logger = TrainingLogger(opt, enabled=is_main)
    print_freq, display_freq = (1, 1) if opt.debug else (opt.print_freq, opt.display_freq)
    try:
        if opt.continue_train:
            start_epoch, epoch_iter, total_steps, cpu_before = restore(trainer, opt, logger)
        else:
            start_epoch, epoch_iter, total_steps, cpu_before = 1, 0, 0, 0.0
            trainer.set_epoch(1)
            if opt.load_pretrain:
                for line in trainer.load_pretrained(opt.load_pretrain, opt.which_epoch):
                    logger.message(line)
    except (ValueError, FileNotFoundError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    logger.message(f"{len(base_dataset)} training items per epoch from {len(base_dataset.mode.sequences)} "
                   f"sequences, {distributed.world_size} process(es) on {device}")

    n_epochs = opt.niter + opt.niter_decay
    items_per_step = opt.batchSize * distributed.world_size
    steps_per_epoch = -(-len(base_dataset) // items_per_step)
    progress = tqdm(total=n_epochs * steps_per_epoch, initial=(start_epoch - 1) * steps_per_epoch
                    + epoch_iter // items_per_step, disable=not is_main, unit="it", dynamic_ncols=True)
    dataset, n_frames, steps_done = None, None, 0
    cpu_start = time.process_time()
    cpu_budget = opt.cpu_budget_minutes * 60

    def cpu_seconds() -> float:  # CPU time of this process (all its threads) over every call of this run
        return cpu_before + time.process_time() - cpu_start

    last_print_time, frames_since_print, items_since_print = time.time(), 0, 0
    for epoch in range(start_epoch, n_epochs + 1):
        epoch_start = time.time()
        trainer.set_epoch(epoch)
        wanted = sequence_length(opt.n_frames_total, base_dataset.seq_len_max, opt.n_frames_G, epoch, opt.niter_step)
        if wanted != n_frames:
            n_frames = wanted
            dataset = SeededItems(base_dataset if wanted == opt.n_frames_total else create_dataset(opt, wanted),
                                  opt.seed)
            logger.message(f"training on sequences of {n_frames} generated frames")
        dataset.epoch = epoch
        skip = epoch_iter // distributed.world_size  # items this rank already trained on in a resumed epoch
        sampler = ResumableSampler(dataset, distributed.world_size, distributed.rank,
                                   shuffle=not opt.serial_batches, seed=opt.seed, skip=skip)
        sampler.set_epoch(epoch)
        progress.set_description(f"epoch {epoch}/{n_epochs}")
        for data in create_dataloader(opt, dataset, sampler):
            result = trainer.train_item(data)
            step_items = data.label.size(0) * distributed.world_size
            before, total_steps, epoch_iter = total_steps, total_steps + step_items, epoch_iter + step_items
            frames_since_print += result["frames"] * distributed.world_size
            items_since_print += step_items
            if crossed(before, total_steps, print_freq):
                elapsed = time.time() - last_print_time
                losses = {name: float(value) for name, value in result["losses"].items()}
                logger.log_losses(epoch, epoch_iter, total_steps, losses, elapsed / items_since_print,
                                  trainer.learning_rates(), frames_since_print / max(elapsed, 1e-9))
                last_print_time, frames_since_print, items_since_print = time.time(), 0, 0
            if crossed(before, total_steps, display_freq) and is_main:
                logger.log_images(epoch, total_steps, visuals_to_images(opt, result["visuals"]))
            if crossed(before, total_steps, opt.save_latest_freq) and is_main:
                logger.message(f"writing checkpoint 'latest' (epoch {epoch}, {total_steps} sequences so far)")
                trainer.save_networks("latest")
                save_state(trainer, opt, "latest", epoch, epoch_iter, total_steps, n_frames, cpu_seconds())
            progress.update(1)
            steps_done += 1
            out_of_budget = cpu_budget > 0 and cpu_seconds() >= cpu_budget
            if out_of_budget or (max_steps is not None and steps_done >= max_steps):
                if is_main:
                    trainer.save_networks("latest")
                    save_state(trainer, opt, "latest", epoch, epoch_iter, total_steps, n_frames, cpu_seconds())
                    reason = (f"the CPU budget of {opt.cpu_budget_minutes:g} min ({cpu_seconds() / 60:.2f} min "
                              "used)" if out_of_budget else f"{steps_done} steps")
                    logger.message(f"stopped after {reason} (epoch {epoch}, iteration {epoch_iter}); saved 'latest'")
                return finish(progress, logger, distributed)
        logger.message(f"epoch {epoch}/{n_epochs} finished in {time.time() - epoch_start:.0f} s")
        epoch_iter = 0
        if epoch % opt.save_epoch_freq == 0 and is_main:
            logger.message(f"writing checkpoints 'latest' and '{epoch}' after epoch {epoch} "
                           f"({total_steps} sequences so far)")
            for label in ("latest", epoch):
                trainer.save_networks(label)
                save_state(trainer, opt, label, epoch + 1, 0, total_steps, n_frames, cpu_seconds())
    return finish(progress, logger, distributed)


def finish(progress: tqdm, logger: TrainingLogger, distributed: DistributedContext) -> int:
    progress.close()
    logger.close()
    if distributed.enabled:
        dist.barrier()
        dist.destroy_process_group()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return train(TrainOptions().parse_cli(argv, save=False))


if __name__ == "__main__":
    sys.exit(main())
