"""Quality and temporal-consistency metrics of generated videos against the real ones.

Per frame: PSNR and SSIM (torchmetrics), on RGB in [0, 1]. Temporal flicker: the mean absolute difference
between a generated frame and the previous generated frame warped into it by the optical flow of the REAL
frames (so a generator that copies the motion of the real video scores low), counted only where that flow is
reliable (the warp of the real previous frame reproduces the real current frame). The same error on the real
frames is the floor a perfect generator would reach.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

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
