"""Seconds per generated frame (and frames per second) of test.py's sequential generator, fp32 and bf16 (fp16 on
CUDA), plus FLOPs per frame and the achieved fraction of this machine's measured peak.

    nice python bench/infer.py [--sizes 1024,2048] [--dtypes fp32,bf16] [--repeats 3] [--threads 2]
                               [--device cpu|cuda] [--channels_last] [--no_cudnn_benchmark] [--flags "--ngf 8"]
                               [--no_write] [--no_peak] [--peak_quick] [--json PATH]

Configurations (the published test scripts' flags, random weights: the cost does not depend on them):
  1024: label2city_1024_g1 (scripts/street/test_g1_1024.sh): --label_nc 35 --loadSize 1024 --n_scales_spatial 3
        --use_instance --fg --n_downsample_G 2, frames 1024x512
  2048: label2city_2048 (scripts/street/test_2048.sh): --label_nc 35 --loadSize 2048 --n_scales_spatial 3
        --use_instance --fg, frames 2048x1024
  256 (smoke runs only, not a published script, no reference figure): the 1024 flags with --loadSize 256, frames
        256x128
``--flags`` are appended to every configuration's options (smoke runs: ``--sizes 256 --flags "--ngf 8"``).
What one timed frame is, as in the reference measurement (tests/data/reference/infer_timing.txt): one
``GeneratorModel.inference`` call for a steady-state frame
(one-hot encoding of the 3-frame window + instance edges, pyramids, fg mask, G0..G2 with flow warp and fg
compositing, history update) under no_grad with BatchNorm in train mode; the history is preset to random images,
so the single-frame G is not included; no data loading or image writing. Protocol: each (size, dtype) in a fresh
subprocess, 1 warm-up call then --repeats timed calls, median reported; peak RSS of that subprocess (CPU) or
``torch.cuda.max_memory_allocated`` over the timed calls (CUDA).
bf16 / fp16 = ``torch.autocast(device, dtype)`` around the call; the output is compared with fp32's.
``--device cuda``: model and inputs on the GPU, calls timed with CUDA events after a synchronize, cuDNN's kernel
search on (``--no_cudnn_benchmark``: off; the warm-up call does the search), ``--channels_last``: the generator's
weights in the channels-last layout (bench/common.py). Per-scale times synchronize around each scale.
Speed against NVIDIA's code is measured by bench/compare_reference.py (same settings on both sides); this bench
reports our code alone.
FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` over one call on the meta device (convolutions and matmuls,
2 FLOPs per multiply-add; elementwise ops, norms, pooling and grid_sample are not counted).
Peak: before and after the configurations, ``bench/peak.py`` measures in a fresh process with the same
--threads the fp32 and bf16 matmul and the 3x3-convolution peaks (best call, best of the two runs;
``--peak_quick``: smaller problems; ``--no_peak``: skipped). Achieved GFLOP/s = counted FLOPs per frame / median
s per frame; it is reported as a fraction of the fp32 matmul peak and of the 3x3 conv peak, and for bf16 / fp16
rows of that dtype's matmul peak.
Uncounted work (elementwise ops, grid_sample) makes the fraction a lower bound of the machine's use.
``--json PATH`` writes the rows, FLOPs and peaks as JSON.
Results are written to docs/BENCHMARKS.md, section "Inference" (other sections are kept).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
from bench import common  # noqa: E402
from bench.peak import best_of, format_percent, fractions, kernels_of, measure_peaks_in_child, summary_line  # noqa: E402
from models.checkpoint import read_checkpoint  # noqa: E402
from util.allocator import keep_freed_memory  # noqa: E402

CONFIGS = {
    "1024": {"name": "label2city_1024_g1", "size": (1024, 512),
             "flags": ["--label_nc", "35", "--loadSize", "1024", "--n_scales_spatial", "3", "--use_instance", "--fg",
                       "--n_downsample_G", "2"]},
    "2048": {"name": "label2city_2048", "size": (2048, 1024),
             "flags": ["--label_nc", "35", "--loadSize", "2048", "--n_scales_spatial", "3", "--use_instance",
                       "--fg"]},
    "256": {"name": "label2city_256_smoke", "size": (256, 128),
            "flags": ["--label_nc", "35", "--loadSize", "256", "--n_scales_spatial", "3", "--use_instance", "--fg",
                      "--n_downsample_G", "2"]},
}
BENCH_MD = REPO_ROOT / "docs" / "BENCHMARKS.md"
SECTION = "## Inference"


def options(size: str, flags: list[str] = ()):
    from options import TestOptions

    return TestOptions().parse(["--name", CONFIGS[size]["name"], "--gpu_ids", "-1", "--no_first_img",
                                *CONFIGS[size]["flags"], *flags], save=False, verbose=False)


def synthetic_inputs(size: str, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Cityscapes-like label ids (road, sky, buildings, vegetation, cars = fg label 26, a person) and instance
    ids for a 3-frame window: label (1, 3, 1, H, W), instances (1, 3, 1, H, W)."""
    w, h = CONFIGS[size]["size"]
    label = torch.full((3, h, w), 11.0)  # building
    label[:, : h // 4] = 23  # sky
    label[:, h // 2 :] = 7  # road
    label[:, h // 3 : h // 2, : w // 6] = 21  # vegetation
    instances = label.clone()
    for t in range(3):
        for k in range(6):  # cars moving right
            x0, y0 = (k * w // 7 + 8 * t) % (w - w // 10), h // 2 + (k % 2) * h // 10
            label[t, y0 : y0 + h // 12, x0 : x0 + w // 10] = 26
            instances[t, y0 : y0 + h // 12, x0 : x0 + w // 10] = 26000 + k
        label[t, h // 3 : h // 3 + h // 8, w // 2 + 4 * t : w // 2 + 4 * t + w // 60] = 24  # person
        instances[t, h // 3 : h // 3 + h // 8, w // 2 + 4 * t : w // 2 + 4 * t + w // 60] = 24000
    return label[None, :, None].to(device), instances[None, :, None].to(device)


def preset_history(model, h: int, w: int, device: str = "cpu") -> list[torch.Tensor]:
    """Per-scale previous outputs, finest first: (1, tG-1, 3, h/2^s, w/2^s) random images in [-1, 1]."""
    generator = torch.Generator().manual_seed(1)
    return [(torch.rand(1, model.n_frames_G - 1, 3, h >> s, w >> s, generator=generator) * 2 - 1).to(device)
            for s in range(model.n_scales)]


def count_flops(size: str, flags: list[str] = ()) -> dict:
    """FLOPs of one steady-state inference call, counted on the meta device (no compute)."""
    from torch.utils.flop_counter import FlopCounterMode

    from models.generator_model import GeneratorModel
    from models.input_encoding import build_pyramid

    opt = options(size, flags)
    with torch.device("meta"):
        model = GeneratorModel(opt).train()
    w, h = CONFIGS[size]["size"]
    label, instances = synthetic_inputs(size)
    history = preset_history(model, h, w)
    # label encoding checks values (.item()), so it runs on real tensors; the generators run on meta
    labels_pyr = [x.to("meta") for x in build_pyramid(model.encode(label, instances), model.n_scales)]
    counter = FlopCounterMode(display=False)
    per_scale: dict[str, int] = {}
    for s, generator in enumerate(model.generators):  # running totals around each scale's call
        generator.register_forward_pre_hook(
            lambda m, a, s=s: per_scale.__setitem__(f"G{s}", -counter.get_total_flops()))
        generator.register_forward_hook(lambda m, a, o, s=s: per_scale.__setitem__(
            f"G{s}", per_scale[f"G{s}"] + counter.get_total_flops()))
    with counter, torch.no_grad():
        model.run_scales(labels_pyr, [x.to("meta") for x in history], 0, use_raw_only=False)
    return {"total": counter.get_total_flops(), "per_scale": per_scale}


def child(size: str, dtype: str, repeats: int, threads: int, out_path: str, device_name: str = "cpu",
          channels_last: bool = False, cudnn_benchmark: bool = True, flags: list[str] = ()) -> dict:
    keep_freed_memory()  # as test.py does
    torch.set_num_threads(threads)
    from models.generator_model import GeneratorModel

    device = common.configure(device_name, cudnn_benchmark)
    torch.manual_seed(1234)
    opt = options(size, flags)
    model = GeneratorModel(opt).train().to(device)  # BatchNorm in train mode, as the reference's test.py
    if channels_last:
        common.channels_last(model)
    w, h = CONFIGS[size]["size"]
    label, instances = synthetic_inputs(size, device)
    history = preset_history(model, h, w, device)
    scale_times: dict[int, list[float]] = {s: [] for s in range(model.n_scales)}
    starts: dict[int, float] = {}

    def pre_hook(s):
        def hook(module, args):
            common.synchronize(device)
            starts[s] = time.perf_counter()
        return hook

    def post_hook(s):
        def hook(module, args, output):
            common.synchronize(device)
            scale_times[s].append(time.perf_counter() - starts[s])
        return hook

    for s, generator in enumerate(model.generators):
        generator.register_forward_pre_hook(pre_hook(s))
        generator.register_forward_hook(post_hook(s))
    rss_before = common.peak_rss_gib()
    times, cpu_times = [], []
    output = None
    for call in range(1 + repeats):
        if call == 1:  # the warm-up call (cuDNN's kernel search) is not in the memory peak
            common.reset_peak_memory(device)
        cpu_start = time.process_time()
        with common.autocast(device, dtype):
            seconds, out = common.timed(lambda: model.inference(label, None, instances, history), device)
        times.append(seconds)
        cpu_times.append(time.process_time() - cpu_start)
        output = out.fake_image.float().cpu()
    torch.save(output, out_path)
    timed = times[1:]
    return {
        "size": size, "dtype": dtype, "threads": threads, "device": device_name,
        "gpu": common.device_name(device), "channels_last": channels_last,
        "cudnn_benchmark": cudnn_benchmark and device.type == "cuda", "median_s": statistics.median(timed),
        "timed_s": timed, "warmup_s": times[0], "cpu_median_s": statistics.median(cpu_times[1:]),
        "load_average": os.getloadavg()[0],
        "per_scale_median_s": {f"G{s}": statistics.median(v[1:]) for s, v in scale_times.items()},
        "n_parameters": {f"G{s}": sum(p.numel() for p in g.parameters()) for s, g in enumerate(model.generators)},
        "peak_gib": common.peak_memory_gib(device), "memory": common.memory_kind(device),
        "peak_rss_gib": common.peak_rss_gib(), "rss_before_calls_gib": rss_before,
    }


def run_child(size: str, dtype: str, args: argparse.Namespace, out_path: str) -> dict:
    cmd = [sys.executable, __file__, "--child", f"{size}:{dtype}", "--repeats", str(args.repeats),
           "--threads", str(args.threads), "--output", out_path, "--device", args.device, f"--flags={args.flags}"]
    cmd += ["--channels_last"] if args.channels_last else []
    cmd += ["--no_cudnn_benchmark"] if args.no_cudnn_benchmark else []
    threads = args.threads
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{size} {dtype} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def add_achieved(row: dict, flops: dict, peaks: dict | None) -> None:
    """Adds gflops_per_frame, achieved_gflops (counted FLOPs / median s) and peak_fractions to a child's row."""
    row["gflops_per_frame"] = flops[row["size"]]["total"] / 1e9
    row["achieved_gflops"] = row["gflops_per_frame"] / row["median_s"]
    row["peak_fractions"] = fractions(row["achieved_gflops"], peaks, dtype=row["dtype"])


def achieved_text(row: dict) -> str:
    shares = row.get("peak_fractions") or {}
    share_text = ", ".join(f"{format_percent(v)} of {k} peak" for k, v in shares.items())
    return f"{row['achieved_gflops']:.1f} GFLOP/s" + (f" = {share_text}" if share_text else "")


def peaks_text(peaks: dict | None) -> str:
    if not peaks:
        return "Peaks not measured (--no_peak)."
    return (f"Peaks measured by `bench/peak.py` in this run, before the configurations ({peaks['threads']} threads, "
            f"best call{', --quick sizes' if peaks.get('quick') else ''}, load average {peaks['load_average']:.1f}): "
            + ", ".join(f"{k} {peaks[k]['gflops']:.0f} GFLOP/s ({peaks[k]['shape']})" for k in kernels_of(peaks))
            + ".")


def section_title(device: str) -> str:
    return SECTION if device == "cpu" else f"{SECTION} on CUDA"


def format_section(rows: list[dict], flops: dict, diffs: dict, args: argparse.Namespace, load: str,
                   peaks: dict | None = None) -> str:
    kernels = ["matmul_fp32", "conv3x3_fp32"] + [f"matmul_{d}" for d in ("bf16", "fp16")
                                                 if any(r["dtype"] == d for r in rows)]
    where = rows[0]["gpu"] if rows and args.device == "cuda" else f"{common.cpu_name()}, {os.cpu_count()} cores"
    layout = ", channels_last" if args.channels_last else ""
    lines = [
        section_title(args.device), "",
        "`python bench/infer.py` (see its docstring for the protocol): seconds per generated frame of test.py's "
        "sequential generator (G0..G2 coarse to fine with flow warp and fg compositing, one steady-state "
        "`GeneratorModel.inference` call, BatchNorm in train mode, random weights, no data loading or image "
        f"writing), median of {args.repeats} calls after one warm-up, each configuration in a fresh process.",
        "",
        f"Machine: {where}, torch {torch.__version__}, {args.threads} threads{layout}. "
        f"Load average when the run started: {load}.",
        "",
        "| config | frame | dtype | s/frame | frames/s | per scale G0 / G1 / G2 (s) | CPU s/frame | load avg | "
        "GFLOPs/frame | GFLOP/s | " + " | ".join(f"% {k} peak" for k in kernels) + " | peak GiB | "
        "max abs diff vs fp32 |",
        "| " + " | ".join(["---"] * (12 + len(kernels))) + " |",
    ]
    for row in rows:
        config = CONFIGS[row["size"]]
        w, h = config["size"]
        scales = " / ".join(f"{row['per_scale_median_s'][k]:.2f}" for k in sorted(row["per_scale_median_s"]))
        diff = diffs.get((row["size"], row["dtype"]))
        diff_text = f"{diff['max']:.3f} (mean {diff['mean']:.4f})" if diff else "?"
        diff_text = "-" if row["dtype"] == "fp32" else diff_text
        shares = row.get("peak_fractions") or {}
        lines.append(
            f"| {config['name']} | {w}x{h} | {row['dtype']} | {row['median_s']:.3g} | {1 / row['median_s']:.3g} | "
            f"{scales} | {row.get('cpu_median_s', float('nan')):.1f} | {row.get('load_average', float('nan')):.1f} | "
            f"{flops[row['size']]['total'] / 1e9:.0f} | {row['achieved_gflops']:.0f} | "
            + " | ".join(format_percent(shares.get(k)) for k in kernels)
            + f" | {row['peak_gib']:.2f} | {diff_text} |")
    lines += ["", "FLOPs per scale (GFLOPs; convolutions and matmuls, FlopCounterMode on the meta device):", ""]
    for size, counted in flops.items():
        per_scale = ", ".join(f"{k} {v / 1e9:.0f}" for k, v in counted["per_scale"].items() if v is not None)
        lines.append(f"* {CONFIGS[size]['name']}: {per_scale}")
    lines += ["", peaks_text(peaks) + " GFLOP/s = counted GFLOPs/frame / s/frame (convolutions and matmuls only, "
              "so the fractions of the peaks are lower bounds of the machine's use).", "",
              f"Peak GiB: {rows[0]['memory'] if rows else 'peak RSS'} of the measuring process. CPU s/frame is the "
              f"process CPU time of one call (all threads together); on an otherwise idle CPU it is about "
              f"{args.threads} x s/frame. Each process keeps freed memory (`util.allocator.keep_freed_memory`, as "
              "test.py does). bf16/fp16 output differs from fp32 by the max abs diff shown (random weights, "
              "BatchNorm on one frame's statistics): validate reduced precision on trained weights before relying "
              "on it. Against NVIDIA's code with the same settings: bench/compare_reference.py.", ""]
    return "\n".join(lines)


def write_section(section: str, title: str) -> None:
    """Replace (or append) the section ``title`` of docs/BENCHMARKS.md, keeping every other section."""
    BENCH_MD.parent.mkdir(parents=True, exist_ok=True)
    text = BENCH_MD.read_text() if BENCH_MD.exists() else "# Benchmarks\n\n"
    pattern = re.compile(rf"^{re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    tmp = BENCH_MD.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, BENCH_MD)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1024,2048")
    parser.add_argument("--dtypes", default="fp32,bf16")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    common.add_device_arguments(parser)
    parser.add_argument("--flags", default="", help="extra model options for every configuration, e.g. "
                                                    "\"--ngf 8 --n_blocks 2\" (smoke runs)")
    parser.add_argument("--no_write", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")
    parser.add_argument("--no_peak", action="store_true", help="skip the peak measurement (no fractions of peak)")
    parser.add_argument("--peak_quick", action="store_true", help="measure the peaks on bench/peak.py's --quick sizes")
    parser.add_argument("--json", default="", help="also write rows, FLOPs and peaks as JSON to PATH")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    parser.add_argument("--output", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    flags = shlex.split(args.flags)
    if args.child:
        size, dtype = args.child.split(":")
        print(json.dumps(child(size, dtype, args.repeats, args.threads, args.output, args.device,
                               args.channels_last, not args.no_cudnn_benchmark, flags)))
        return 0

    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    sizes, dtypes = args.sizes.split(","), args.dtypes.split(",")
    unknown = [x for x in sizes if x not in CONFIGS]
    if unknown:
        parser.error(f"unknown size {', '.join(unknown)}; sizes: {', '.join(CONFIGS)}")
    problem = common.check_device(args.device, dtypes)
    if problem:
        parser.error(problem)
    peaks = None if args.no_peak else measure_peaks_in_child(args.threads, quick=args.peak_quick, device=args.device)
    if peaks:
        print(summary_line(peaks), flush=True)
    flops = {size: count_flops(size, flags) for size in sizes}
    rows, diffs, outputs = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            for dtype in dtypes:
                out_path = os.path.join(tmp, f"{size}_{dtype}.pt")
                row = run_child(size, dtype, args, out_path)
                outputs[(size, dtype)] = read_checkpoint(out_path, "benchmark output")
                add_achieved(row, flops, peaks)
                rows.append(row)
                print(f"{CONFIGS[size]['name']} {dtype}: {row['median_s']:.3g} s/frame, {1 / row['median_s']:.3g} "
                      f"frames/s (calls {', '.join(f'{t:.3g}' for t in row['timed_s'])}; warm-up "
                      f"{row['warmup_s']:.3g}); {row['memory']} {row['peak_gib']:.2f} GiB; "
                      f"{row['gflops_per_frame']:.1f} GFLOPs/frame, {achieved_text(row)}", flush=True)
            if (size, "fp32") in outputs:
                for dtype in dtypes:
                    if dtype != "fp32":
                        delta = (outputs[(size, dtype)] - outputs[(size, "fp32")]).abs()
                        diffs[(size, dtype)] = {"max": delta.max().item(), "mean": delta.mean().item()}
    if peaks:  # the machine's speed drifts: the best of the peaks measured before and after the configurations
        peaks = best_of(peaks, measure_peaks_in_child(args.threads, quick=args.peak_quick, device=args.device))
        print(summary_line(peaks), flush=True)
        for row in rows:
            add_achieved(row, flops, peaks)
    section = format_section(rows, flops, diffs, args, load, peaks)
    print(section)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "flops": flops, "peaks": peaks, "load": load,
                                               "diffs": {f"{k[0]}:{k[1]}": v for k, v in diffs.items()}},
                                              indent=1) + "\n")
        print(f"written to {args.json}")
    if not args.no_write:
        write_section(section, section_title(args.device))
        print(f"written to {BENCH_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
