"""scripts/evaluate.py on results laid out as test.py writes them: metrics that rank outputs correctly."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from models.flow import build_flow_estimator
from models.video_metrics import flicker, psnr_ssim
from tests.helpers import load_script

tool = load_script("scripts/evaluate.py")


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


# ---------------------------------------------------------------------------------------------- known answers
def panning_video(n: int = 5) -> torch.Tensor:
    """(n, 3, 64, 96) in [-0.5, 0.5] (no clamping for the offsets below), panning 2 px per frame."""
    frames = torch.stack([torch.from_numpy(f).permute(2, 0, 1).float() / 255 - 0.5 for f in moving_frames(n)])
    return frames


def test_known_answers_identical_offset_noise_and_flashing() -> None:
    real = panning_video()
    flow = build_flow_estimator("dis")
    base = flicker(real, real, flow)
    psnr, _ = psnr_ssim(real, real)
    assert torch.isinf(psnr).all()  # identical -> PSNR infinite
    assert torch.equal(base["fake"], base["real"]) and (base["real"] > 0).all()  # flicker = the real video's
    # a brightness offset of 0.1 (in [0, 1] units, 0.2 in [-1, 1]): PSNR = 20 log10(1 / 0.1) = 20 dB exactly,
    # and the offset video moves exactly as the real one
    offset = real + 0.2
    psnr, _ = psnr_ssim(offset, real)
    torch.testing.assert_close(psnr, torch.full_like(psnr, 20.0), atol=1e-3, rtol=0)
    torch.testing.assert_close(flicker(offset, real, flow)["fake"], base["real"], atol=1e-5, rtol=0)
    # Gaussian noise of sigma 0.02 in [0, 1] units: PSNR = -10 log10(sigma^2) = 33.98 dB (sampling: +-0.1 dB)
    noisy = real + 2 * 0.02 * torch.randn(real.shape, generator=torch.Generator().manual_seed(0))
    psnr, _ = psnr_ssim(noisy, real)
    assert (psnr - 33.98).abs().max() < 0.1
    # every other frame brightened by 0.1: each consecutive pair differs by 0.1 on top of the motion
    flashing = real.clone()
    flashing[1::2] += 0.2
    flashed = flicker(flashing, real, flow)["fake"]
    assert (flashed > base["real"] + 0.08).all() and flashed.mean() > 5 * base["real"].mean()


# ---------------------------------------------------------------------------------------------- LPIPS / FID
def random_inception_weights(path: Path) -> None:
    """torch-fidelity's Inception with random weights, saved as its weights file (no download)."""
    from unittest import mock

    from torch_fidelity import feature_extractor_inceptionv3 as fe

    with mock.patch.object(fe, "load_state_dict_from_url", return_value={}), \
            mock.patch.object(fe.FeatureExtractorInceptionV3, "load_state_dict", return_value=None):
        torch.manual_seed(0)
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    for module in net.modules():  # variance-preserving init: PyTorch's default fades to 0 over 90 layers
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    torch.save(net.state_dict(), path)


def test_lpips_and_fid_run_from_local_weights_and_never_download(tmp_path: Path, monkeypatch, capsys) -> None:
    import torchvision

    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: pytest.fail("tried to download"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_cache"))
    real = moving_frames(4)
    noisy = [np.clip(r.astype(int) + np.random.default_rng(t).integers(-60, 60, r.shape), 0, 255).astype(np.uint8)
             for t, r in enumerate(real)]
    # no weights anywhere: one line each, and the other metrics still run
    results, data = write_run(tmp_path / "none", real, real)
    assert tool.main(["--results", str(results), "--dataroot", str(data)]) == 0
    out = capsys.readouterr().out
    assert "LPIPS skipped" in out and "--lpips_weights" in out and "FID skipped" in out and "PSNR" in out

    torch.manual_seed(0)
    alexnet = tmp_path / "alexnet.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), alexnet)
    inception = tmp_path / "inception.pth"
    random_inception_weights(inception)
    reports = {}
    for name, fake in (("copy", real), ("noisy", noisy)):
        results, data = write_run(tmp_path / name, real, fake)
        assert tool.main(["--results", str(results), "--dataroot", str(data), "--lpips_weights", str(alexnet),
                          "--fid_weights", str(inception)]) == 0
        reports[name] = json.loads((results / "evaluation" / "evaluation.json").read_text())
        assert reports[name]["skipped"] == [] and reports[name]["fid_frames"] == 4
    copy, noisy_mean = reports["copy"]["mean"], reports["noisy"]["mean"]
    assert len(reports["copy"]["sequences"]["s"]["lpips"]) == 4
    assert copy["lpips"] < 0.5 * noisy_mean["lpips"]  # (JPEG-only differences vs heavy noise)
    assert abs(copy["fid"]) < 0.5 * noisy_mean["fid"]
    assert "LPIPS" in capsys.readouterr().out

    # the hub cache is used by its file name; a code-carrying file is refused before torch-fidelity unpickles it
    cache = tmp_path / "empty_cache" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    (cache / "alexnet-owt-7be5be79.pth").symlink_to(alexnet)
    results, data = write_run(tmp_path / "cached", real, real)
    assert tool.main(["--results", str(results), "--dataroot", str(data)]) == 0
    assert "lpips" in json.loads((results / "evaluation" / "evaluation.json").read_text())["mean"]
    import collections
    torch.save({"weights": collections.Counter()}, tmp_path / "evil.pth")
    assert tool.main(["--results", str(results), "--dataroot", str(data), "--fid_weights",
                      str(tmp_path / "evil.pth")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "evil.pth" in err
