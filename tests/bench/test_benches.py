"""The benches' shared device/timing helpers (bench/common.py), the peak measurement (bench/peak.py), and smoke
runs of bench/infer.py, bench/train_step.py, bench/flow.py and bench/loader.py on tiny networks: each runs end to
end, reports FLOPs with the fraction of the measured peak, refuses impossible device/dtype combinations with one
line, and (CUDA paths) picks CUDA events and max_memory_allocated only on a GPU."""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from bench import common, peak
from bench import flow as flow_bench

REPO = Path(__file__).resolve().parents[2]


def run_bench(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


# ------------------------------------------------------------------------------------------------ bench/common.py
def test_check_device_names_the_flag_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    assert common.check_device("cpu", ["fp32", "bf16"]) is None
    assert "fp16" in common.check_device("cpu", ["fp32", "fp16"]) and "bf16" in common.check_device("cpu", ["fp16"])
    assert "unknown dtype fp8" in common.check_device("cpu", ["fp8"])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    message = common.check_device("cuda", ["fp16"])
    assert message.startswith("--device cuda") and "--device cpu" in message
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert common.check_device("cuda", ["fp32", "bf16", "fp16"]) is None


def test_autocast_per_dtype() -> None:
    with common.autocast("cpu", "fp32"):
        assert not torch.is_autocast_enabled("cpu")
    with common.autocast("cpu", "bf16"):
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
        out = torch.nn.functional.linear(torch.ones(2, 4), torch.ones(3, 4))
    assert out.dtype == torch.bfloat16


def test_timed_measures_the_call_and_returns_its_result() -> None:
    seconds, value = common.timed(lambda: (time.sleep(0.05), 7)[1], "cpu")
    assert value == 7 and 0.04 < seconds < 1.0


def test_timed_uses_cuda_events_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a GPU: the CUDA branch synchronizes, records two events and converts their milliseconds."""
    calls: list[str] = []

    class Event:
        def __init__(self, enable_timing: bool) -> None:
            assert enable_timing
            self.name = f"event{len([c for c in calls if c.startswith('new')])}"
            calls.append("new")

        def record(self) -> None:
            calls.append(f"record {self.name}")

        def elapsed_time(self, other: Event) -> float:
            return 1500.0

    monkeypatch.setattr(torch.cuda, "Event", Event)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: calls.append("sync"))
    seconds, value = common.timed(lambda: calls.append("call") or 3, torch.device("cuda", 0))
    assert (seconds, value) == (1.5, 3)
    assert calls == ["sync", "new", "new", "record event0", "call", "record event1", "sync"]


def test_peak_memory_on_cpu_and_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    before = common.peak_memory_gib("cpu")
    block = torch.ones(64, 2**20, dtype=torch.uint8)  # 64 MiB touched
    assert common.peak_memory_gib("cpu") >= before and block.sum() > 0
    assert common.memory_kind("cpu") == "peak RSS" and common.memory_kind("cuda") == "CUDA max allocated"
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 3 * 2**30)
    resets: list[object] = []
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device=None: resets.append(device))
    common.reset_peak_memory("cuda")
    common.reset_peak_memory("cpu")  # no-op
    assert common.peak_memory_gib("cuda") == 3.0 and len(resets) == 1


def test_channels_last_converts_the_weights() -> None:
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8))
    assert not net[0].weight.is_contiguous(memory_format=torch.channels_last)
    common.channels_last(net)
    assert net[0].weight.is_contiguous(memory_format=torch.channels_last)
    out = net(torch.randn(1, 3, 16, 16))
    assert out.is_contiguous(memory_format=torch.channels_last)  # convolutions propagate the layout


def test_device_arguments_and_split_argv() -> None:
    parser = argparse.ArgumentParser()
    common.add_device_arguments(parser)
    args = parser.parse_args(["--device", "cuda", "--channels_last", "--no_cudnn_benchmark"])
    assert (args.device, args.channels_last, args.no_cudnn_benchmark) == ("cuda", True, True)
    with pytest.raises(SystemExit):
        parser.parse_args(["--device", "tpu"])
    assert common.split_argv(["--a", "1", "--", "--b"]) == (["--a", "1"], ["--b"])
    assert common.split_argv(["--a"]) == (["--a"], [])
    assert common.configure("cpu") == torch.device("cpu")


def test_dtype_of_train_flags() -> None:
    assert common.dtype_of_flags(["--ngf", "8"]) == "fp32"
    assert common.dtype_of_flags(["--bf16", "--grad_checkpoint_G"]) == "bf16"
    assert common.dtype_of_flags(("--fp16",)) == "fp16"


def test_loader_refuses_fp16_on_cpu() -> None:
    done = run_bench("bench/loader.py", "--no_peak", "--", "--fp16")
    assert done.returncode == 2 and "fp16 autocast needs --device cuda" in done.stderr


def test_machine_line_names_cpu_flags_threads_and_load() -> None:
    line = common.machine_line("cpu", 2)
    assert line.startswith("machine: ") and "2 threads" in line and "load average" in line
    assert set(common.cpu_flags()) <= {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "fma"}


# ------------------------------------------------------------------------------------------------ bench/peak.py
def test_measure_peaks_small() -> None:
    result = peak.measure_peaks(1, size=128, repeats=2, budget_s=1.0, quick=True)
    assert result["device"] == "cpu" and "matmul_fp16" not in result
    for kernel in peak.KERNELS:
        row = result[kernel]
        assert row["gflops"] >= row["median_gflops"] > 0 and 1 <= len(row["times_s"]) <= 2
    assert result["matmul_fp32"]["flops"] == 2 * 128**3
    assert result["conv3x3_fp32"]["flops"] == 2 * 512 * 512 * 9 * 32 * 64
    assert peak.kernels_of(result) == list(peak.KERNELS)
    assert "matmul_fp32" in peak.summary_line(result) and "threads 1" in peak.format_table(result)


def test_fractions_pick_the_dtype_peak() -> None:
    peaks = {"matmul_fp32": {"gflops": 100.0}, "conv3x3_fp32": {"gflops": 200.0}, "matmul_bf16": {"gflops": 400.0},
             "matmul_fp16": {"gflops": 800.0}}
    assert peak.fractions(50.0, peaks) == {"matmul_fp32": 0.5, "conv3x3_fp32": 0.25}
    assert peak.fractions(50.0, peaks, dtype="bf16")["matmul_bf16"] == 0.125
    assert peak.fractions(80.0, peaks, dtype="fp16")["matmul_fp16"] == 0.1
    assert peak.fractions(1.0, None) == {} and math.isnan(peak.fraction(1.0, None))
    assert peak.format_percent(0.1234) == "12.3%" and peak.format_percent(math.nan) == "-"


def test_best_of_keeps_each_kernels_best_run() -> None:
    before = {"threads": 2, "matmul_fp32": {"gflops": 120.0}, "matmul_bf16": {"gflops": 500.0},
              "conv3x3_fp32": {"gflops": 360.0}}
    after = {"threads": 2, "matmul_fp32": {"gflops": 175.0}, "matmul_bf16": {"gflops": 480.0},
             "conv3x3_fp32": {"gflops": 300.0}}
    best = peak.best_of(before, after)
    assert [best[k]["gflops"] for k in peak.KERNELS] == [175.0, 500.0, 360.0]
    assert best["runs"] == [{"matmul_fp32": 120.0, "matmul_bf16": 500.0, "conv3x3_fp32": 360.0},
                            {"matmul_fp32": 175.0, "matmul_bf16": 480.0, "conv3x3_fp32": 300.0}]
    assert "best of (120, 500, 360) and (175, 480, 300)" in peak.summary_line(best)
    assert peak.best_of(None, None) is None and peak.best_of(before, None)["matmul_fp32"]["gflops"] == 120.0


def test_peak_cli_refuses_cuda_without_a_gpu() -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: the refusal cannot happen here")
    done = run_bench("bench/peak.py", "--device", "cuda")
    assert done.returncode == 2 and "--device cuda: no CUDA device" in done.stderr


# ------------------------------------------------------------------------------------------------ smoke runs
def test_infer_smoke_fp32_and_bf16(tmp_path: Path) -> None:
    out = tmp_path / "infer.json"
    done = run_bench("bench/infer.py", "--sizes", "256", "--dtypes", "fp32,bf16", "--repeats", "1", "--no_write",
                     "--peak_quick", "--flags=--ngf 8 --n_blocks 1", "--json", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    rows = {row["dtype"]: row for row in result["rows"]}
    assert set(rows) == {"fp32", "bf16"}
    for row in rows.values():
        assert row["median_s"] > 0 and row["peak_gib"] > 0 and row["memory"] == "peak RSS"
        assert row["achieved_gflops"] == pytest.approx(row["gflops_per_frame"] / row["median_s"])
        assert set(row["peak_fractions"]) >= {"matmul_fp32", "conv3x3_fp32"}
    assert "matmul_bf16" in rows["bf16"]["peak_fractions"] and "matmul_bf16" not in rows["fp32"]["peak_fractions"]
    assert 0 < result["diffs"]["256:bf16"]["max"] < 2.0  # bf16 differs from fp32, but not wildly
    assert result["flops"]["256"]["total"] == sum(result["flops"]["256"]["per_scale"].values())
    assert "frames/s" in done.stdout and "% matmul_bf16 peak" in done.stdout


def test_infer_refuses_fp16_on_cpu() -> None:
    done = run_bench("bench/infer.py", "--sizes", "256", "--dtypes", "fp16", "--no_write")
    assert done.returncode == 2 and "fp16 autocast needs --device cuda" in done.stderr


def test_train_step_smoke(tmp_path: Path) -> None:
    out = tmp_path / "train.json"
    done = run_bench("bench/train_step.py", "--configs", "fp32", "--steps", "1", "--no_reference_nets",
                     "--peak_quick", "--json", str(out), "--", "--loadSize", "64", "--ngf", "8", "--n_blocks", "1",
                     "--ndf", "8")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    row = result["rows"][0]
    assert row["config"] == "fp32" and row["losses_finite"] and row["frames"] == 6 and row["flops_per_step"] > 0
    assert row["frames_per_second"] == pytest.approx(6 / row["seconds_per_step"])
    assert row["peak_fractions"]["matmul_fp32"] > 0 and result["machine"].startswith("machine: ")
    assert result["failed"] == [] and row["flops_counted"] == "warmup"
    assert len(result["peaks"]["runs"]) == 2  # measured before and after the configurations


def test_train_step_refuses_fp16_on_cpu_before_running() -> None:
    done = run_bench("bench/train_step.py", "--configs", "fp32,fp16", "--no_peak")
    assert done.returncode == 2 and "--configs fp32,fp16: fp16 autocast needs --device cuda" in done.stderr


def test_flow_utilisation_and_flop_count() -> None:
    conv = torch.nn.Conv2d(4, 8, 3, padding=1)
    flops = flow_bench.counted_flops(lambda: conv(torch.randn(1, 4, 16, 16)))
    assert flops == 2 * 4 * 8 * 9 * 16 * 16
    peaks = {"matmul_fp32": {"gflops": 10.0}, "conv3x3_fp32": {"gflops": 20.0}}
    assert flow_bench.utilisation(2e9, 1.0, peaks) == ("2.0 GFLOPs, 2 GFLOP/s, 20.0% of fp32 matmul / 10.0% of 3x3 "
                                                       "conv peak")
    assert flow_bench.utilisation(0, 1.0, peaks) == "-"  # DIS: OpenCV, not counted
    assert flow_bench.utilisation(2e9, 1.0, None).endswith("- of fp32 matmul / - of 3x3 conv peak")


def test_loader_smoke(tmp_path: Path) -> None:
    out = tmp_path / "loader.json"
    done = run_bench("bench/loader.py", "--dataroot", str(tmp_path / "none"), "--nThreads", "0", "--items", "1",
                     "--steps", "1", "--loop_items", "0", "--peak_quick", "--json", str(out), "--", "--ngf", "8",
                     "--n_blocks", "1", "--ndf", "8", "--loadSize", "64")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    step = result["step"]
    assert step["flops_per_step"] > 0 and step["peak_fractions"]["matmul_fp32"] > 0
    assert result["peaks"]["matmul_fp32"]["gflops"] > 0 and result["rows"][0]["loader_frames_per_s"] > 0


def test_flow_backend_worker_applies_channels_last(monkeypatch: pytest.MonkeyPatch) -> None:
    """--channels_last reaches the backend's network, and its FLOPs are counted from one extra call."""

    class TinyFlow(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(6, 2, 3, padding=1)

        def forward(self, current: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
            return self.conv(torch.cat([current, previous], 1))

    net = TinyFlow()
    monkeypatch.setattr(flow_bench, "make_backend", lambda name, device: net)
    row = flow_bench.run_backend("tiny", 32, 64, torch.device("cpu"), 1, channels_last=True)
    assert net.conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert row["flops"] == 2 * 6 * 2 * 9 * 32 * 64 and row["frame"] == "64x32" and row["seconds"] > 0


def test_pose_extraction_reports_speed_share_and_jitter(tmp_path: Path) -> None:
    out = tmp_path / "pose.json"
    done = run_bench("bench/pose_extraction.py", "tests/data/media/walking_5frames.mp4", "--max_people", "1",
                     "--json", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    row = result["rows"][0]
    assert result["machine"].startswith("machine: ") and row["frames"] == 5 and row["size"] == "960x540"
    assert row["fps"] > 0 and row["found_detected"] == 1.0 and row["found_after_filling"] == 1.0
    assert "jitter_raw_px" in row and "walking_5frames.mp4" in done.stdout


def test_stream_bench_reports_speed_quality_and_memory(tmp_path: Path) -> None:
    from tests.test_test_py import tiny_setup

    tiny_setup(tmp_path)
    out = tmp_path / "stream.json"
    sequence = {kind: str(tmp_path / "data" / f"test_{kind}" / "seq_a") for kind in ("A", "inst", "B")}
    done = run_bench("bench/stream.py", "--name", "tiny", "--checkpoints_dir", str(tmp_path / "ck"), "--input",
                     sequence["A"], "--instance", sequence["inst"], "--real", sequence["B"], "--sizes", "128",
                     "--paths", "fp32,channels_last", "--frames", "2", "--memory_frames", "5", "--no_peak", "--json",
                     str(out), "--flags", "--label_nc 8 --use_instance --fg --fg_labels 2 --ngf 8 --n_downsample_G 2 "
                     "--n_blocks 2 --n_scales_spatial 2 --gpu_ids -1")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    fp32, nhwc = result["rows"]
    assert fp32["path"] == "fp32" and fp32["frame"] == "128x64" and fp32["fps"] > 0 and fp32["gflop"] > 0
    assert nhwc["path"] == "channels_last" and nhwc["psnr_db_min"] > 0 and nhwc["latency_p95_ms"] > 0
    assert result["memory"]["frames"] == 5 and "growth_mib" in result["memory"]
