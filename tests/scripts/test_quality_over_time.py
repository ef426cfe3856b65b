"""scripts/quality_over_time.py: per-frame PSNR of long sequences, first vs last window and the slope, so that a
run whose frames get worse over time shows a negative slope and a stable one does not."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
N_FRAMES = 30


def write_runs(root: Path) -> tuple[Path, Path, Path]:
    """A real 30-frame sequence (a textured square moving right), a run whose error grows with the frame index
    and one whose error stays constant."""
    rng = np.random.default_rng(0)
    texture = np.kron(rng.integers(40, 216, (4, 6, 3)), np.ones((8, 8, 1))).astype(np.float32)  # JPEG-friendly
    real_dir = root / "data" / "test_B" / "seq"
    drifting, stable = root / "drift" / "seq", root / "stable" / "seq"
    for folder in (real_dir, drifting, stable):
        folder.mkdir(parents=True)
    for t in range(N_FRAMES):
        real = np.roll(texture, t, axis=1)
        Image.fromarray(real.astype(np.uint8)).save(real_dir / f"f_{t:03d}.png")
        for folder, sigma in ((drifting, 2 + 2 * t), (stable, 20)):
            noise = np.random.default_rng(t).normal(0, sigma, real.shape)
            fake = np.clip(real + noise, 0, 255).astype(np.uint8)
            Image.fromarray(fake).save(folder / f"fake_B_f_{t:03d}.jpg", quality=98)
    return root / "data", root / "drift", root / "stable"


def test_a_drifting_run_has_a_negative_slope_and_a_stable_one_none(tmp_path: Path) -> None:
    data, drifting, stable = write_runs(tmp_path)
    out = tmp_path / "out"
    command = [sys.executable, "scripts/quality_over_time.py", "--dataroot", str(data), "--out", str(out),
               "--run", f"drifting={drifting}", "--run", f"stable={stable}", "--window", "5"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    runs = json.loads((out / "quality_over_time.json").read_text())["runs"]
    assert runs["drifting"]["frames"] == N_FRAMES
    assert runs["drifting"]["psnr_slope_per_100"] < -20 and runs["drifting"]["psnr_last"] < runs["drifting"][
        "psnr_first"] - 5
    assert abs(runs["stable"]["psnr_slope_per_100"]) < 3
    assert abs(runs["stable"]["psnr_first"] - runs["stable"]["psnr_last"]) < 1
    assert np.isfinite(runs["drifting"]["flicker_mean"]) and np.isfinite(runs["stable"]["flicker_mean"])
    assert (out / "quality_over_time.png").stat().st_size > 0
    assert "| drifting | 30 |" in (out / "quality_over_time.md").read_text()


def test_a_missing_results_folder_is_one_line(tmp_path: Path) -> None:
    command = [sys.executable, "scripts/quality_over_time.py", "--dataroot", str(tmp_path), "--out",
               str(tmp_path / "out"), "--run", f"x={tmp_path / 'missing'}"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "expected LABEL=FOLDER with an existing test.py results folder" in done.stderr
    assert not (tmp_path / "out").exists()
