"""Speed and output parity of our vid2vid against NVIDIA's original code, on identical inputs, weights and settings.

    python bench/compare_reference.py --nvidia_dir PATH [--configs label2city_1024_g1,label2city_2048,label2city_256_g1]
        [--sizes WxH,...] [--flags "--ngf 8 ..."] [--device cpu|cuda] [--dtype fp32|bf16|fp16] [--threads 2]
        [--repeats 5] [--allocator keep|default] [--isolation auto|workers|fresh] [--no_vgg] [--channels_last]
        [--json PATH]
    python bench/compare_reference.py --self_check ...   # our code on both sides: checks the harness itself

``--nvidia_dir`` is a checkout of github.com/NVIDIA/vid2vid that YOU provide (the reference data was made at commit
2e6d137). Its code is non-commercial and is never copied here: this script only imports it in a separate process
and adapts it at run time (below); it writes nothing into the checkout.

Configurations (the published scripts' flags; frame size from the config, or each of ``--sizes``):
  label2city_1024_g1  inference, 1024x512: --label_nc 35 --loadSize 1024 --n_scales_spatial 3 --use_instance --fg
                      --n_downsample_G 2
  label2city_2048     inference, 2048x1024: --label_nc 35 --loadSize 2048 --n_scales_spatial 3 --use_instance --fg
  label2city_256_g1   one training step, 256x128, 8 frames = one chunk of 6 generated frames: --label_nc 35
                      --loadSize 256 --use_instance --fg --n_downsample_G 2 --num_D 1 --max_frames_per_gpu 6
                      --n_frames_total 6 (VGG loss on, with the same random VGG19 weights on both sides; --no_vgg drops
                      it on both)
Without ``--configs``: all three with ``--device cuda``; on the CPU label2city_1024_g1 alone (about 2 min on 2 cores;
label2city_2048 takes about 6 min and label2city_256_g1 about 13 min there, each asked for by name).
``--flags`` are appended to both sides' options (e.g. ``--flags "--ngf 8 --n_blocks 2"`` for a quick run).

What one timed call is:
  inference: one steady-state ``inference`` call (history of 2 previous frames per scale preset to the same random
      images on both sides, so the single-frame G is not involved): label one-hot + instance edges, pyramids, fg mask,
      G0..G2 with flow warp and fg compositing, history update; no_grad, BatchNorm in train mode (as the reference's
      test.py). Ours: ``GeneratorModel.inference``; theirs: ``Vid2VidModelG.inference``. Per-frame = per call.
  training: one step of the train.py inner loop on one clip: G forward over the chunk, the image-D / VGG / warp /
      flow losses, the temporal D, then the G, D and D_T updates (Adam). Ours: ``Trainer.train_item``; theirs: their
      Vid2VidModelG / Vid2VidModelD wrapped in their ``myModel`` exactly as train.py does, driven by this script in
      train.py's order. Per-frame = per step / generated frames.
      FLOW IS GIVEN TO BOTH: their step computes the reference flow with FlowNet2 (CUDA extensions, 650 MB of
      weights we do not have), ours with a backend of our choice. Both sides here get the same synthetic smooth
      flow field and 0/1 confidence (``given_flow``), so the comparison is the generator + discriminator step alone;
      the frozen flow network (no_grad, 1.3 s of the reference's 73.5 s step at 256x128) is benchmarked separately
      by bench/flow.py.

Identical on both sides: inputs (synthetic Cityscapes-like labels with moving fg cars, instance maps, smooth real
frames), weights (NVIDIA's networks built with ``--seed`` by their own ``weights_init``, BatchNorm biases then
re-drawn from N(0, 0.1) as in the reference data so that a dropped bias shows, saved in the reference checkpoint
format ``<name>/latest_net_<label>.pth``; ours load those files strictly through ``models.inference.load_test_model``
/ ``Trainer.load_networks``, theirs strictly with ``load_state_dict``), ``torch.set_num_threads`` and
OMP/MKL_NUM_THREADS, the glibc allocator setting (``util/allocator.py`` ``keep_freed_memory()``, what our test.py and
train.py apply, for BOTH with ``--allocator keep``, for NEITHER with ``--allocator default``, the setting of the
reference's own timing files), autocast (fp32, or bf16/fp16 autocast around each side's forward work; training:
fp32 or bf16, since their fp16 path needs apex), ``torch.backends.cudnn.benchmark`` (their model turns it on; set to
the same value in both processes), the device, and with ``--channels_last`` the memory layout (every network of
both sides converted to channels-last after its weights are loaded).

On a GPU one command gives inference frames/s at 1024x512 and 2048x1024, the training step's throughput and each
side's peak memory: ``python bench/compare_reference.py --nvidia_dir PATH --device cuda`` (add ``--dtype bf16`` or,
inference only, ``--dtype fp16`` for mixed precision).

Alternation and isolation. Each side runs in its OWN process (``--worker``): the two codebases both have top-level
packages named models/options/util/data, and per-process peak memory (RSS on CPU, ``torch.cuda.max_memory_allocated``
on CUDA) must be measured separately. Calls alternate between the sides, the order swapped every pair (ours, theirs,
theirs, ours, ...), so slow drift of a shared machine's load hits both equally; each pair gives one ratio ours/theirs
and the spread of those ratios (min / median / max) shows the noise. Every process makes one untimed warm-up call
first. ``--isolation workers`` (inference default) keeps one long-lived process per side, both alive, answering the
calls in turn: cheap, and both see the same machine state. ``--isolation fresh`` (training default) starts a new
process for every timed call (warm-up + 1 timed call, then it exits) and never runs both at once: a training step of
the full recipe holds about 13 GB, two of them would not fit a 24 GB machine, and with ``keep_freed_memory`` a
process never returns its peak. Timing: ``time.perf_counter`` around the call on CPU; CUDA events around it, after
a ``torch.cuda.synchronize``, on CUDA.

Parity: the max abs difference of the frames generated by each side's FIRST call (identical weights; a training step
then updates the weights, so later calls are not compared); for training also the largest relative difference of
the named losses both sides report and of every network's parameter gradients of that step (G, D, D_T; per network
max abs difference / its largest gradient). Gradients, not the updated weights: Adam's first step moves every weight
by about +-lr whatever the gradient's size, so weights would only show sign agreement. With fp32 the frame difference
must be <= --tolerance (1e-4) and the gradient one <= --grad_tolerance (1e-3); the exit status is 1 otherwise.

Runtime adaptations of NVIDIA's code (REFERENCE_README.md section 5), installed in their process at import time:
P1 their BaseModel / BaseNetwork ``grid_sample`` helpers get ``align_corners=True`` (PyTorch <= 1.2 behaviour);
P3 torchvision's ``vgg19(pretrained=True)`` returns the shared random VGG19 weights; P4 their checkpoint loading in
``initialize`` is disabled (this script loads every network strictly itself); P5 ``fractions.gcd = math.gcd``;
S on CPU only: ``Tensor.cuda`` / ``Module.cuda`` / ``torch.cuda.set_device`` are no-ops, ``torch.cuda.is_available``
is False (so their DataParallel wrapper is a pass-through), ``torch.cuda.FloatTensor`` etc. build CPU tensors.
Their FlowNet2 is not used (flow is given), so no CUDA-extension replacement is needed.

This file is the command line; the work is in bench/reference/ (its __init__ names the rooms): the adaptations above
in shims.py and the driver of NVIDIA's code in nvidia_side.py, our side in our_side.py, the worker processes in
worker.py, the alternation and parity in parity.py, the table in report.py.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # bench.reference; NVIDIA's process puts their checkout before it
from bench.reference.parity import alternate, summarize  # noqa: E402
from bench.reference.report import format_row, format_table, json_row, settings_line  # noqa: E402
from bench.reference.shims import check_checkout  # noqa: E402
from bench.reference.spec import CONFIGS, SIDES, UsageError, frames_per_call, make_spec, parse_size, run_flags  # noqa: E402
from bench.reference.worker import WorkerError, WorkerSession, run_writer, worker_main  # noqa: E402


def use_fresh(args: argparse.Namespace, mode: str) -> bool:
    return args.isolation == "fresh" or (args.isolation == "auto" and mode == "training")


def compare_config(args: argparse.Namespace, config: str, size: tuple[int, int]) -> dict:
    """Write the weights, run both sides alternately, summarize one row."""
    with tempfile.TemporaryDirectory(prefix="compare_reference_") as tmp:
        spec = make_spec(args, config, size, tmp)
        spec_path = os.path.join(tmp, "spec.json")
        Path(spec_path).write_text(json.dumps(spec))
        impl = {"ours": "ours", "theirs": "ours" if args.self_check else "theirs"}
        logs = {side: os.path.join(args.log_dir or tmp, f"{config}_{size[0]}x{size[1]}_{side}.log") for side in SIDES}
        run_writer(impl["theirs"], spec_path, logs["theirs"], args.threads)
        start = {side: (lambda side=side: WorkerSession(impl[side], spec_path, logs[side], args.threads))
                 for side in SIDES}
        record = alternate(start, args.repeats, use_fresh(args, spec["mode"]))
        row = summarize(record, frames_per_call(spec), args.dtype, args.tolerance, args.grad_tolerance)
    row.update(config=config, frame=f"{size[0]}x{size[1]}", mode=spec["mode"], device=args.device,
               isolation="fresh" if use_fresh(args, spec["mode"]) else "workers")
    return row


def default_configs(device: str) -> str:
    """Without --configs: all three on CUDA (minutes in all); on the CPU the 1024x512 inference alone (about 2 min on
    2 cores), since 2048x1024 takes about 6 min and the training step about 13 min there: name them to run them."""
    return ",".join(CONFIGS) if device == "cuda" else "label2city_1024_g1"


def check_args(args: argparse.Namespace) -> list[tuple[str, tuple[int, int]]]:
    """Validate flags (UsageError, one line) and return the (config, size) runs."""
    if not args.self_check:
        check_checkout(args.nvidia_dir)
    configs = [c for c in (args.configs or default_configs(args.device)).split(",") if c]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown or not configs:
        raise UsageError(f"--configs: unknown {', '.join(unknown) or '(none)'}; choose from {', '.join(CONFIGS)}")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is visible here; use --device cpu")
    if args.dtype == "fp16" and args.device != "cuda":
        raise UsageError("--dtype fp16 needs --device cuda; on the CPU use --dtype bf16")
    if args.dtype == "fp16" and any(CONFIGS[c]["mode"] == "training" for c in configs):
        raise UsageError("--dtype fp16: NVIDIA's fp16 training needs apex; compare training with fp32 or bf16")
    if args.repeats < 1 or args.threads < 1:
        raise UsageError("--repeats and --threads must be at least 1")
    sizes = [parse_size(s) for s in args.sizes.split(",") if s]
    runs = [(c, s) for c in configs for s in (sizes or [CONFIGS[c]["size"]])]
    for config, size in runs:
        run_flags(config, size, args.flags)
    return runs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nvidia_dir", default="", help="checkout of github.com/NVIDIA/vid2vid (yours; not copied)")
    parser.add_argument("--self_check", action="store_true", help="our code on both sides (tests the harness)")
    parser.add_argument("--configs", default="", help=f"comma list of {', '.join(CONFIGS)} (default: all three with "
                        "--device cuda, label2city_1024_g1 on the CPU)")
    parser.add_argument("--sizes", default="", help="comma list of WxH frame sizes (default: each config's own)")
    parser.add_argument("--flags", default="", help="extra model options for both sides, e.g. \"--ngf 8 --n_blocks 2\" "
                        "(a single option: --flags=--no_flow)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"], help="autocast dtype")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (and OMP/MKL) of both sides")
    parser.add_argument("--repeats", type=int, default=5, help="timed pairs (one call per side each)")
    parser.add_argument("--allocator", default="keep", choices=["keep", "default"],
                        help="keep: util/allocator.py keep_freed_memory() in both processes; default: in neither")
    parser.add_argument("--isolation", default="auto", choices=["auto", "workers", "fresh"],
                        help="workers: one process per side for all calls; fresh: a new process per timed call; "
                             "auto: workers for inference, fresh for training")
    parser.add_argument("--no_vgg", action="store_true", help="training: no VGG loss on either side")
    parser.add_argument("--no_cudnn_benchmark", action="store_true", help="cudnn.benchmark off on both sides")
    parser.add_argument("--channels_last", action="store_true", help="both sides' networks in channels-last layout")
    parser.add_argument("--seed", type=int, default=1234, help="seed of NVIDIA's weight initialisation")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="fp32 max abs frame difference allowed")
    parser.add_argument("--grad_tolerance", type=float, default=1e-3,
                        help="training, fp32: max gradient difference allowed, relative to a network's largest one")
    parser.add_argument("--log_dir", default="", help="keep the workers' logs here (default: a temp folder)")
    parser.add_argument("--json", default="", help="also write the rows as JSON to PATH")
    parser.add_argument("--worker", default="", choices=["", *SIDES], help=argparse.SUPPRESS)
    parser.add_argument("--spec", default="", help=argparse.SUPPRESS)
    parser.add_argument("--write", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.spec, args.write)
    try:
        runs = check_args(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)
    rows = []
    for config, size in runs:
        try:
            rows.append(compare_config(args, config, size))
        except (WorkerError, UsageError) as error:
            print(f"error: {config} {size[0]}x{size[1]}: {error}", file=sys.stderr)
            return 1
        print(format_row(rows[-1]), flush=True)
    print()
    print(format_table(rows, settings_line(args)))
    if args.json:
        Path(args.json).write_text(json.dumps({"settings": settings_line(args), "rows": [json_row(r) for r in rows]},
                                              indent=1) + "\n")
    return 0 if all(row["parity"] != "FAIL" for row in rows) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception:  # a worker's traceback goes to its log; the parent prints it too
        traceback.print_exc()
        sys.exit(1)
