"""Turn dataset tensors into generator inputs: one-hot labels, instance-boundary channel, pyramids, fg masks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch._subclasses.fake_tensor import is_fake


def instance_edges(instances: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """1 where the instance id differs from a 4-neighbour (both sides of a boundary), else 0.

    instances: (..., H, W) integer-valued ids. Returns a ``dtype`` tensor of the same shape.
    """
    edges = torch.zeros_like(instances, dtype=torch.bool)
    horizontal = instances[..., :, 1:] != instances[..., :, :-1]
    vertical = instances[..., 1:, :] != instances[..., :-1, :]
    edges[..., :, 1:] |= horizontal
    edges[..., :, :-1] |= horizontal
    edges[..., 1:, :] |= vertical
    edges[..., :-1, :] |= vertical
    return edges.to(dtype)


def encode_labels(label_map: torch.Tensor, label_nc: int, instances: torch.Tensor | None = None) -> torch.Tensor:
    """Encode a window of frames.

    Args:
        label_map: (B, T, 1, H, W) class indices when ``label_nc > 0``, else (B, T, input_nc, H, W) continuous.
        label_nc: number of classes, 0 for continuous inputs.
        instances: (B, T, 1, H, W) instance ids, or None without ``--use_instance``.
    Returns:
        (B, T, C, H, W), C = label_nc or input_nc, +1 (instance edges, last) with instances; float64 when
        ``label_map`` is float64 (the parity tests replay in double precision), else float32.
    """
    dtype = torch.float64 if label_map.dtype == torch.float64 else torch.float32
    if label_map.dim() != 5:
        raise ValueError(f"label map must be (B, T, C, H, W), got {tuple(label_map.shape)}")
    if label_nc != 0:
        if label_map.size(2) != 1:
            raise ValueError(f"with --label_nc {label_nc} the label map needs 1 channel, got {label_map.size(2)}")
        indices = label_map.long()
        # a data-dependent check: skipped while torch.compile traces or on fake tensors (the device test), where
        # it cannot run; the dataset modes have checked the ids on the CPU already (data/modes/folders.py)
        checkable = not (torch.compiler.is_compiling() or is_fake(indices))
        if checkable and indices.numel() and (indices.min() < 0 or indices.max() >= label_nc):
            raise ValueError(
                f"label values must lie in [0, {label_nc - 1}] for --label_nc {label_nc}; "
                f"got range [{int(indices.min())}, {int(indices.max())}]"
            )
        b, t, _, h, w = label_map.shape
        encoded = torch.zeros(b, t, label_nc, h, w, device=label_map.device, dtype=dtype)
        encoded.scatter_(2, indices, 1.0)
    else:
        encoded = label_map.to(dtype)
    if instances is not None:
        encoded = torch.cat([encoded, instance_edges(instances, dtype)], dim=2)
    return encoded


def downsample_pyramid_level(x: torch.Tensor) -> torch.Tensor:
    """3x3 average pool, stride 2, padding 1, not counting padding; on (B, T, C, H, W)."""
    b, t, c, h, w = x.shape
    pooled = F.avg_pool2d(x.reshape(b * t, c, h, w), 3, stride=2, padding=1, count_include_pad=False)
    return pooled.view(b, t, c, pooled.size(-2), pooled.size(-1))


def build_pyramid(x: torch.Tensor, n_scales: int) -> list[torch.Tensor]:
    """[x, x/2, x/4, ...] (finest first), ``n_scales`` levels of (B, T, C, h, w)."""
    levels = [x]
    for _ in range(1, n_scales):
        levels.append(downsample_pyramid_level(levels[-1]))
    return levels


def foreground_mask(labels: torch.Tensor, frame: int, fg_labels: list[int]) -> torch.Tensor:
    """clamp(sum of the one-hot channels ``fg_labels`` of frame ``frame``, 0, 1): (B, T, C, h, w) -> (B, 1, h, w).

    Soft at coarse pyramid levels, because the one-hot maps were average-pooled.
    """
    mask = labels[:, frame, fg_labels[0]].clone()
    for label in fg_labels[1:]:
        mask = mask + labels[:, frame, label]
    return torch.clamp(mask, 0, 1).unsqueeze(1)
