"""Seconds per training step, peak memory, FLOPs and achieved fraction of the measured peak of the label2city_256_g1
recipe at 256x128, 6 frames.

    nice python bench/train_step.py [--configs fp32,bf16] [--steps 2] [--threads 2]
                                    [--device cpu|cuda] [--channels_last] [--no_cudnn_benchmark]
                                    [--no_peak] [--peak_quick] [--json PATH] [-- extra train.py flags]

Flags of the reference measurement (tests/data/reference/timing.txt, 73.5 s and 13.1 GB peak RSS):
``--label_nc 35 --loadSize 256 --use_instance --fg --n_downsample_G 2 --num_D 1 --max_frames_per_gpu 6
--n_frames_total 6`` (ngf 128, n_blocks 9), one data item of 8 frames = one chunk of 6 generated frames.
The reference ran VGG19 and FlowNet2 with random weights; so does this benchmark by default (their cost does
not depend on the weights; neither weight file exists here), handed to the Trainer as its ``vgg`` and ``flow``.
``--no_reference_nets`` measures without both (the DIS flow of ``--flow_net dis``, no VGG loss); ``-- --no_vgg``
without the VGG loss alone.

Each configuration runs in a fresh subprocess: one warm-up step, then ``--steps`` timed steps (median
reported, and the fastest, the better estimate on a shared machine) on the same synthetic clip. Peak memory is
the subprocess's peak RSS (``ru_maxrss``), as measured for the reference, and its growth over the RSS before
the first step (Adam states are allocated in the warm-up step, so they are in the growth); on CUDA
``torch.cuda.max_memory_allocated`` over the whole run, warm-up included (the Adam states).
``--device cuda``: the trainer on the first GPU (``--gpu_ids 0``), steps timed with CUDA events after a
synchronize, cuDNN's kernel search on unless ``--no_cudnn_benchmark``; configurations ``fp16`` / ``fp16_ckpt``
(``--fp16``: autocast with gradient scaling) run there only. ``--channels_last`` converts every network to the
channels-last layout after it is built. Throughput = generated frames per second of step time.
Speed against NVIDIA's code with the same settings: bench/compare_reference.py --configs label2city_256_g1.
Like train.py, the child keeps freed memory in the process (``util.allocator.keep_freed_memory``);
``--default_allocator`` measures without. Flags after ``--`` are appended to every configuration's flags (they
win), e.g. a smoke run ``-- --loadSize 64 --ngf 16 --n_blocks 2``.

FLOPs: one step runs under ``torch.utils.flop_counter.FlopCounterMode`` (forward and backward of every network,
flow estimator included; convolutions and matmuls, 2 FLOPs per multiply-add; elementwise ops, norms, grid_sample,
the optimizer updates and OpenCV's DIS flow are not counted): the warm-up step, whose time (the first of "runs") is
not in the median; with --grad_checkpoint_G one extra untimed step after the memory reading instead, because the
counter keeps the checkpointed activations alive (it doubled that configuration's peak). Recomputed forwards count
as work. Reported: GFLOPs per step and per generated frame, achieved GFLOP/s = FLOPs per step / median s per step,
and its fraction of the peaks that ``bench/peak.py`` measures before and after the configurations (best of the
two) in a fresh process with the same --threads (fp32 matmul, 3x3 conv, and the bf16 / fp16 matmul for those
configurations; ``--no_peak`` skips it, ``--peak_quick`` uses its smaller problems).
``--json PATH`` writes the rows and the peaks.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
from bench import common  # noqa: E402
from bench.peak import best_of, format_percent, fractions, measure_peaks_in_child, summary_line  # noqa: E402

RECIPE = ["--name", "label2city_256_g1", "--label_nc", "35", "--loadSize", "256", "--use_instance", "--fg",
          "--n_downsample_G", "2", "--num_D", "1", "--max_frames_per_gpu", "6", "--n_frames_total", "6",
          "--gpu_ids", "-1", "--nThreads", "0", "--flow_net", "dis"]
CONFIGS = {
    "fp32": [],
    "bf16": ["--bf16"],
    "fp32_ckpt": ["--grad_checkpoint_G"],
    "bf16_ckpt": ["--bf16", "--grad_checkpoint_G"],
    "fp32_chunk3": ["--max_frames_per_gpu", "3"],
    "fp16": ["--fp16"],  # CUDA only
    "fp16_ckpt": ["--fp16", "--grad_checkpoint_G"],  # CUDA only
}


def dtype_of(config: str, extra: list[str]) -> str:
    """The autocast dtype a configuration trains with: fp32, bf16 or fp16."""
    return common.dtype_of_flags(CONFIGS[config] + extra)


def child(config: str, steps: int, threads: int, dataroot: str, reference_nets: bool,
          default_allocator: bool, extra: list[str], device_name: str = "cpu", channels_last: bool = False,
          cudnn_benchmark: bool = True, count_flops: str | None = None) -> dict:
    torch.set_num_threads(threads)
    if not default_allocator:
        from util.allocator import keep_freed_memory

        keep_freed_memory()  # as train.py does
    from torch.utils.flop_counter import FlopCounterMode

    from data import create_dataloader, create_dataset
    from models.trainer import Trainer
    from options import TrainOptions

    device = common.configure(device_name, cudnn_benchmark)
    gpu_ids = ["--gpu_ids", "0"] if device.type == "cuda" else []
    flow, vgg, no_vgg = None, None, ["--no_vgg"]
    if reference_nets:  # the reference's cost: VGG19 and FlowNet2 with random weights, handed to the Trainer
        import torchvision

        from models.flow import FlowNet2Estimator
        from models.flownet2 import FlowNet2
        from models.networks.vgg import VGGLoss

        weights = Path(tempfile.mkdtemp()) / "vgg19_random.pth"
        torch.save(torchvision.models.vgg19(weights=None).state_dict(), weights)
        flow, vgg, no_vgg = FlowNet2Estimator(FlowNet2()).to(device), VGGLoss(str(weights)), []
    opt = TrainOptions().parse(RECIPE + no_vgg + ["--dataroot", dataroot, "--checkpoints_dir", tempfile.mkdtemp()]
                               + gpu_ids + CONFIGS[config] + extra, save=False, verbose=False)
    trainer = Trainer(opt, device, flow=flow, vgg=vgg)
    if channels_last:
        for network in [trainer.model_g, trainer.model_d, trainer.flow]:
            if isinstance(network, torch.nn.Module):
                common.channels_last(network)
    trainer.set_epoch(1)
    torch.manual_seed(0)
    data = next(iter(create_dataloader(opt, create_dataset(opt))))
    rss_before = common.peak_rss_gib()
    common.reset_peak_memory(device)
    times = []
    counter = FlopCounterMode(display=False)
    if count_flops is None:  # FlopCounterMode keeps checkpointed activations alive: count after the memory reading
        count_flops = "after" if opt.grad_checkpoint_G else "warmup"
    for step in range(steps + 1):
        with counter if step == 0 and count_flops == "warmup" else contextlib.nullcontext():
            seconds, result = common.timed(lambda: trainer.train_item(data), device)
        times.append(seconds)
    peak_gib, peak_rss = common.peak_memory_gib(device), common.peak_rss_gib()
    if count_flops == "after":  # one more, untimed step under the counter
        with counter:
            trainer.train_item(data)
    finite = all(bool(torch.isfinite(v)) for v in result.losses.values())
    flops = counter.get_total_flops()
    median = statistics.median(times[1:])
    return {"config": config, "device": device_name, "gpu": common.device_name(device),
            "channels_last": channels_last, "seconds_per_step": median, "min_seconds": min(times[1:]),
            "frames_per_second": result.frames / median,
            "runs": times, "flops_per_step": flops, "flops_per_frame": flops / max(result.frames, 1),
            "peak_gib": peak_gib, "memory": common.memory_kind(device), "flops_counted": count_flops,
            "peak_rss_gib": peak_rss, "rss_before_gib": rss_before,
            "growth_gib": peak_rss - rss_before, "losses_finite": finite, "frames": result.frames}


def add_achieved(row: dict, peaks: dict | None, dtype: str) -> None:
    """Adds achieved_gflops (FLOPs / median s), achieved_gflops_best (/ fastest step) and peak_fractions."""
    row["achieved_gflops"] = row["flops_per_step"] / row["seconds_per_step"] / 1e9
    row["achieved_gflops_best"] = row["flops_per_step"] / row["min_seconds"] / 1e9
    row["peak_fractions"] = fractions(row["achieved_gflops"], peaks, dtype=dtype)


def format_row(row: dict) -> str:
    shares = ", ".join(f"{format_percent(v)} of {k} peak" for k, v in row["peak_fractions"].items())
    runs = ", ".join(f"{t:.3g}" for t in row["runs"])
    growth = (f" (+{row['growth_gib']:.2f} over {row['rss_before_gib']:.2f})" if row["memory"] == "peak RSS"
              else "")
    return (f"{row['config']:12s} {row['seconds_per_step']:7.3g} s/step (runs {runs}), "
            f"{row['frames_per_second']:.3g} frames/s"
            f"  {row['memory']} {row['peak_gib']:5.2f} GiB{growth}"
            f"  losses finite: {row['losses_finite']}"
            f"  {row['flops_per_step'] / 1e9:.1f} GFLOPs/step, {row['flops_per_frame'] / 1e9:.1f} GFLOPs/frame"
            f" ({row['frames']} frames), {row['achieved_gflops']:.1f} GFLOP/s" + (f" = {shares}" if shares else ""))


def main() -> int:
    own, extra = common.split_argv(sys.argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="fp32,bf16",
                        help=f"comma list of {', '.join(CONFIGS)} (the defaults take about 6 min on 2 CPU cores; "
                             "fp32_ckpt,bf16_ckpt --steps 1 another 6)")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dataroot", default="", help="sample dataset (default: generated in a temp folder)")
    parser.add_argument("--no_reference_nets", action="store_true",
                        help="skip VGG19 and FlowNet2 (random weights) that the reference timing includes")
    parser.add_argument("--default_allocator", action="store_true",
                        help="do not apply keep_freed_memory() as train.py does (glibc returns freed memory to the OS)")
    common.add_device_arguments(parser)
    parser.add_argument("--no_peak", action="store_true", help="skip the peak measurement (no fractions of peak)")
    parser.add_argument("--peak_quick", action="store_true", help="measure the peaks on bench/peak.py's --quick sizes")
    parser.add_argument("--json", default="", help="also write the rows and the peaks as JSON to PATH")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(own)
    if args.child:
        print(json.dumps(child(args.child, args.steps, args.threads, args.dataroot, not args.no_reference_nets,
                               args.default_allocator, extra, args.device, args.channels_last,
                               not args.no_cudnn_benchmark)))
        return 0
    configs = args.configs.split(",")
    unknown = [config for config in configs if config not in CONFIGS]
    if unknown:
        parser.error(f"unknown config {', '.join(unknown)}; choose from {', '.join(CONFIGS)}")
    problem = common.check_device(args.device, sorted({dtype_of(config, extra) for config in configs}))
    if problem:
        parser.error(f"--configs {args.configs}: {problem}")
    dataroot = args.dataroot
    if not dataroot:
        from data.sample_video import make_sample_dataset

        dataroot = tempfile.mkdtemp(prefix="bench_train_")
        make_sample_dataset(dataroot, width=256, height=128, n_train_seqs=1, n_test_seqs=1, n_frames=8,
                            overwrite=True)
    machine = common.machine_line(args.device, args.threads)
    print(machine, flush=True)
    peaks = None if args.no_peak else measure_peaks_in_child(args.threads, quick=args.peak_quick, device=args.device)
    if peaks:
        print(summary_line(peaks), flush=True)
    rows, failed = [], []
    for config in configs:
        command = [sys.executable, __file__, "--child", config, "--steps", str(args.steps), "--threads",
                   str(args.threads), "--dataroot", dataroot]
        command += ["--no_reference_nets"] if args.no_reference_nets else []
        command += ["--default_allocator"] if args.default_allocator else []
        command += ["--device", args.device] + (["--channels_last"] if args.channels_last else [])
        command += ["--no_cudnn_benchmark"] if args.no_cudnn_benchmark else []
        command += ["--", *extra] if extra else []
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{config}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            failed.append(config)
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        add_achieved(row, peaks, dtype_of(config, extra))
        rows.append(row)
        print(format_row(row), flush=True)
    if peaks and rows:  # the machine's speed drifts: the best of the peaks measured before and after
        peaks = best_of(peaks, measure_peaks_in_child(args.threads, quick=args.peak_quick, device=args.device))
        print(summary_line(peaks), flush=True)
        for row in rows:
            add_achieved(row, peaks, dtype_of(row["config"], extra))
            print(format_row(row), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "rows": rows, "peaks": peaks,
                                               "extra_flags": extra, "failed": failed}, indent=1) + "\n")
        print(f"written to {args.json}")
    if failed:
        print(f"failed configurations: {', '.join(failed)} (their errors are above)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
