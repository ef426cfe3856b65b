"""Backward warping of images by a dense optical flow (vid2vid's ``resample``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def base_grid(batch: int, height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Identity sampling grid in [-1, 1], channels (x, y). Shape (B, 2, H, W)."""
    xs = (
        torch.linspace(-1.0, 1.0, width, device=device, dtype=dtype)
        .view(1, 1, 1, width)
        .expand(batch, 1, height, width)
    )
    ys = (
        torch.linspace(-1.0, 1.0, height, device=device, dtype=dtype)
        .view(1, 1, height, 1)
        .expand(batch, 1, height, width)
    )
    return torch.cat([xs, ys], dim=1)


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``image`` at ``(x + u, y + v)``: bilinear, border clamping, pixel centres at -1/+1 (align_corners=True).

    Args:
        image: (B, C, H, W) previous frame.
        flow: (B, 2, H, W) flow in pixels from the current frame to ``image`` (u = x offset, v = y offset).
    Returns:
        (B, C, H, W) ``image`` warped into the current frame.

    The reference was written for PyTorch <= 1.2 where ``grid_sample`` meant ``align_corners=True``; its grid
    (``linspace(-1, 1)``) and flow normalisation by ``(W-1)/2`` only make sense with that convention.
    """
    if image.dim() != 4 or flow.dim() != 4 or flow.size(1) != 2:
        raise ValueError(
            f"warp expects image (B,C,H,W) and flow (B,2,H,W), got {tuple(image.shape)} and {tuple(flow.shape)}"
        )
    batch, _, height, width = image.shape
    if flow.shape[0] != batch or flow.shape[2:] != image.shape[2:]:
        raise ValueError(f"warp: flow {tuple(flow.shape)} does not match image {tuple(image.shape)}")
    compute_dtype = torch.float32 if image.dtype in (torch.float16, torch.bfloat16) else image.dtype
    flow_normalised = torch.cat(
        [flow[:, 0:1] / ((width - 1.0) / 2.0), flow[:, 1:2] / ((height - 1.0) / 2.0)], dim=1
    ).to(compute_dtype)
    grid = base_grid(batch, height, width, flow.device, compute_dtype) + flow_normalised  # (B, 2, H, W)
    grid = grid.permute(0, 2, 3, 1)  # (B, H, W, 2)
    out = F.grid_sample(image.to(compute_dtype), grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.to(image.dtype)
