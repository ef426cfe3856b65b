"""Choosing the one torch.device a process runs on."""
from __future__ import annotations

import argparse
import os

import torch


class DeviceError(RuntimeError):
    """--gpu_ids names GPUs this machine does not have; the message names the flag and the fix."""


def select_device(opt: argparse.Namespace) -> torch.device:
    """The device of this process.

    ``--gpu_ids -1`` (empty list) means CPU. Under torchrun the process uses the GPU of its LOCAL_RANK
    among --gpu_ids. Without CUDA, the default ``--gpu_ids 0`` falls back to the CPU with one notice line;
    GPUs asked for explicitly on a machine without CUDA, or beyond the visible ones, are a `DeviceError`.
    """
    if not opt.gpu_ids:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        if opt.gpu_ids == [0]:
            print("notice: CUDA is not available; running on the CPU (pass --gpu_ids -1 to silence this)")
            return torch.device("cpu")
        raise DeviceError(f"--gpu_ids {','.join(map(str, opt.gpu_ids))} asks for GPUs but CUDA is not available; "
                          "pass --gpu_ids -1 to run on the CPU")
    local_rank = int(os.environ.get("LOCAL_RANK", opt.local_rank))
    gpu = opt.gpu_ids[local_rank % len(opt.gpu_ids)]
    if gpu >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise DeviceError(f"--gpu_ids names GPU {gpu} but only {count} are visible; pass GPU ids below {count}, "
                          "or --gpu_ids -1 for the CPU")
    return torch.device("cuda", gpu)


def cpu_flags() -> set[str]:
    """The CPU's feature flags as /proc/cpuinfo lists them (empty where there is none: not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def native_bf16(device: torch.device) -> tuple[bool, str]:
    """(whether ``device`` computes bfloat16 in hardware, why not): CUDA GPUs from Ampere on; CPUs with AVX-512 BF16
    or AMX. Elsewhere PyTorch emulates bf16, which is slower than float32."""
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return True, ""
        return False, f"{torch.cuda.get_device_name(device)} has no bfloat16 units (Ampere or newer have)"
    flags = cpu_flags()
    if flags & {"avx512_bf16", "amx_bf16"}:
        return True, ""
    have = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "neither AVX2 nor AVX-512"
    return False, f"this CPU has {have} but neither AVX-512 BF16 nor AMX, so bfloat16 would be emulated (slower)"
