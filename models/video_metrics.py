"""Quality and temporal-consistency metrics of generated videos against the real ones.

Per frame: PSNR and SSIM (torchmetrics), on RGB in [0, 1]. Temporal flicker: the mean absolute difference
between a generated frame and the previous generated frame warped into it by the optical flow of the REAL
frames (so a generator that copies the motion of the real video scores low), counted only where that flow is
reliable (the warp of the real previous frame reproduces the real current frame). The same error on the real
frames is the floor a perfect generator would reach. LPIPS and FID (torchmetrics) run when their pretrained
backbones are on this machine (see `optional_metric`).
"""
from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F

from models.checkpoint import read_state_dict
from models.flow import FlowEstimator, warp_confidence
from models.flownet2.ops import resample2d


def to_unit(frames: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1]."""
    return (frames.clamp(-1, 1) + 1) / 2


def psnr_ssim(fake: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame PSNR (dB) and SSIM of (N, 3, H, W) frames in [-1, 1]. Returns two (N,) tensors."""
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    fake, real = to_unit(fake), to_unit(real)
    psnr = torch.stack([peak_signal_noise_ratio(f[None], r[None], data_range=1.0) for f, r in zip(fake, real,
                                                                                                  strict=True)])
    ssim = torch.stack([structural_similarity_index_measure(f[None], r[None], data_range=1.0)
                        for f, r in zip(fake, real, strict=True)])
    return psnr, ssim


def masked_mean(error: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of (N, C, H, W) ``error`` over the pixels where the (N, 1, H, W) mask is 1, per frame: (N,)."""
    weight = mask.expand_as(error)
    return (error * weight).sum(dim=(1, 2, 3)) / weight.sum(dim=(1, 2, 3)).clamp(min=1)


@torch.no_grad()
def flicker(fake: torch.Tensor, real: torch.Tensor, flow: FlowEstimator) -> dict[str, torch.Tensor]:
    """Warping error of consecutive frames of one sequence, (T, 3, H, W) each in [-1, 1].

    Returns ``fake`` and ``real`` (T-1,) errors in [0, 1] units (mean |frame_t - warp(frame_t-1)| over the
    reliable pixels) and ``valid`` (T-1,), the fraction of pixels counted.
    """
    if fake.shape != real.shape:
        raise ValueError(f"generated frames {tuple(fake.shape)} and real frames {tuple(real.shape)} differ")
    current, previous = real[1:], real[:-1]
    result = flow(current, previous)  # flow current -> previous, in pixels
    mask = (warp_confidence(current, previous, result.flow) > 0.5).float()  # (T-1, 1, H, W)
    fake_error = (to_unit(fake[1:]) - to_unit(resample2d(fake[:-1], result.flow))).abs()
    real_error = (to_unit(current) - to_unit(resample2d(previous, result.flow))).abs()
    return {"fake": masked_mean(fake_error, mask), "real": masked_mean(real_error, mask),
            "valid": mask.mean(dim=(1, 2, 3))}


def resize_like(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, 3, h, w) -> (N, 3, H, W) bicubic, when the real frames were stored at another size."""
    if tuple(frames.shape[-2:]) == tuple(size):
        return frames
    return F.interpolate(frames, size=size, mode="bicubic", align_corners=False).clamp(-1, 1)


# ---------------------------------------------------------------------------------------------- LPIPS and FID
# Both need pretrained backbones that no package ships. They are used only when the file is on this machine: in
# the torch hub cache under the name torchvision / torch-fidelity download it to, or at a path the user gives.
# Nothing here ever downloads.
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"  # torchvision's AlexNet_Weights.IMAGENET1K_V1 (LPIPS 'alex')
INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"  # torch-fidelity's port of the FID Inception


def cached_weights(file_name: str) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / file_name


def find_weights(given: str | None, file_name: str, what: str) -> Path | None:
    """The weights file: ``given`` (must exist), else the hub-cache copy, else None."""
    if given:
        path = Path(given)
        if not path.is_file():
            raise FileNotFoundError(f"{what} weights {path} not found; check the path, or drop the flag to use "
                                    f"{cached_weights(file_name)} (or skip {what} without it)")
        return path
    cached = cached_weights(file_name)
    return cached if cached.is_file() else None


@contextmanager
def hub_dir_holding(file_name: str, weights: Path) -> Iterator[None]:
    """torch.hub pointed at a temporary cache whose ``checkpoints/<file_name>`` is ``weights``, so that a library
    which looks there by that name finds this file instead of downloading."""
    previous = torch.hub.get_dir()
    with tempfile.TemporaryDirectory() as hub:
        (Path(hub) / "checkpoints").mkdir()
        os.symlink(weights.resolve(), Path(hub) / "checkpoints" / file_name)
        torch.hub.set_dir(hub)
        try:
            yield
        finally:
            torch.hub.set_dir(previous)


class LPIPS:
    """Per-frame LPIPS (torchmetrics, AlexNet backbone) of (N, 3, H, W) frames in [-1, 1]; lower is closer."""

    def __init__(self, weights: Path) -> None:
        from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

        read_state_dict(weights, "LPIPS AlexNet weights", "pass a torchvision AlexNet state_dict")  # weights only
        with hub_dir_holding(ALEXNET_FILE, weights):
            self.metric = LearnedPerceptualImagePatchSimilarity(net_type="alex", reduction="none")

    @torch.no_grad()
    def __call__(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.metric(f[None].clamp(-1, 1), r[None].clamp(-1, 1)).reshape(1)
                          for f, r in zip(fake, real, strict=True)])


class FID:
    """Fréchet Inception distance (torchmetrics with torch-fidelity's Inception) between all generated and all
    real frames fed with ``update``. With fewer frames than the 2048 feature dimensions the covariances are
    rank-deficient and the value is biased upwards: compare runs on the same frame count only."""

    def __init__(self, weights: Path) -> None:
        from torchmetrics.image.fid import FrechetInceptionDistance

        # validated with weights_only=True first: torch-fidelity itself unpickles the file without that guard
        read_state_dict(weights, "FID Inception weights", f"pass torch-fidelity's {INCEPTION_FILE}")
        self.metric = FrechetInceptionDistance(feature=2048, normalize=True,
                                               feature_extractor_weights_path=str(weights))
        self.count = 0

    @torch.no_grad()
    def update(self, fake: torch.Tensor, real: torch.Tensor) -> None:
        self.metric.update(to_unit(real), real=True)
        self.metric.update(to_unit(fake), real=False)
        self.count += fake.size(0)

    def compute(self) -> float:
        return float(self.metric.compute())


def optional_metric(name: str, given: str | None) -> tuple[LPIPS | FID | None, str | None]:
    """(metric, None) when its weights are here, else (None, a one-line note saying why and how to fix)."""
    file_name, flag = (ALEXNET_FILE, "--lpips_weights") if name == "LPIPS" else (INCEPTION_FILE, "--fid_weights")
    if name == "FID" and importlib.util.find_spec("torch_fidelity") is None:
        return None, "FID skipped: torch-fidelity is not installed (pip install torch-fidelity)"
    path = find_weights(given, file_name, name)
    if path is None:
        return None, (f"{name} skipped: {file_name} is not in {cached_weights(file_name).parent} and no "
                      f"{flag} was given (copy the file there from a machine with internet, or pass {flag} PATH)")
    return (LPIPS if name == "LPIPS" else FID)(path), None
