"""Measure how far float32 rounding alone moves the chained parity replay, per vector and call depth.

For every kernel order in `KERNEL_ORDERS` (a fresh interpreter each, since ATen and oneDNN pick their kernels
at start-up) the chained replay of each vector runs in float32 and in float64 (weights and inputs cast), and
the largest float32-vs-float64 error of every (vector, group, depth) is kept; groups are "tensor"
(`scaled_error`) and "loss" (relative error). The float32-vs-reference error is recorded beside it for the
record. The maximum over kernel orders is written to tests/data/reference/parity_drift.json, from which
`test_reference_parity.py` derives its chained bounds.

    .venv/bin/python -m tests.models.parity_drift            # print the table
    .venv/bin/python -m tests.models.parity_drift --write    # and rewrite the JSON
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DRIFT_FILE = REPO_ROOT / "tests" / "data" / "reference" / "parity_drift.json"
# name -> (environment, threads). "avx2" restricts ATen and oneDNN to AVX2 kernels: on an AVX-512 machine this
# reproduces the rounding of an AVX2-only CPU; "default" is ATen's scalar-vector fallback; "sse41" the oldest.
KERNEL_ORDERS: dict[str, tuple[dict[str, str], int]] = {
    "native, 2 threads": ({}, 2),
    "native, 1 thread": ({}, 1),
    "ATen default, 2 threads": ({"ATEN_CPU_CAPABILITY": "default"}, 2),
    "ATen+oneDNN avx2, 2 threads": ({"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}, 2),
    "ATen default+oneDNN sse41, 1 thread": ({"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"}, 1),
}


def measure_here() -> dict:
    """In this interpreter: {vector: {group: {depth: [drift, error vs reference]}}}."""
    import torch

    from tests.models import parity_replay as replay

    table: dict = {}
    for name in replay.VECTORS:
        reference = replay.reference_items(name)
        ours = {
            dtype: replay.replay_items(
                name, replay.chained_training(name, dtype), replay.chained_inference(name, dtype)
            )
            for dtype in (torch.float32, torch.float64)
        }
        per_vector = table.setdefault(name, {})
        for label, (group, depth, expected) in reference.items():
            drift = replay.item_error(group, ours[torch.float32][label], ours[torch.float64][label])
            error = replay.item_error(group, ours[torch.float32][label], expected)
            cell = per_vector.setdefault(group, {}).setdefault(str(depth), [0.0, 0.0])
            cell[0], cell[1] = max(cell[0], drift), max(cell[1], error)
    return table


def cpu_description() -> str:
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    simd = [f for f in ("avx2", "avx512f", "avx512_bf16") if f in flags]
    return f"{model}, {os.cpu_count()} cores, {'+'.join(simd) or 'no AVX2'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {DRIFT_FILE.relative_to(REPO_ROOT)}")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        import torch

        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        json.dump(measure_here(), sys.stdout)
        return 0
    runs = {}
    for order, (env, threads) in KERNEL_ORDERS.items():
        env = {**os.environ, **env, "OMP_NUM_THREADS": str(threads)}
        result = subprocess.run(
            [sys.executable, "-m", "tests.models.parity_drift", "--worker"],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        runs[order] = json.loads(result.stdout)
    drift: dict = {}
    for table in runs.values():
        for name, groups in table.items():
            for group, depths in groups.items():
                for depth, (value, _) in depths.items():
                    cell = drift.setdefault(name, {}).setdefault(group, {})
                    cell[depth] = max(cell.get(depth, 0.0), value)
    print(f"float32-vs-float64 drift (max over {len(runs)} kernel orders) | float32-vs-reference per order")
    for name, groups in drift.items():
        for group, depths in groups.items():
            for depth, value in sorted(depths.items(), key=lambda kv: int(kv[0])):
                errors = " ".join(f"{runs[o][name][group][depth][1]:.1e}" for o in runs)
                print(f"{name:38s} {group:6s} depth {depth}: drift {value:.2e} | vs reference {errors}")
    if args.write:
        import torch

        record = {
            "about": "float32-vs-float64 drift of the chained parity replay, max over kernel orders; "
            "written by `python -m tests.models.parity_drift --write`",
            "machine": cpu_description(),
            "torch": torch.__version__,
            "kernel_orders": list(KERNEL_ORDERS),
            "drift": drift,
            "error_vs_reference": {o: runs[o] for o in runs},
        }
        DRIFT_FILE.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {DRIFT_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
