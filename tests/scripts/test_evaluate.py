"""scripts/evaluate.py on results laid out as test.py writes them: metrics that rank outputs correctly."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from models.flow import build_flow_estimator
from models.video_metrics import flicker, psnr_ssim

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("evaluate_tool", REPO / "scripts" / "evaluate.py")
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)


def moving_frames(n: int = 5, shift: int = 2) -> list[np.ndarray]:
    """A smooth textured scene panning right by ``shift`` px per frame (64x96)."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (16, 32, 3)).astype(np.uint8)
    wide = np.asarray(Image.fromarray(base).resize((256, 64), Image.BICUBIC))
    return [np.ascontiguousarray(wide[:, 80 - shift * t : 176 - shift * t]) for t in range(n)]


def write_run(root: Path, real: list[np.ndarray], fake: list[np.ndarray]) -> tuple[Path, Path]:
    data, results = root / "data" / "test_B" / "s", root / "results" / "s"
    data.mkdir(parents=True)
    results.mkdir(parents=True)
    for t, (r, f) in enumerate(zip(real, fake, strict=True)):
        Image.fromarray(r).save(data / f"s_{t:04d}.png")
        Image.fromarray(f).save(results / f"fake_B_s_{t:04d}.jpg", quality=98)
    return root / "results", root / "data"


def test_copy_of_the_real_video_scores_best_and_flickers_like_it(tmp_path: Path, capsys) -> None:
    real = moving_frames()
    noisy = [np.clip(r.astype(int) + np.random.default_rng(t).integers(-40, 40, r.shape), 0, 255).astype(np.uint8)
             for t, r in enumerate(real)]
    reports = {}
    for name, fake in (("copy", real), ("noisy", noisy)):
        results, data = write_run(tmp_path / name, real, fake)
        assert tool.main(["--results", str(results), "--dataroot", str(data)]) == 0
        reports[name] = json.loads((results / "evaluation" / "evaluation.json").read_text())
        assert (results / "evaluation" / "index.html").is_file()
        assert (results / "evaluation" / "s_metrics.png").is_file()
    copy, noisy_report = reports["copy"]["mean"], reports["noisy"]["mean"]
    # measured: copy 30.9 dB / SSIM 0.979 (JPEG only), noisy 23.2 dB / 0.83
    assert copy["psnr"] > 28 and copy["ssim"] > 0.95 and noisy_report["psnr"] < copy["psnr"] - 5
    # a copy of the real video flickers little (JPEG noise only: 0.005); per-frame noise far more (0.07)
    assert copy["flicker"] < 0.02 and noisy_report["flicker"] > 5 * copy["flicker"]
    assert copy["flicker_real"] < copy["flicker"]  # the real video is the floor
    assert len(reports["copy"]["sequences"]["s"]["flicker"]) == 4
    out = capsys.readouterr().out
    assert "LPIPS" in out or "PSNR" in out


def test_flicker_uses_the_real_motion() -> None:
    """A generated video that is static while the real one moves flickers; one that moves with it does not."""
    real = torch.stack([torch.from_numpy(f).permute(2, 0, 1).float() / 127.5 - 1 for f in moving_frames()])
    flow = build_flow_estimator("dis")
    moving = flicker(real, real, flow)["fake"].mean()
    static = flicker(real[:1].expand_as(real).contiguous(), real, flow)["fake"].mean()
    assert static > 3 * moving
    psnr, ssim = psnr_ssim(real, real)
    assert torch.isinf(psnr).all() or (psnr > 60).all()
    assert torch.allclose(ssim, torch.ones_like(ssim))


def test_clear_errors(tmp_path: Path, capsys) -> None:
    assert tool.main(["--results", str(tmp_path / "none"), "--dataroot", str(tmp_path)]) == 1
    assert "run test.py first" in capsys.readouterr().err
    (tmp_path / "r" / "s").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "r" / "s" / "fake_B_0.jpg")
    assert tool.main(["--results", str(tmp_path / "r"), "--dataroot", str(tmp_path)]) == 1
    assert "no real frames" in capsys.readouterr().err
    (tmp_path / "test_B" / "s").mkdir(parents=True)
    assert tool.main(["--results", str(tmp_path / "r"), "--dataroot", str(tmp_path)]) == 1
    assert "no real frame for" in capsys.readouterr().err


@pytest.mark.parametrize("frames", [1])
def test_single_frame_sequences_have_no_flicker(tmp_path: Path, frames: int) -> None:
    real = moving_frames(frames)
    results, data = write_run(tmp_path, real, real)
    assert tool.main(["--results", str(results), "--dataroot", str(data)]) == 0
    entry = json.loads((results / "evaluation" / "evaluation.json").read_text())["sequences"]["s"]
    assert "flicker" not in entry and len(entry["psnr"]) == 1
