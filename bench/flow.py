"""Benchmarks of the flow code: correlation variants, FlowNet2 per image pair, every backend, and EPE.

Usage:
    python bench/flow.py correlation [--device cpu|cuda] [--threads 2]
    python bench/flow.py flownet2 [--device cpu|cuda] [--threads 2] [--height 128 --width 256 --pairs 6]
    python bench/flow.py backends [--device cpu|cuda] [--threads 2] [--repeats 3]
    python bench/flow.py epe [--threads 2]
  (timing commands also take --no_peak and --peak_quick)

``correlation`` compares the implementations of ``models.flownet2.ops.correlation`` on FlowNetC's conv3
features (256 channels at 1/8 of the frame size): ``banded`` (default: tiled matrix products, one step per dy),
``shifts`` with 1 displacement per step (elementwise, lean) and ``shifts`` with all 441 at once (the "full
unfold"). Each variant runs in a fresh subprocess;
peak memory is the growth of the process's peak RSS during the first call (CPU) or
``torch.cuda.max_memory_allocated`` above the inputs (CUDA). ``flownet2`` times the full network (random
weights: the cost does not depend on their values) through the vid2vid wrapper: by default all pairs in one
(1, N, 3, H, W) call, as vid2vid's training step calls it (reference: 1.30 s for 6 pairs at 256x128 on the
2-thread CPU of tests/data/reference/timing.txt); ``--one_pair_per_call`` times N separate calls.

``backends`` times one frame pair per call through ``models.flow`` for flownet2 (random weights), raft
(random weights, 12 flow updates as in the default) and dis at 256x128 and 1024x512, each size and backend in a
fresh subprocess: median of ``--repeats`` calls after one warm-up, and the process's peak RSS (whole process:
interpreter, torch and weights included) plus its growth during the calls. ``epe`` writes the default sample
dataset (256x128, 3 + 2 sequences of 24 frames) to a temporary folder and reports the mean end-point error of
dis on every pair and of the zero flow; flownet2 and raft with random weights on a few pairs only to exercise the
path (their figures say nothing about the real weights); ``--real_weights`` loads the real ones instead.

Utilisation: ``correlation``, ``flownet2`` and ``backends`` first measure this machine's peak in a fresh process
(``bench/peak.py``, same --threads and --device; ``--no_peak`` skips it) and report FLOPs with the achieved
fraction of the fp32 matmul and 3x3 convolution peaks: FlowNet2's and RAFT's FLOPs counted by
``torch.utils.flop_counter`` over one extra untimed call (convolutions and matmuls, the banded correlation's
matrix products included), the correlation's as 2 x 441 displacements x 256 channels x (H/8)(W/8). DIS (OpenCV)
is not counted. On CUDA calls are timed with CUDA events after a synchronize (bench/common.py).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
from bench import common  # noqa: E402
from bench.peak import format_percent, fractions, measure_peaks_in_child, summary_line  # noqa: E402

VARIANTS = (("banded", 1), ("shifts", 1), ("shifts", 441))  # (method, chunk_size)
# Frame sizes (H, W); the correlation runs on (H/8, W/8) features with 256 channels.
FRAME_SIZES = ((128, 256), (512, 1024), (1024, 2048))
MAX_ESTIMATED_BYTES = 8 * 2**30  # do not push a shared machine into swap / the OOM killer


def measure_peaks(args: argparse.Namespace) -> dict | None:
    """This machine's peaks for the utilisation columns (None with --no_peak), printed once."""
    if args.no_peak:
        return None
    peaks = measure_peaks_in_child(args.threads, quick=args.peak_quick, device=args.device)
    print(summary_line(peaks), flush=True)
    return peaks


def utilisation(flops: float | None, seconds: float, peaks: dict | None) -> str:
    """'<GFLOPs> GFLOPs, <GFLOP/s>, <x>% of the fp32 matmul / <y>% of the 3x3 conv peak', or '-' for uncounted work
    (on CPUs where MKL's matmul reaches half of oneDNN's convolution, the conv peak is the better ruler)."""
    if not flops:
        return "-"
    achieved = flops / seconds / 1e9
    shares = fractions(achieved, peaks)
    return (f"{flops / 1e9:.1f} GFLOPs, {achieved:.0f} GFLOP/s, {format_percent(shares.get('matmul_fp32'))} of fp32 "
            f"matmul / {format_percent(shares.get('conv3x3_fp32'))} of 3x3 conv peak")


def counted_flops(call) -> int:  # noqa: ANN001 - a no-argument callable
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        call()
    return counter.get_total_flops()


def run_correlation_variant(method: str, chunk_size: int, height: int, width: int, device: torch.device,
                            repeats: int) -> dict:
    """Time and peak memory of one correlation variant; runs in its own process (see ``main``)."""
    from models.flownet2.ops import correlation

    generator = torch.Generator().manual_seed(0)
    features_1 = torch.randn(1, 256, height // 8, width // 8, generator=generator).to(device)
    features_2 = torch.randn(1, 256, height // 8, width // 8, generator=generator).to(device)
    common.synchronize(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    else:
        base = common.peak_rss_gib() * 2**30
    with torch.no_grad():
        correlation(features_1, features_2, method=method, chunk_size=chunk_size)
        common.synchronize(device)
        if device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(device) - base
        else:
            peak = common.peak_rss_gib() * 2**30 - base
        times = [common.timed(lambda: correlation(features_1, features_2, method=method, chunk_size=chunk_size),
                              device)[0] for _ in range(repeats)]
    output_bytes = 441 * (height // 8) * (width // 8) * 4
    return {"method": method, "chunk_size": chunk_size, "frame": f"{height}x{width}",
            "seconds": statistics.median(times), "peak_extra_MiB": peak / 2**20, "output_MiB": output_bytes / 2**20,
            "flops": 2 * 441 * 256 * (height // 8) * (width // 8)}


def bench_correlation(args: argparse.Namespace) -> None:
    print(common.machine_line(args.device, args.threads))
    peaks = measure_peaks(args)
    print(f"correlation, 256-channel features at 1/8 of the frame, device {args.device}, threads {args.threads}")
    print(f"{'frame':>10} {'variant':>12} {'time (s)':>10} {'peak extra (MiB)':>17} {'output (MiB)':>13}  utilisation")
    for height, width in FRAME_SIZES:
        for method, chunk_size in VARIANTS:
            variant = method if method == "banded" else f"{method}/{chunk_size}"
            # The shifted copies plus their products, for the "shifts" method.
            estimate = 2 * chunk_size * 256 * (height // 8) * (width // 8) * 4
            if method == "shifts" and estimate > MAX_ESTIMATED_BYTES:
                print(f"{height}x{width:<5} {variant:>12} skipped: would need ~{estimate / 2**30:.0f} GiB")
                continue
            command = [sys.executable, __file__, "_correlation_worker", "--device", args.device,
                       "--threads", str(args.threads), "--method", method, "--chunk", str(chunk_size),
                       "--height", str(height), "--width", str(width)]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                print(f"{height}x{width} {variant}: failed (rc {result.returncode}, likely out of memory): "
                      f"{result.stderr.strip().splitlines()[-1:]}")
                continue
            row = json.loads(result.stdout.strip().splitlines()[-1])
            print(f"{row['frame']:>10} {variant:>12} {row['seconds']:>10.4f} {row['peak_extra_MiB']:>17.1f} "
                  f"{row['output_MiB']:>13.1f}  {utilisation(row['flops'], row['seconds'], peaks)}")


def bench_flownet2(args: argparse.Namespace) -> None:
    from models.flow import FlowNet2Estimator
    from models.flownet2 import FlowNet2

    device = common.configure(args.device, not args.no_cudnn_benchmark)
    print(common.machine_line(args.device, args.threads))
    peaks = measure_peaks(args)
    torch.manual_seed(0)
    estimator = FlowNet2Estimator(FlowNet2(correlation_method=args.method).to(device))
    if args.channels_last:
        common.channels_last(estimator)
    frames = torch.rand(args.pairs + 1, 1, 3, args.height, args.width).to(device) * 2 - 1

    def one_step() -> None:
        if args.one_pair_per_call:
            for index in range(1, args.pairs + 1):
                estimator(frames[index], frames[index - 1])
        else:
            sequence = frames.transpose(0, 1)  # (1, N + 1, 3, H, W)
            estimator(sequence[:, 1:], sequence[:, :-1])  # flow of every frame to its predecessor
        common.synchronize(device)

    flops = counted_flops(one_step)
    one_step()  # warm-up
    common.reset_peak_memory(device)
    runs = [common.timed(one_step, device)[0] for _ in range(args.repeats)]
    median = statistics.median(runs)
    calls = f"{args.pairs} calls of 1 pair" if args.one_pair_per_call else f"1 call of {args.pairs} pairs"
    print(f"FlowNet2 via vid2vid wrapper, {args.width}x{args.height}, device {args.device}, threads {args.threads}, "
          f"correlation {args.method}, {calls}: median {median:.3f} s ({median / args.pairs:.3f} s/pair), "
          f"min {min(runs):.3f} s; runs {[round(r, 3) for r in runs]}; {common.memory_kind(device)} "
          f"{common.peak_memory_gib(device):.2f} GiB; {utilisation(flops, median, peaks)}")


BACKEND_SIZES = ((128, 256), (512, 1024))  # (H, W)


def make_backend(name: str, device: torch.device) -> torch.nn.Module:
    """The backend ``name`` with random weights (flownet2, raft; the cost does not depend on their values)."""
    from models.flow import DisEstimator, FlowNet2Estimator, RaftEstimator

    torch.manual_seed(0)
    if name == "flownet2":
        from models.flownet2 import FlowNet2

        return FlowNet2Estimator(FlowNet2().to(device))
    if name == "raft":
        from torchvision.models.optical_flow import raft_large

        return RaftEstimator(raft_large(weights=None).to(device))
    return DisEstimator()


def run_backend(name: str, height: int, width: int, device: torch.device, repeats: int,
                channels_last: bool = False) -> dict:
    """Seconds per pair and peak memory of one backend at one size; runs in its own process."""
    estimator = make_backend(name, device)
    if channels_last and name != "dis":
        common.channels_last(estimator)
    generator = torch.Generator().manual_seed(0)
    # Smooth random frames: DIS's cost depends a little on content, the networks' not at all.
    coarse = torch.rand(2, 3, height // 16, width // 16, generator=generator) * 2 - 1
    frames = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bicubic").clamp(-1, 1).to(device)
    current, previous = frames[:1], frames[1:]
    flops = 0 if name == "dis" else counted_flops(lambda: estimator(current, previous))
    common.synchronize(device)
    common.reset_peak_memory(device)
    before = common.peak_rss_gib() * 2**30
    times = [common.timed(lambda: estimator(current, previous), device)[0]
             for _ in range(repeats + 1)]  # the first call is the warm-up
    peak = common.peak_rss_gib() * 2**30
    row = {"backend": name, "frame": f"{width}x{height}", "seconds": statistics.median(times[1:]),
           "warmup_seconds": times[0], "peak_rss_MiB": peak / 2**20, "rss_growth_MiB": (peak - before) / 2**20,
           "flops": flops}
    if device.type == "cuda":
        row["cuda_peak_MiB"] = torch.cuda.max_memory_allocated(device) / 2**20
    return row


def bench_backends(args: argparse.Namespace) -> None:
    print(common.machine_line(args.device, args.threads))
    peaks = measure_peaks(args)
    print(f"one frame pair per call via models.flow, device {args.device}, threads {args.threads}, "
          f"median of {args.repeats} after 1 warm-up, fresh process each")
    print(f"{'backend':>9} {'frame':>9} {'s/pair':>8} {'warm-up s':>10} {'peak RSS MiB':>13} {'RSS growth MiB':>15}"
          "  utilisation")
    for height, width in BACKEND_SIZES:
        for name in ("flownet2", "raft", "dis"):
            command = [sys.executable, __file__, "_backend_worker", "--backend", name, "--device", args.device,
                       "--threads", str(args.threads), "--height", str(height), "--width", str(width),
                       "--repeats", str(args.repeats)]
            command += ["--channels_last"] if args.channels_last else []
            command += ["--no_cudnn_benchmark"] if args.no_cudnn_benchmark else []
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                print(f"{name} {width}x{height}: failed (rc {result.returncode}): "
                      f"{result.stderr.strip().splitlines()[-1:]}")
                continue
            row = json.loads(result.stdout.strip().splitlines()[-1])
            print(f"{row['backend']:>9} {row['frame']:>9} {row['seconds']:>8.3f} {row['warmup_seconds']:>10.3f} "
                  f"{row['peak_rss_MiB']:>13.0f} {row['rss_growth_MiB']:>15.0f}"
                  f"  {utilisation(row['flops'], row['seconds'], peaks)}")


def bench_epe(args: argparse.Namespace) -> None:
    import tempfile

    from data.sample_video import make_sample_dataset
    from models.flow_eval import evaluate_sample_dataset

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "sample"
        make_sample_dataset(root)  # the defaults: 256x128, 3 train + 2 test sequences of 24 frames, seed 0
        print("mean end-point error (px) on the default sample dataset (256x128, seed 0), current = frame t, "
              "previous = frame t + 1 vs the stored .flo")
        for split in ("train", "test"):
            dis = evaluate_sample_dataset(make_backend("dis", torch.device("cpu")), root, split)
            print(f"{split:>5}: {dis['pairs']} pairs, zero flow {dis['zero_epe']:.3f}, dis {dis['epe']:.3f} "
                  f"(ratio {dis['epe'] / dis['zero_epe']:.2f}, {dis['seconds_per_pair'] * 1000:.1f} ms/pair)")
        for name in ("flownet2", "raft"):
            if args.real_weights:
                from models.flow import build_flow_estimator

                estimator = build_flow_estimator(name, args.device, args.flownet_checkpoint or None)
                row = evaluate_sample_dataset(estimator, root, "test", device=args.device)
                print(f" test: {name}: {row['pairs']} pairs, EPE {row['epe']:.3f} vs zero flow {row['zero_epe']:.3f}")
                continue
            row = evaluate_sample_dataset(make_backend(name, torch.device(args.device)), root, "test",
                                          max_pairs=args.pairs, device=args.device)
            print(f" test: {name} with RANDOM weights on {row['pairs']} pairs: EPE {row['epe']:.3f} vs zero flow "
                  f"{row['zero_epe']:.3f} (path check only; meaningless without the real weights)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("correlation", "flownet2", "backends", "epe", "_correlation_worker",
                                         "_backend_worker"))
    parser.add_argument("--backend", default="dis", help="flow backend (_backend_worker)")
    common.add_device_arguments(parser)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no_peak", action="store_true", help="skip the peak measurement (no utilisation)")
    parser.add_argument("--peak_quick", action="store_true", help="measure the peaks on bench/peak.py's --quick sizes")
    parser.add_argument("--method", default="banded", help="correlation method: banded or shifts")
    parser.add_argument("--chunk", type=int, default=1, help="correlation displacements per step (shifts)")
    parser.add_argument("--height", type=int, default=128)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--one_pair_per_call", action="store_true")
    parser.add_argument("--real_weights", action="store_true",
                        help="epe: evaluate flownet2 and raft with their real weights (all test pairs)")
    parser.add_argument("--flownet_checkpoint", default="", help="epe --real_weights: FlowNet2 checkpoint")
    args = parser.parse_args()
    problem = common.check_device(args.device)
    if problem:
        parser.error(problem)
    torch.set_num_threads(args.threads)
    if args.what == "correlation":
        bench_correlation(args)
    elif args.what == "flownet2":
        bench_flownet2(args)
    elif args.what == "backends":
        bench_backends(args)
    elif args.what == "epe":
        bench_epe(args)
    elif args.what == "_backend_worker":
        device = common.configure(args.device, not args.no_cudnn_benchmark)
        print(json.dumps(run_backend(args.backend, args.height, args.width, device, args.repeats,
                                     args.channels_last)))
    else:
        row = run_correlation_variant(args.method, args.chunk, args.height, args.width, torch.device(args.device),
                                      args.repeats)
        print(json.dumps(row))


if __name__ == "__main__":
    main()
