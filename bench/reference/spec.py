"""What one comparison run is: the configurations, both sides' model flags, and the spec (a JSON-serialisable dict)
that each worker process receives. Also where this repository lies and how a file of it is loaded by its path in a
process whose top-level package names belong to NVIDIA's code."""
from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]
SIDES = ("ours", "theirs")
CLASHING_PACKAGES = ("models", "options", "util", "data")  # top-level names both codebases use
CONFIGS = {
    "label2city_1024_g1": {"mode": "inference", "size": (1024, 512),
                           "flags": ["--label_nc", "35", "--loadSize", "1024", "--n_scales_spatial", "3",
                                     "--use_instance", "--fg", "--n_downsample_G", "2"]},
    "label2city_2048": {"mode": "inference", "size": (2048, 1024),
                        "flags": ["--label_nc", "35", "--loadSize", "2048", "--n_scales_spatial", "3",
                                  "--use_instance", "--fg"]},
    "label2city_256_g1": {"mode": "training", "size": (256, 128),
                          "flags": ["--label_nc", "35", "--loadSize", "256", "--use_instance", "--fg",
                                    "--n_downsample_G", "2", "--num_D", "1", "--max_frames_per_gpu", "6",
                                    "--n_frames_total", "6"]},
}


class UsageError(Exception):
    """A bad flag or path: reported as one line, exit status 2."""


def flag_value(flags: list[str], name: str, default: str) -> str:
    """The value of the last ``name VALUE`` in ``flags`` (argparse's rule), else ``default``."""
    value = default
    for i, flag in enumerate(flags[:-1]):
        if flag == name:
            value = flags[i + 1]
    return value


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--sizes: '{text}' is not WIDTHxHEIGHT, e.g. 256x128") from None
    return width, height


def size_multiple(flags: list[str]) -> int:
    """Frame sides must be multiples of this: every spatial scale halves, then G downsamples n_downsample_G times."""
    scales = int(flag_value(flags, "--n_scales_spatial", "1"))
    return 2 ** (scales - 1 + int(flag_value(flags, "--n_downsample_G", "3")))


def run_flags(config: str, size: tuple[int, int], extra: str) -> list[str]:
    """Both sides' model flags: the config's, the frame width as --loadSize, then --flags. UsageError when the frame
    size does not fit the network."""
    width, height = size
    flags = [*CONFIGS[config]["flags"], "--loadSize", str(width), *shlex.split(extra)]
    multiple = size_multiple(flags)
    if width % multiple or height % multiple:
        raise UsageError(f"--sizes {width}x{height}: {config} needs both sides to be multiples of {multiple}")
    return flags


def make_spec(args: argparse.Namespace, config: str, size: tuple[int, int], tmp: str) -> dict:
    """Everything a worker needs, JSON-serialisable."""
    width, height = size
    flags = run_flags(config, size, args.flags)
    n_frames_g = int(flag_value(flags, "--n_frames_G", "3"))
    return {
        "config": config, "mode": CONFIGS[config]["mode"], "width": width, "height": height, "flags": flags,
        "n_frames": int(flag_value(flags, "--n_frames_total", "6")) + n_frames_g - 1, "n_frames_G": n_frames_g,
        "device": args.device, "dtype": args.dtype, "threads": args.threads, "allocator": args.allocator,
        "cudnn_benchmark": not args.no_cudnn_benchmark, "seed": args.seed, "no_vgg": args.no_vgg,
        "channels_last": args.channels_last,
        "nvidia_dir": args.nvidia_dir, "checkpoints_dir": os.path.join(tmp, "checkpoints"),
        "vgg_path": os.path.join(tmp, "vgg19_random.pth"), "tmp": tmp,
    }


def run_name(spec: dict) -> str:
    return spec["config"]


def frames_per_call(spec: dict) -> int:
    """Frames one timed call generates: one for inference, the chunk of generated frames for a training step."""
    return 1 if spec["mode"] == "inference" else spec["n_frames"] - spec["n_frames_G"] + 1


def load_by_path(name: str, relative: str) -> ModuleType:
    """Our module at ``relative`` (a path in this repository) under the unique module ``name``, without importing the
    package holding it (NVIDIA's process has its own models/util packages). Registered in sys.modules before it runs,
    as dataclasses need."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
