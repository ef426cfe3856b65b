"""The three custom ops of FlowNet2 (correlation, resample2d, channelnorm) in plain PyTorch.

The original FlowNet2 ships them as CUDA extensions; these are forward-equivalent re-derivations from the
kernels' index formulas (see tests/data/reference/REFERENCE_README.md §3.3 and §5, patch P2). They run on any
device and in float32; FlowNet2 is used frozen, so autograd's backward is all we need.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

CORRELATION_METHODS = ("banded", "shifts")


def correlation(
    features_1: torch.Tensor,
    features_2: torch.Tensor,
    max_displacement: int = 20,
    stride: int = 2,
    method: str = "banded",
    chunk_size: int = 1,
    tile_width: int = 32,
) -> torch.Tensor:
    """Cost volume between two feature maps, as FlowNetC's correlation layer computes it.

    For every displacement (dy, dx) on the grid ``{-max_displacement, ..., +max_displacement}`` with step
    ``stride`` (both axes), the output channel holds the mean over channels of
    ``features_1[:, :, y, x] * features_2[:, :, y + dy, x + dx]``; ``features_2`` is zero outside the image.
    Channels are ordered with dy varying slowest and dx fastest. This is the FlowNetC configuration
    pad 20, kernel 1, max displacement 20, stride1 1, stride2 2 (441 channels); kernel size 1 and stride1 1 are
    the only ones supported because FlowNet2 uses no other.

    Two implementations (timings and peak memory in bench/flow.py):

    * ``banded`` (default): one loop step per dy; the row-against-row products are matrix products of
      ``tile_width``-pixel tiles of ``features_1`` against the ``tile_width + 2 * max_displacement`` pixels of
      ``features_2`` they can reach, from which the needed dx diagonals are gathered. Extra memory is about
      ``(tile_width + 2 * max_displacement) / tile_width`` feature maps, and the work runs in BLAS.
    * ``shifts``: ``chunk_size`` displacements per step as elementwise products of shifted views. Chunk 1 keeps
      the extra memory at about two feature maps but is memory-bandwidth bound on large maps; chunk ``n_disp**2``
      is the "full unfold" that materialises all shifted copies at once (441 feature maps).

    Args:
        features_1: (B, C, H, W) features of the first image.
        features_2: (B, C, H, W) features of the second image.
        max_displacement: largest displacement in pixels (the padding equals it).
        stride: step between displacements.
        method: ``"banded"`` or ``"shifts"``.
        chunk_size: displacements per step for ``shifts``.
        tile_width: tile width in pixels for ``banded``.

    Returns:
        (B, n_disp**2, H, W) with ``n_disp = 2 * (max_displacement // stride) + 1``.
    """
    if features_1.shape != features_2.shape or features_1.dim() != 4:
        raise ValueError(
            f"correlation expects two (B, C, H, W) tensors of equal shape, got {tuple(features_1.shape)} "
            f"and {tuple(features_2.shape)}"
        )
    if method == "banded":
        if tile_width < 1:
            raise ValueError(f"correlation tile_width must be >= 1, got {tile_width}")
        output = _correlation_banded(features_1, features_2, max_displacement, stride, tile_width)
    elif method == "shifts":
        if chunk_size < 1:
            raise ValueError(f"correlation chunk_size must be >= 1, got {chunk_size}")
        output = _correlation_shifts(features_1, features_2, max_displacement, stride, chunk_size)
    else:
        raise ValueError(f"correlation method must be one of {CORRELATION_METHODS}, got '{method}'")
    # Kernel size 1: the CUDA kernel divides by kernel_size**2 * C = C.
    return output.div_(features_1.shape[1])


def _correlation_shifts(features_1: torch.Tensor, features_2: torch.Tensor, max_displacement: int,
                        stride: int, chunk_size: int) -> torch.Tensor:
    """Channel sums of shifted products, ``chunk_size`` displacements at a time: (B, n_disp**2, H, W)."""
    batch, _, height, width = features_1.shape
    radius = max_displacement // stride
    offsets = [k * stride for k in range(-radius, radius + 1)]
    displacements = [(dy, dx) for dy in offsets for dx in offsets]  # dy slow, dx fast
    pad = max_displacement
    padded_2 = F.pad(features_2, (pad, pad, pad, pad))  # (B, C, H + 2 pad, W + 2 pad), zeros outside

    def shifted(dy: int, dx: int) -> torch.Tensor:
        # View of features_2 moved by (dy, dx): element (y, x) is features_2[y + dy, x + dx] (0 outside).
        return padded_2[:, :, pad + dy : pad + dy + height, pad + dx : pad + dx + width]

    output = features_1.new_empty(batch, len(displacements), height, width)
    for start in range(0, len(displacements), chunk_size):
        chunk = displacements[start : start + chunk_size]
        if len(chunk) == 1:
            output[:, start] = (features_1 * shifted(*chunk[0])).sum(dim=1)  # (B, C, H, W) -> (B, H, W)
        else:
            stacked = torch.stack([shifted(dy, dx) for dy, dx in chunk], dim=1)  # (B, k, C, H, W)
            output[:, start : start + len(chunk)] = (stacked * features_1.unsqueeze(1)).sum(dim=2)
    return output


def _correlation_banded(features_1: torch.Tensor, features_2: torch.Tensor, max_displacement: int,
                        stride: int, tile_width: int) -> torch.Tensor:
    """Channel sums via tiled matrix products, one loop step per dy: (B, n_disp**2, H, W)."""
    batch, channels, height, width = features_1.shape
    pad = max_displacement
    n_disp = 2 * (max_displacement // stride) + 1
    tile = min(tile_width, width)
    n_tiles = -(-width // tile)
    padded_width = n_tiles * tile  # W rounded up to whole tiles; the extra columns are cropped at the end
    reach = tile + 2 * pad  # columns of features_2 a tile can be compared with

    # Channels last so that a tile is a (tile, C) matrix and a row window a (reach, C) matrix.
    tiles_1 = F.pad(features_1, (0, padded_width - width)).permute(0, 2, 3, 1).contiguous()
    tiles_1 = tiles_1.view(batch, height, n_tiles, tile, channels)  # (B, H, nT, T, C)
    rows_2 = F.pad(features_2, (pad, pad + padded_width - width, pad, pad)).permute(0, 2, 3, 1).contiguous()
    # rows_2: (B, H + 2 pad, padded_width + 2 pad, C)
    stride_b, stride_h, stride_w, stride_c = rows_2.stride()
    # Within a tile's product matrix, pixel x (0..T-1) meets displacement dx at column x + pad + dx.
    columns = torch.arange(tile, device=features_1.device).view(tile, 1) + torch.arange(
        0, 2 * pad + 1, stride, device=features_1.device
    ).view(1, n_disp)  # (T, n_disp)
    columns = columns.expand(batch, height, n_tiles, tile, n_disp)

    output = features_1.new_empty(batch, n_disp, n_disp, height, width)
    for index_y, dy in enumerate(range(-pad, pad + 1, stride)):
        rows = rows_2[:, pad + dy : pad + dy + height]  # (B, H, padded_width + 2 pad, C), a view
        # Overlapping (reach, C) windows starting every `tile` columns; a view, copied once by matmul.
        windows = rows.as_strided(
            (batch, height, n_tiles, reach, channels),
            (stride_b, stride_h, tile * stride_w, stride_w, stride_c),
        )
        products = torch.matmul(tiles_1, windows.transpose(-1, -2))  # (B, H, nT, T, reach)
        band = products.gather(4, columns)  # (B, H, nT, T, n_disp)
        band = band.view(batch, height, padded_width, n_disp)[:, :, :width]  # (B, H, W, n_disp)
        output[:, index_y] = band.permute(0, 3, 1, 2)  # (B, n_disp (dx), H, W)
    return output.view(batch, n_disp * n_disp, height, width)


def resample2d(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward-warp ``image`` by a pixel flow: ``out[y, x] = image(y + flow_y[y, x], x + flow_x[y, x])``.

    Bilinear interpolation; sample positions outside the image are clamped to the border pixel. This equals
    FlowNet2's Resample2d kernel (weights from the unclamped position, clamped tap indices) and vid2vid's own
    warp, i.e. ``grid_sample(padding_mode='border', align_corners=True)``.

    Args:
        image: (B, C, H, W).
        flow: (B, 2, H, W) in pixels, channel 0 = x (width) displacement, channel 1 = y.

    Returns:
        (B, C, H, W) warped image.
    """
    if image.dim() != 4 or flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(
            f"resample2d expects image (B, C, H, W) and flow (B, 2, H, W), got {tuple(image.shape)} "
            f"and {tuple(flow.shape)}"
        )
    if image.shape[0] != flow.shape[0] or image.shape[2:] != flow.shape[2:]:
        raise ValueError(
            f"resample2d: image {tuple(image.shape)} and flow {tuple(flow.shape)} differ in batch or size"
        )
    _, _, height, width = image.shape
    if height < 2 or width < 2:
        raise ValueError(f"resample2d needs an image of at least 2x2 pixels, got {height}x{width}")
    ys = torch.arange(height, device=flow.device, dtype=flow.dtype).view(1, height, 1)
    xs = torch.arange(width, device=flow.device, dtype=flow.dtype).view(1, 1, width)
    # Pixel positions -> [-1, 1] with align_corners=True: pixel 0 -> -1, pixel (size-1) -> +1.
    grid_x = (xs + flow[:, 0]) * (2.0 / (width - 1)) - 1.0  # (B, H, W)
    grid_y = (ys + flow[:, 1]) * (2.0 / (height - 1)) - 1.0  # (B, H, W)
    grid = torch.stack((grid_x, grid_y), dim=3)  # (B, H, W, 2)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


def channelnorm(tensor: torch.Tensor) -> torch.Tensor:
    """Euclidean norm over channels, no epsilon: (B, C, H, W) -> (B, 1, H, W)."""
    return tensor.pow(2).sum(dim=1, keepdim=True).sqrt()
