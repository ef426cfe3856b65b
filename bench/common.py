"""Device, precision, timing and memory helpers shared by the benches (CPU and CUDA).

A bench adds the flags with ``add_device_arguments(parser)``, checks them with ``check_device(device, dtypes)``
(one clear message for a combination this machine cannot run) and, in the measuring process, calls
``configure(device, cudnn_benchmark)``. Then, per timed call:

    with autocast(device, dtype):                         # fp32: no autocast; bf16 / fp16: torch.autocast
        seconds, result = timed(lambda: model(x), device)  # CUDA events after a synchronize, or perf_counter
    peak = peak_memory_gib(device)                       # max_memory_allocated on CUDA, the process's RSS peak on CPU

``channels_last(module)`` converts a network's 4-D weights to the channels-last layout (``--channels_last``), which
convolutions then propagate to their outputs; on CUDA it lets cuDNN pick NHWC kernels (tensor cores under
bf16/fp16), on the CPU oneDNN's blocked kernels.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import resource
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import torch

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
DEVICES = ("cpu", "cuda")
T = TypeVar("T")


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    """--device, --channels_last and --no_cudnn_benchmark, with the same meaning in every bench."""
    parser.add_argument("--device", default="cpu", choices=DEVICES,
                        help="where the networks run (cuda: the first visible GPU)")
    parser.add_argument("--channels_last", action="store_true",
                        help="convert the networks to the channels-last memory layout before timing")
    parser.add_argument("--no_cudnn_benchmark", action="store_true",
                        help="CUDA: leave torch.backends.cudnn.benchmark off (default on: cuDNN picks the fastest "
                             "kernels for each shape during the warm-up)")


def check_device(device: str, dtypes: Iterable[str] = ("fp32",)) -> str | None:
    """The problem with running ``dtypes`` on ``device`` here, as one sentence naming the flag and the fix, or None."""
    unknown = [d for d in dtypes if d not in DTYPES]
    if unknown:
        return f"unknown dtype {', '.join(unknown)}: choose from {', '.join(DTYPES)}"
    if device not in DEVICES:
        return f"--device {device}: choose from {', '.join(DEVICES)}"
    if device == "cuda" and not torch.cuda.is_available():
        return "--device cuda: no CUDA device is visible to this PyTorch build; use --device cpu"
    if device == "cpu" and "fp16" in dtypes:
        return "fp16 autocast needs --device cuda; on the CPU use bf16"
    return None


def dtype_of_flags(flags: Iterable[str]) -> str:
    """The autocast dtype train.py flags select: fp16 (--fp16), bf16 (--bf16) or fp32."""
    flags = list(flags)
    return "fp16" if "--fp16" in flags else "bf16" if "--bf16" in flags else "fp32"


def configure(device: str, cudnn_benchmark: bool = True) -> torch.device:
    """The torch.device to measure on, with cuDNN's kernel search set as asked (CUDA only)."""
    if device == "cuda":
        torch.backends.cudnn.benchmark = cudnn_benchmark
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def autocast(device: torch.device | str, dtype: str) -> contextlib.AbstractContextManager:
    """torch.autocast for bf16/fp16 on ``device``; a no-op context for fp32."""
    if DTYPES[dtype] is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=DTYPES[dtype])


def synchronize(device: torch.device | str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def timed(call: Callable[[], T], device: torch.device | str) -> tuple[float, T]:
    """(seconds, result) of one call: CUDA events around it after a synchronize on CUDA (the GPU's time, not
    the launch's), ``time.perf_counter`` on the CPU."""
    device = torch.device(device)
    if device.type != "cuda":
        start = time.perf_counter()
        result = call()
        return time.perf_counter() - start, result
    torch.cuda.synchronize(device)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    result = call()
    end.record()
    torch.cuda.synchronize(device)
    return start.elapsed_time(end) / 1000, result


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far (never decreases)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB on Linux


def reset_peak_memory(device: torch.device | str) -> None:
    """CUDA: restart ``max_memory_allocated``; the CPU's RSS peak cannot be reset (no-op)."""
    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_gib(device: torch.device | str) -> float:
    """``torch.cuda.max_memory_allocated`` since the last reset on CUDA; the process's peak RSS on the CPU."""
    if torch.device(device).type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return peak_rss_gib()


def memory_kind(device: torch.device | str) -> str:
    """What ``peak_memory_gib`` measures, for tables."""
    return "CUDA max allocated" if torch.device(device).type == "cuda" else "peak RSS"


def channels_last(module: torch.nn.Module) -> torch.nn.Module:
    """The module with its 4-D parameters and buffers in the channels-last layout (in place)."""
    return module.to(memory_format=torch.channels_last)


def device_name(device: torch.device | str) -> str:
    """The GPU's name on CUDA, else 'cpu'."""
    device = torch.device(device)
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what the platform module says."""
    try:
        match = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    except OSError:
        match = None
    return match.group(1).strip() if match else platform.processor()


def cpu_flags() -> list[str]:
    """The vector-unit flags that decide fp32/bf16 speed (avx2, avx512f, avx512_bf16, amx_*), as /proc/cpuinfo
    lists them."""
    try:
        match = re.search(r"^flags\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    except OSError:
        return []
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "fma")
    return [flag for flag in wanted if match and flag in match.group(1).split()]


def machine_line(device: str, threads: int) -> str:
    """One line naming what a bench ran on: CPU model, vector flags, cores, threads, load; the GPU on CUDA."""
    gpu = f"; GPU {torch.cuda.get_device_name()}" if device == "cuda" and torch.cuda.is_available() else ""
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"machine: {cpu_name()} ({', '.join(cpu_flags()) or 'no AVX2'}), {os.cpu_count()} cores, {threads} "
            f"threads, torch {torch.__version__}{gpu}; load average {load}")


def split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """(this script's arguments, extra train.py flags after '--')."""
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1:]
