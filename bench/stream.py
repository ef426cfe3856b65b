"""The streaming path measured: frames/s, latency, quality against float32, memory over many frames, per fast path.

    python bench/stream.py --name demo [--sizes 256,512,1024] [--paths fp32,channels_last,compile,bf16]
                           [--frames 20] [--memory_frames 1000] [--threads 2] [--device cpu]
                           [--nvidia_dir PATH] [--json PATH]

For every size (the run's ``--loadSize`` overridden: 256 gives 256x128 frames on the street runs) and every path
(models/streaming.py ``FastPath``; joined with ``+``, e.g. ``channels_last+compile``) one `Synthesizer` is made
and fed the same label maps (``--input``/``--instance``: default the demo's first test sequence, cycled):
  first     seconds of the first generated frame (torch.compile compiles there)
  fps       generated frames per second over ``--frames`` steps after it (conversion of the input included)
  latency   mean and 95th percentile of one ``step`` (input conversion + generator)
  psnr      of the path's frames against the float32 path's frames on the same inputs, the worst frame and the mean
            (dB; >= 40 is required for a path to be a default anywhere); "refused" with the reason where a path
            cannot run (bf16 emulated), "failed" where it fails (torch.compile's kernels not building)
  GFLOP     per frame (torch.utils.flop_counter over one step: convolutions and matmuls) and its share of this
            machine's 3x3-convolution peak (bench/peak.py in a fresh process, best of before and after)
With ``--nvidia_dir PATH`` the same run times NVIDIA's generator on the run's architecture (bench/compare_reference.py:
float32, equal threads and allocator, its own processes, alternating pairs) at every size, and each row gets
``vs_nvidia_fp32``: the path's frames/s over NVIDIA's float32 frames/s.
With ``--memory_frames N`` the float32 path then runs N more frames at the first size, reporting the process's
resident memory after the warm-up and at the end (flat memory: the growth should be near 0).
The float32 path here is test.py's generator call (bit for bit). The process keeps freed memory
(util/allocator.py), as test.py and scripts/stream.py do; an application using `Synthesizer` should call
``util.allocator.keep_freed_memory()`` once too (1.5x at 1024x512 here).
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine_line  # noqa: E402
from bench.peak import best_of, measure_peaks_in_child  # noqa: E402
from models.streaming import FastPath, StreamError, Synthesizer  # noqa: E402
from util.allocator import keep_freed_memory  # noqa: E402

DEMO_SEQUENCE = "datasets/Cityscapes/test_{}/seq0000"


def rss_mib() -> float:
    """Resident memory of this process now (Linux), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fast_path(name: str) -> FastPath:
    parts = set(name.split("+")) - {"fp32"}
    unknown = parts - {"bf16", "channels_last", "compile"}
    if unknown:
        raise SystemExit(f"bench/stream.py: unknown path {sorted(unknown)}; use fp32, bf16, channels_last, compile "
                         "joined with +")
    return FastPath(bf16="bf16" in parts, channels_last="channels_last" in parts, compile="compile" in parts)


def inputs(args: argparse.Namespace) -> list[tuple[Image.Image, Image.Image | None, Image.Image | None]]:
    """(label map, instance map or None, real frame or None) per frame of the input sequence."""
    labels = sorted(Path(args.input).iterdir())
    if not labels:
        raise SystemExit(f"bench/stream.py: no label maps in {args.input}; run make demo or give --input")
    instances = sorted(Path(args.instance).iterdir()) if args.instance else [None] * len(labels)
    reals = sorted(Path(args.real).iterdir()) if args.real else [None] * len(labels)
    return [tuple(None if f is None else Image.open(f).copy() for f in files)
            for files in zip(labels, instances, reals, strict=True)]


def first_frame_flags(args: argparse.Namespace) -> list[str]:
    """The history of a shot from real frames (as the demo's test.py) or, without --real, from nothing."""
    return ["--use_real_img"] if args.real else ["--no_first_img"]


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.float() - b.float()) ** 2).mean())
    return float("inf") if mse == 0 else 10 * math.log10(4 / mse)  # images in [-1, 1]


def flops_per_frame(synth: Synthesizer, frame: tuple) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        synth.step_tensor(frame[0], instance=frame[1])
    return counter.get_total_flops()


def measure(args: argparse.Namespace, size: int, path: str, frames: list, reference: list | None) -> dict:
    flags = [*first_frame_flags(args), "--loadSize", str(size), *args.flags]
    try:
        synth = Synthesizer.from_run(args.name, args.checkpoints_dir, "latest", args.device, flags, fast_path(path))
    except StreamError as error:
        return {"size": size, "path": path, "refused": str(error)}
    feed = itertools.cycle(frames)
    for _ in range(synth.opt.n_frames_G - 1):  # the history: real frames (or none with --no_real)
        label, instance, real = next(feed)
        synth.step_tensor(label, real=real, instance=instance)
    start = time.perf_counter()
    label, instance, _ = next(feed)
    first = synth.step_tensor(label, instance=instance)
    first_s = time.perf_counter() - start
    outputs, latencies = [first], []
    start = time.perf_counter()
    for _ in range(args.frames):
        label, instance, _ = next(feed)
        began = time.perf_counter()
        outputs.append(synth.step_tensor(label, instance=instance))
        latencies.append(time.perf_counter() - began)
    wall = time.perf_counter() - start
    height, width = first.shape[-2:]
    row = {"size": size, "frame": f"{width}x{height}", "path": path, "first_s": round(first_s, 3),
           "fps": round(args.frames / wall, 3), "latency_ms": round(1000 * statistics.mean(latencies), 1),
           "latency_p95_ms": round(1000 * sorted(latencies)[max(0, round(0.95 * len(latencies)) - 1)], 1)}
    if reference is not None:
        values = [psnr(a, b) for a, b in zip(outputs, reference, strict=True)]
        row["psnr_db_min"] = round(min(values), 2)
        row["psnr_db_mean"] = round(statistics.mean(min(v, 200.0) for v in values), 2)
    else:
        row["outputs"] = outputs
    if path == "fp32":
        row["gflop"] = round(flops_per_frame(synth, frames[0]) / 1e9, 2)
    return row


def memory_growth(args: argparse.Namespace, size: int, frames: list) -> dict:
    synth = Synthesizer.from_run(args.name, args.checkpoints_dir, "latest", args.device,
                                 [*first_frame_flags(args), "--loadSize", str(size), *args.flags])
    feed = itertools.cycle(frames)
    for _ in range(20):
        label, instance, real = next(feed)
        synth.step_tensor(label, real=real, instance=instance)
    after_warmup = rss_mib()
    for _ in range(args.memory_frames):
        label, instance, _ = next(feed)
        synth.step_tensor(label, instance=instance)
    return {"size": size, "frames": args.memory_frames, "rss_after_warmup_mib": round(after_warmup, 1),
            "rss_end_mib": round(rss_mib(), 1), "growth_mib": round(rss_mib() - after_warmup, 1)}


def reference_flags(synth: Synthesizer) -> list[str] | None:
    """--flags for bench/compare_reference.py's label2city_1024_g1 configuration (label maps, instances, fg) that
    give the run's generator, or None for a run that configuration cannot describe."""
    opt = synth.opt
    if not (opt.label_nc and opt.use_instance and opt.fg) or synth.mode != "folders":
        return None
    return ["--label_nc", str(opt.label_nc), "--ngf", str(opt.ngf), "--n_blocks", str(opt.n_blocks),
            "--n_downsample_G", str(opt.n_downsample_G), "--n_scales_spatial", str(opt.n_scales_spatial)]


def nvidia_rows(args: argparse.Namespace, sizes: list[int]) -> list[dict]:
    """NVIDIA's code and ours on the run's architecture (random weights: the speed does not depend on them), float32,
    the generator call alone, at equal settings: bench/compare_reference.py in a subprocess of this run."""
    synth = Synthesizer.from_run(args.name, args.checkpoints_dir, "latest", "cpu", [*first_frame_flags(args),
                                                                                   *args.flags])
    flags = reference_flags(synth)
    if flags is None:
        print("no NVIDIA comparison: bench/compare_reference.py describes label-map runs with --use_instance --fg")
        return []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "reference.json"
        sizes_text = ",".join(f"{size}x{size // 2}" for size in sizes)
        command = [sys.executable, str(Path(__file__).with_name("compare_reference.py")), "--nvidia_dir",
                   args.nvidia_dir, "--configs", "label2city_1024_g1", "--sizes", sizes_text, "--threads",
                   str(args.threads), "--flags", shlex.join(flags), "--json", str(out)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not out.exists():
            raise SystemExit(f"bench/stream.py: bench/compare_reference.py failed:\n{done.stderr[-2000:]}")
        rows = json.loads(out.read_text())["rows"]
    return [{"frame": row["frame"], "nvidia_s": round(row["theirs"]["per_frame_s"]["median"], 4),
             "ours_call_s": round(row["ours"]["per_frame_s"]["median"], 4), "parity": row["parity"]} for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", default="demo")
    parser.add_argument("--checkpoints_dir", default="checkpoints")
    parser.add_argument("--input", default=DEMO_SEQUENCE.format("A"))
    parser.add_argument("--instance", default=DEMO_SEQUENCE.format("inst"), help="'' for runs without instances")
    parser.add_argument("--real", default=DEMO_SEQUENCE.format("B"),
                        help="real frames for the first frames of the shot ('': --no_first_img, a zero history, on "
                             "which train-mode BatchNorm divides rounding noise by ~0: poor for comparing paths)")
    parser.add_argument("--sizes", default="256,512,1024")
    parser.add_argument("--paths", default="fp32,channels_last,compile,channels_last+compile,bf16")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--memory_frames", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no_peak", action="store_true")
    parser.add_argument("--flags", default="", help='more test.py flags for every run, one string ("--ngf 8")')
    parser.add_argument("--nvidia_dir", default="",
                        help="a checkout of NVIDIA/vid2vid: also time its generator on the run's architecture, float32 "
                             "at equal settings (bench/compare_reference.py), and give each path's ratio to it")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    args.flags = shlex.split(args.flags)
    torch.set_num_threads(args.threads)
    machine = machine_line(args.device, args.threads)
    print(machine, flush=True)
    peaks_before = None if args.no_peak else measure_peaks_in_child(args.threads, quick=True)
    frames = inputs(args)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        reference = measure(args, size, "fp32", frames, None)
        outputs = reference.pop("outputs")
        rows.append(reference)
        print(json.dumps(reference), flush=True)
        for path in args.paths.split(","):
            if path == "fp32":
                continue
            try:
                row = measure(args, size, path, frames, outputs)
            except StreamError as error:  # e.g. --compile failing to build its kernels on this machine
                row = {"size": size, "path": path, "failed": str(error)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    reference = nvidia_rows(args, [int(size) for size in args.sizes.split(",")]) if args.nvidia_dir else []
    for ref in reference:
        print(json.dumps(ref), flush=True)
        for row in rows:
            if row.get("frame") == ref["frame"] and "fps" in row:
                row["vs_nvidia_fp32"] = round(row["fps"] * ref["nvidia_s"], 3)  # their s/frame / ours
    memory = memory_growth(args, int(args.sizes.split(",")[0]), frames) if args.memory_frames else None
    if memory:
        print(json.dumps(memory), flush=True)
    peaks = None
    if peaks_before is not None:
        peaks = best_of(peaks_before, measure_peaks_in_child(args.threads, quick=True))
        conv = peaks.get("conv3x3_fp32", {}).get("gflops")
        for row in rows:
            gflop = next((r.get("gflop") for r in rows if r["size"] == row["size"] and "gflop" in r), None)
            if conv and gflop and "fps" in row:
                row["conv_peak_share"] = round(gflop * row["fps"] / conv, 3)
        print(f"3x3 conv fp32 peak: {conv} GFLOP/s; shares: "
              + ", ".join(f"{r['size']} {r['path']} {r.get('conv_peak_share')}" for r in rows if "fps" in r))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "rows": rows, "memory": memory, "peaks": peaks,
                                               "nvidia": reference}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    keep_freed_memory()  # as test.py and scripts/stream.py (util/allocator.py)
    sys.exit(main())
