"""Data-loader throughput per --nThreads against the frames a training step consumes.

    nice python bench/loader.py [--dataroot datasets/Cityscapes/] [--nThreads 0,1,2] [--items 12] [--steps 3]
                                [--loop_items 4] [--epoch 1] [--threads 2] [--device cpu|cuda] [--no_peak]
                                [--peak_quick] [--json PATH] [-- train.py flags]

Flags: the Makefile's demo model (DEMO_FLAGS: ``--label_nc 35 --loadSize 256 --use_instance --fg
--n_downsample_G 2 --ngf 32 --n_blocks 4 --num_D 1 --ndf 32 --no_vgg --flow_net dis --max_frames_per_gpu 3
--n_frames_total 6 --gpu_ids -1``); train.py flags after ``--`` are appended (they win; --nThreads is set by this
bench). --dataroot defaults to the sample dataset of ``scripts/make_sample_dataset.py``; when it holds no
train_A folder, that dataset is written to a temporary folder (default settings) and removed afterwards.

Protocol, one process with ``torch.set_num_threads(--threads)`` and ``keep_freed_memory()``, built as train.py
builds it: ``TrainOptions().parse_cli(argv, save=False)``, ``create_dataset(opt)`` (the clip length of epoch
--epoch, ``create_dataset(opt, n)`` where the schedule lengthens it), then the trainer (loader workers fork a
process that holds it, as in train.py). Per --nThreads value:
  loader: one epoch of train.py's loader with nothing else to do: ``SeededItems(dataset, seed)`` with its epoch
      set, ``ResumableSampler`` (1 process, shuffled unless --serial_batches) with ``set_epoch``, and
      ``create_dataloader(opt, dataset, sampler)``. "start-up s": time to the first batch of the fresh iterator
      (forking the workers, then one item). The first wave, one batch per worker, loads in parallel during the
      start-up, so "loader frames/s" is timed from the arrival of batch max(1, nThreads) over the --items batches
      that follow. A dataset with fewer items than that (the sample dataset has 3 per epoch) is read as an epoch
      of repeats: item i is item i mod n, each with its own SeededItems seed, so the clips differ.
  loop (--loop_items N > 0): train.py's loop on the real epochs (no repeats, each ended after --max_dataset_size
      items as train.py ends it), a fresh loader each epoch with ``Trainer.train_item`` on each batch, for N
      batches, worker start-ups included: workers and the step share the cores, as in training.
The step, once (nThreads changes only the loader): ``Trainer(opt, cpu).train_item(batch)`` on one fixed batch
(the first of epoch --epoch), one warm-up step then --steps timed steps; "step frames/s" = frames / median s.
Frames are generated frames, batch x (T - n_frames_G + 1) per item (6 of the 8 frames read with the defaults),
the unit of train.py's frames/s. "loader/step" = loader frames/s / step frames/s: > 1 means the loader alone
delivers faster than a step consumes; the loop column shows what happens when they run together.
Utilisation: before anything else the machine's peak is measured in a fresh process (``bench/peak.py``, same
--threads and --device; ``--no_peak`` skips it); the warm-up step runs under ``torch.utils.flop_counter`` and the
step's FLOPs per step / per frame and the achieved fraction of the fp32 matmul and 3x3 conv peaks (and of the
bf16 / fp16 matmul peak with those flags) are printed. ``--device cuda``
trains on the first GPU (``--gpu_ids 0``; the loader stays on the CPU, as in train.py), steps timed with CUDA
events after a synchronize.
With the defaults the run takes about 1-3 minutes on a 2-core CPU.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
from bench import common  # noqa: E402
from bench.peak import format_percent, fractions, measure_peaks_in_child, summary_line  # noqa: E402

DEMO_FLAGS = ["--label_nc", "35", "--loadSize", "256", "--use_instance", "--fg", "--n_downsample_G", "2",
              "--ngf", "32", "--n_blocks", "4", "--num_D", "1", "--ndf", "32", "--no_vgg", "--flow_net", "dis",
              "--max_frames_per_gpu", "3", "--n_frames_total", "6", "--gpu_ids", "-1"]
DEFAULT_DATAROOT = REPO_ROOT / "datasets" / "Cityscapes"


def parse_options(dataroot: str, checkpoints_dir: str, extra: list[str]) -> argparse.Namespace:
    """train.py's options for the demo flags + ``extra`` (the options listing it prints is dropped)."""
    from options import TrainOptions

    argv = ["--name", "loader_bench", "--dataroot", dataroot, "--checkpoints_dir", checkpoints_dir,
            *DEMO_FLAGS, *extra]
    with contextlib.redirect_stdout(io.StringIO()):
        return TrainOptions().parse_cli(argv, save=False)


def with_workers(opt: argparse.Namespace, n_threads: int) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(opt), "nThreads": n_threads})


def generated_frames(opt: argparse.Namespace, batch) -> int:
    """Frames a training step generates from ``batch``: B x (T - n_frames_G + 1)."""
    return batch.label.size(0) * (batch.label.size(1) - opt.n_frames_G + 1)


class RepeatedItems(torch.utils.data.Dataset):
    """Item i is item i mod len(dataset): a longer epoch of a small dataset."""

    def __init__(self, dataset: torch.utils.data.Dataset, length: int) -> None:
        self.dataset, self.length = dataset, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        return self.dataset[index % len(self.dataset)]


def epoch_loader(opt: argparse.Namespace, dataset, epoch: int, limit: int | None = None) -> torch.utils.data.DataLoader:
    """The loader of one epoch, as train.py makes it (one process: world size 1, rank 0, nothing skipped), ending
    after ``limit`` items (train.py's ``epoch_items``; None for the whole dataset, e.g. an epoch of repeats)."""
    from data import create_dataloader
    from data.order import ResumableSampler

    dataset.epoch = epoch
    sampler = ResumableSampler(dataset, 1, 0, shuffle=not opt.serial_batches, seed=opt.seed, limit=limit)
    sampler.set_epoch(epoch)
    return create_dataloader(opt, dataset, sampler)


def time_loader(opt: argparse.Namespace, dataset, items: int, epoch: int) -> dict:
    """Loader alone, one epoch: start-up (first batch), then ``items`` batches after the first wave (one batch
    per worker)."""
    skip = max(1, opt.nThreads)
    start = time.perf_counter()
    arrivals, frames = [], []
    for batch in epoch_loader(opt, dataset, epoch):
        arrivals.append(time.perf_counter() - start)
        frames.append(generated_frames(opt, batch))
        if len(arrivals) >= skip + items:
            break
    if len(arrivals) < skip + items:
        raise ValueError(f"the epoch has {len(arrivals)} batches, fewer than the {skip + items} to read")
    seconds = arrivals[-1] - arrivals[skip - 1]
    timed = frames[skip:]
    return {"nThreads": opt.nThreads, "startup_s": arrivals[0], "first_wave_s": arrivals[skip - 1],
            "items_timed": len(timed), "seconds_timed": seconds, "loader_frames_per_s": sum(timed) / seconds,
            "loader_items_per_s": len(timed) / seconds}


def time_steps(trainer, batch, steps: int, peaks: dict | None = None, dtype: str = "fp32") -> dict:
    """One warm-up ``train_item`` (its FLOPs counted) then ``steps`` timed ones on the same batch."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    times = []
    for step in range(steps + 1):
        with counter if step == 0 else contextlib.nullcontext():
            seconds, result = common.timed(lambda: trainer.train_item(batch), trainer.device)
        times.append(seconds)
    median = statistics.median(times[1:])
    flops = counter.get_total_flops()
    achieved = flops / median / 1e9
    return {"warmup_s": times[0], "runs_s": times[1:], "median_s": median, "frames_per_step": result.frames,
            "step_frames_per_s": result.frames / median, "flops_per_step": flops,
            "flops_per_frame": flops / max(result.frames, 1), "achieved_gflops": achieved,
            "peak_fractions": fractions(achieved, peaks, dtype=dtype)}


def time_loop(opt: argparse.Namespace, trainer, dataset, items: int, first_epoch: int) -> dict:
    """train.py's loop (loader + train_item) for ``items`` items, worker start-ups included."""
    from data.order import epoch_items

    done, frames, epoch = 0, 0, first_epoch
    limit = epoch_items(len(dataset), opt.max_dataset_size)
    start = time.perf_counter()
    while done < items:
        for batch in epoch_loader(opt, dataset, epoch, limit):
            frames += trainer.train_item(batch).frames
            done += 1
            if done >= items:
                break
        epoch += 1
    seconds = time.perf_counter() - start
    return {"loop_items": done, "loop_s": seconds, "loop_frames_per_s": frames / seconds}


def format_table(rows: list[dict], step: dict) -> str:
    loop = any("loop_frames_per_s" in row for row in rows)
    header = (f"{'nThreads':>8s} {'start-up s':>10s} {'loader frames/s':>15s} {'step frames/s':>13s} "
              f"{'loader/step':>11s}" + (f" {'loop frames/s':>13s}" if loop else ""))
    lines = [header]
    for row in rows:
        line = (f"{row['nThreads']:8d} {row['startup_s']:10.3f} {row['loader_frames_per_s']:15.1f} "
                f"{step['step_frames_per_s']:13.2f} {row['ratio']:11.1f}")
        lines.append(line + (f" {row['loop_frames_per_s']:13.2f}" if "loop_frames_per_s" in row else ""))
    return "\n".join(lines)


def parse_list(text: str) -> list[int]:
    values = [int(x) for x in text.split(",") if x.strip()]
    if not values or min(values) < 0:
        raise ValueError(text)
    return values


def run(args: argparse.Namespace, extra: list[str], dataroot: str, peaks: dict | None = None) -> dict:
    from data import create_dataset
    from data.order import SeededItems
    from models.schedule import sequence_length
    from models.trainer import Trainer

    with tempfile.TemporaryDirectory(prefix="bench_loader_ckpt_") as checkpoints_dir:
        gpu = ["--gpu_ids", "0"] if args.device == "cuda" else []
        opt = parse_options(dataroot, checkpoints_dir, gpu + extra)
        base = create_dataset(opt)
        n_frames = sequence_length(opt.n_frames_total, base.seq_len_max, opt.n_frames_G, args.epoch, opt.niter_step)
        epoch_data = base if n_frames == opt.n_frames_total else create_dataset(opt, n_frames)
        dataset = SeededItems(epoch_data, opt.seed)  # train.py's
        wanted = (max(1, max(args.nThreads)) + args.items) * opt.batchSize
        long_dataset = SeededItems(RepeatedItems(epoch_data, max(wanted, len(epoch_data))), opt.seed)
        trainer = Trainer(opt, common.configure(args.device, not args.no_cudnn_benchmark))
        if args.channels_last:
            for network in trainer.networks().values():
                common.channels_last(network)
        trainer.set_epoch(args.epoch)
        rows = []
        for n_threads in args.nThreads:
            row = time_loader(with_workers(opt, n_threads), long_dataset, args.items, args.epoch)
            print(f"nThreads {n_threads}: {row['loader_frames_per_s']:.1f} frames/s over {row['items_timed']} "
                  f"batches, start-up {row['startup_s']:.3f} s", flush=True)
            rows.append(row)
        batch = next(iter(epoch_loader(with_workers(opt, 0), dataset, args.epoch)))
        step = time_steps(trainer, batch, args.steps, peaks, common.dtype_of_flags(extra))
        shares = ", ".join(f"{format_percent(v)} of {k} peak" for k, v in step["peak_fractions"].items())
        print(f"step: {step['median_s']:.3g} s for {step['frames_per_step']} frames (runs "
              f"{', '.join(f'{t:.3g}' for t in step['runs_s'])}; warm-up {step['warmup_s']:.3g}); "
              f"{step['flops_per_step'] / 1e9:.1f} GFLOPs/step ({step['flops_per_frame'] / 1e9:.1f}/frame), "
              f"{step['achieved_gflops']:.1f} GFLOP/s" + (f" = {shares}" if shares else ""), flush=True)
        for row in rows:
            row["ratio"] = row["loader_frames_per_s"] / step["step_frames_per_s"]
            if args.loop_items > 0:
                row.update(time_loop(with_workers(opt, row["nThreads"]), trainer, dataset, args.loop_items,
                                     args.epoch))
                print(f"loop nThreads {row['nThreads']}: {row['loop_frames_per_s']:.2f} frames/s", flush=True)
    frames_read = batch.label.size(1)
    return {"flags": DEMO_FLAGS + extra, "dataroot": dataroot, "threads": args.threads, "epoch": args.epoch,
            "frames_read_per_item": frames_read, "frames_per_item": generated_frames(opt, batch),
            "load_average": os.getloadavg(), "step": step, "rows": rows}


def main() -> int:
    own, extra = common.split_argv(sys.argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataroot", default=str(DEFAULT_DATAROOT),
                        help="dataset (default: the sample dataset; written to a temp folder when absent)")
    parser.add_argument("--nThreads", default="0,1,2", help="comma-separated DataLoader worker counts")
    parser.add_argument("--items", type=int, default=12, help="timed loader batches per nThreads value")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps after one warm-up")
    parser.add_argument("--loop_items", type=int, default=4,
                        help="items of train.py's loader + step loop per nThreads value (0: skip)")
    parser.add_argument("--epoch", type=int, default=1, help="epoch whose clip length and item seeds are used")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the main process")
    common.add_device_arguments(parser)
    parser.add_argument("--no_peak", action="store_true", help="skip the peak measurement (no utilisation)")
    parser.add_argument("--peak_quick", action="store_true", help="measure the peaks on bench/peak.py's --quick sizes")
    parser.add_argument("--json", default="", help="also write the result as JSON to PATH")
    args = parser.parse_args(own)
    problem = common.check_device(args.device, [common.dtype_of_flags(extra)])
    if problem:
        parser.error(problem)
    try:
        args.nThreads = parse_list(args.nThreads)
    except ValueError:
        parser.error(f"--nThreads {args.nThreads}: give comma-separated worker counts >= 0, e.g. 0,1,2")
    if args.items < 1 or args.steps < 1 or args.loop_items < 0 or args.epoch < 1 or args.threads < 1:
        parser.error("--items, --steps, --epoch and --threads must be >= 1, --loop_items >= 0")
    print(common.machine_line(args.device, args.threads), flush=True)
    peaks = None if args.no_peak else measure_peaks_in_child(args.threads, quick=args.peak_quick, device=args.device)
    if peaks:
        print(summary_line(peaks), flush=True)
    torch.set_num_threads(args.threads)
    from data import DataError
    from util.allocator import keep_freed_memory

    keep_freed_memory()  # as train.py does
    with contextlib.ExitStack() as stack:
        dataroot = args.dataroot
        if not (Path(dataroot) / "train_A").is_dir():
            from data.sample_video import make_sample_dataset

            dataroot = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_loader_data_"))
            print(f"no train_A in {args.dataroot}: writing the sample dataset to {dataroot}", flush=True)
            make_sample_dataset(dataroot, overwrite=True)
        try:
            result = run(args, extra, dataroot, peaks)
        except (DataError, ValueError, FileNotFoundError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print(f"{result['frames_per_item']} generated frames per item ({result['frames_read_per_item']} read), "
          f"{args.threads} threads, epoch {args.epoch}, flags: {' '.join(result['flags'])}")
    print(format_table(result["rows"], result["step"]))
    if args.json:
        Path(args.json).write_text(json.dumps(dict(result, peaks=peaks), indent=1) + "\n")
        print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
