"""Measured compute peak of this machine in the current process: fp32 and bf16 matrix products, a 3x3 convolution.

    nice python bench/peak.py [--threads 2] [--quick] [--size 4096] [--repeats 5] [--device cpu|cuda] [--json PATH]

Kernels (FLOPs count 2 per multiply-add, as ``torch.utils.flop_counter`` does):
  matmul_fp32: (n x n) @ (n x n) in float32, n = --size (default 4096; 2048 with --quick): 2 n^3 FLOPs
  matmul_bf16: the same in bfloat16 (fast on CPUs with AVX-512 BF16 / AMX; emulated and slow without: what is
               measured is reported either way, at a smaller n where one call of size n would not fit the time
               budget: the shape reported is the one measured)
  conv3x3_fp32: ``F.conv2d`` 512 -> 512 channels, 3x3, pad 1, on a 1x512x64x128 float32 input (1x512x32x64 with
                --quick), no_grad: 2 * Cin * Cout * 9 * H * W FLOPs
  matmul_fp16: (--device cuda only) the matmul in float16, the tensor cores' other input type
On CUDA (``--device cuda``) the inputs live on the GPU, each call is timed with CUDA events after a synchronize
(bench/common.py ``timed``), the matmul sizes are 8192 (4096 with --quick) so that one call is not dominated by
the launch, the convolution's input is 1x512x256x512 (128x256 with --quick), and the TF32 settings in force
(``torch.backends.cuda.matmul.allow_tf32``, ``cudnn.allow_tf32``) are recorded: with TF32
on, "fp32" kernels run on the tensor cores at reduced precision.
Protocol: ``torch.set_num_threads(threads)``; per kernel one warm-up call, then up to --repeats timed calls
(fewer once a kernel has used ``budget_s`` seconds, at least one). The best call (the peak: the least disturbed
by other processes on a shared machine) and the median are reported in GFLOP/s. The default run takes a few
seconds with 2 threads on a 2-core AVX-512 / AMX CPU (about 10 s where bf16 is emulated: the time budget cuts the
repeats and the size of the bf16 matmul).

Other benches call ``measure_peaks_in_child(threads)`` (a fresh process with that thread count) before and after
their configurations, keep ``best_of(before, after)`` (this VM's speed was seen to drift by 30 % between
minutes: 120-175 GFLOP/s fp32 matmul), then ``fractions(achieved_gflops, peaks, dtype=...)``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import DEVICES, check_device, timed  # noqa: E402

KERNELS = ("matmul_fp32", "matmul_bf16", "conv3x3_fp32")
CUDA_KERNELS = ("matmul_fp16",)  # measured in addition on --device cuda
CONV_CHANNELS = 512


def kernels_of(peaks: dict) -> list[str]:
    """The kernels a peak measurement holds, in table order."""
    return [k for k in (*KERNELS, *CUDA_KERNELS) if k in peaks]


def time_calls(call: Callable[[], object], repeats: int, budget_s: float, device: str = "cpu") -> list[float]:
    """Seconds of each timed call after one warm-up call; stops early once the calls used ``budget_s``."""
    timed(call, device)
    times: list[float] = []
    while len(times) < max(1, repeats):
        times.append(timed(call, device)[0])
        if sum(times) >= budget_s:
            break
    return times


def summarize(flops: int, shape: str, times: list[float]) -> dict:
    return {"gflops": flops / min(times) / 1e9, "median_gflops": flops / statistics.median(times) / 1e9,
            "flops": flops, "shape": shape, "best_s": min(times), "times_s": times}


PROBE_SIZE = 256  # the matmul timed first, to size the measured one


def fitting_size(n: int, dtype: torch.dtype, budget_s: float, device: str = "cpu") -> int:
    """``n``, or a smaller power-of-two fraction of it when one call of (n x n) @ (n x n) in ``dtype`` would take
    more than a fifth of ``budget_s`` (estimated from a PROBE_SIZE call): an emulated bf16 matmul of 2048 took 65 s
    per call on an AVX2 CPU, and the warm-up plus one timed call cannot be cut short."""
    if n <= PROBE_SIZE:
        return n
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(PROBE_SIZE, PROBE_SIZE, generator=generator).to(device, dtype)
    seconds = min(timed(lambda: torch.mm(a, a), device)[0] for _ in range(2))
    while n > PROBE_SIZE and seconds * (n / PROBE_SIZE) ** 3 > budget_s / 5:
        n //= 2
    return n


def measure_matmul(n: int, dtype: torch.dtype, repeats: int, budget_s: float, device: str = "cpu") -> dict:
    """The matmul peak at size ``n`` (smaller where one call would not fit the budget: `fitting_size`)."""
    n = fitting_size(n, dtype, budget_s, device)
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator).to(device, dtype)
    b = torch.randn(n, n, generator=generator).to(device, dtype)
    out = torch.empty(n, n, dtype=dtype, device=device)
    times = time_calls(lambda: torch.mm(a, b, out=out), repeats, budget_s, device)
    return summarize(2 * n**3, f"{n}x{n} @ {n}x{n}", times)


def measure_conv3x3(height: int, width: int, repeats: int, budget_s: float, device: str = "cpu") -> dict:
    generator = torch.Generator().manual_seed(0)
    channels = CONV_CHANNELS
    x = torch.randn(1, channels, height, width, generator=generator).to(device)
    weight = (torch.randn(channels, channels, 3, 3, generator=generator) * 0.01).to(device)
    with torch.no_grad():
        times = time_calls(lambda: F.conv2d(x, weight, padding=1), repeats, budget_s, device)
    flops = 2 * channels * channels * 9 * height * width
    return summarize(flops, f"1x{channels}x{height}x{width}, {channels}->{channels} 3x3 pad 1", times)


def measure_peaks(threads: int, quick: bool = False, size: int | None = None, repeats: int = 5,
                  budget_s: float = 6.0, device: str = "cpu") -> dict:
    """Peaks of this process with ``threads`` threads on ``device``: {kernel: {gflops (best), median_gflops, flops,
    shape, best_s, times_s}} for each of KERNELS (and CUDA_KERNELS on CUDA), plus threads, quick, device, torch,
    load_average and seconds (whole run); on CUDA also gpu and the TF32 flags."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    torch.set_num_threads(threads)
    cuda = device == "cuda"
    n = size or ((4096 if quick else 8192) if cuda else (2048 if quick else 4096))
    height, width = ((128, 256) if quick else (256, 512)) if cuda else ((32, 64) if quick else (64, 128))
    start = time.perf_counter()
    result: dict = {"threads": threads, "quick": quick, "device": device, "torch": torch.__version__,
                    "load_average": os.getloadavg()[0]}
    if cuda:
        result.update(gpu=torch.cuda.get_device_name(), tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
                      tf32_cudnn=torch.backends.cudnn.allow_tf32)
    result["matmul_fp32"] = measure_matmul(n, torch.float32, repeats, budget_s, device)
    result["matmul_bf16"] = measure_matmul(n, torch.bfloat16, repeats, budget_s, device)
    if cuda:
        result["matmul_fp16"] = measure_matmul(n, torch.float16, repeats, budget_s, device)
    result["conv3x3_fp32"] = measure_conv3x3(height, width, repeats, budget_s, device)
    result["seconds"] = time.perf_counter() - start
    return result


def measure_peaks_in_child(threads: int, quick: bool = False, device: str = "cpu") -> dict:
    """``measure_peaks`` in a fresh Python process with ``threads`` threads (OMP_NUM_THREADS set too)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--threads", str(threads), "--json", "-",
               "--device", device]
    command += ["--quick"] if quick else []
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"peak measurement failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best_of(*runs: dict | None) -> dict | None:
    """Per kernel the best of several peak measurements of one bench run (before and after its configurations:
    on a shared VM the machine's speed drifts over minutes), with ``runs`` keeping each measurement's GFLOP/s."""
    runs = tuple(r for r in runs if r)
    if not runs:
        return None
    best = dict(runs[0])
    for kernel in kernels_of(runs[0]):
        best[kernel] = max((r[kernel] for r in runs if kernel in r), key=lambda row: row["gflops"])
    best["runs"] = [{k: r[k]["gflops"] for k in kernels_of(r)} for r in runs]
    return best


def fraction(achieved_gflops: float, peak_gflops: float | None) -> float:
    """achieved / peak; NaN when the peak is unknown or not positive."""
    if peak_gflops is None or not peak_gflops > 0:
        return math.nan
    return achieved_gflops / peak_gflops


def fractions(achieved_gflops: float, peaks: dict | None, dtype: str = "fp32") -> dict[str, float]:
    """Fraction of each measured peak: matmul_fp32 and conv3x3_fp32, plus the matmul peak of the autocast dtype
    (``dtype`` 'bf16' / 'fp16'); {} without peaks."""
    if not peaks:
        return {}
    kernels = ["matmul_fp32", "conv3x3_fp32"] + ([f"matmul_{dtype}"] if dtype != "fp32" else [])
    return {kernel: fraction(achieved_gflops, peaks.get(kernel, {}).get("gflops")) for kernel in kernels}


def format_percent(value: float | None) -> str:
    """A fraction as a percentage for tables; '-' when unknown."""
    return "-" if value is None or math.isnan(value) else f"{100 * value:.1f}%"


def summary_line(peaks: dict) -> str:
    """One line: 'peaks (2 threads): matmul_fp32 123.4 GFLOP/s, ...'."""
    parts = ", ".join(f"{k} {peaks[k]['gflops']:.1f} GFLOP/s" for k in kernels_of(peaks))
    where = peaks.get("gpu") or f"{peaks['threads']} threads"
    spread = ""
    if len(peaks.get("runs", [])) > 1:
        spread = "; best of " + " and ".join(
            "(" + ", ".join(f"{v:.0f}" for v in run.values()) + ")" for run in peaks["runs"])
    return f"measured peaks ({where}{', quick' if peaks.get('quick') else ''}): {parts}{spread}"


def format_table(peaks: dict) -> str:
    lines = [f"{'kernel':14s} {'shape':42s} {'best GFLOP/s':>13s} {'median GFLOP/s':>15s} {'best s':>8s} calls"]
    for kernel in kernels_of(peaks):
        row = peaks[kernel]
        lines.append(f"{kernel:14s} {row['shape']:42s} {row['gflops']:13.1f} {row['median_gflops']:15.1f} "
                     f"{row['best_s']:8.3f} {len(row['times_s'])}")
    if peaks.get("gpu"):
        lines.append(f"{peaks['gpu']}, TF32 matmul {peaks['tf32_matmul']}, TF32 cuDNN {peaks['tf32_cudnn']}")
    lines.append(f"threads {peaks['threads']}, torch {peaks['torch']}, load average {peaks['load_average']:.2f}, "
                 f"{peaks['seconds']:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="smaller problems (matmul 2048, conv 32x64)")
    parser.add_argument("--size", type=int, default=0, help="matmul n (default 4096, or 2048 with --quick)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per kernel after one warm-up")
    parser.add_argument("--device", default="cpu", choices=DEVICES)
    parser.add_argument("--json", default="", help="write the result as JSON to PATH ('-': last line of stdout)")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.repeats < 1 or args.size < 0:
        parser.error("--threads and --repeats must be >= 1, --size >= 0")
    problem = check_device(args.device)
    if problem:
        parser.error(problem)
    peaks = measure_peaks(args.threads, quick=args.quick, size=args.size or None, repeats=args.repeats,
                          device=args.device)
    print(format_table(peaks), flush=True)
    if args.json == "-":
        print(json.dumps(peaks))
    elif args.json:
        Path(args.json).write_text(json.dumps(peaks, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
