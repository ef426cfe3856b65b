"""Tensor -> uint8 image conversions with the reference's exact arithmetic, and image saving.

The reference's results are compared byte for byte, so the conversions keep its choices: float32 maths,
``(x + 1) / 2 * 255`` then clip then truncation (no rounding), the Cityscapes 35-colour table (and the 20-colour
evaluation table) or a bit-interleaved colormap for label maps, and an HSV colour wheel for flow.
"""
from __future__ import annotations

import os

import cv2
import numpy as np
import torch
from PIL import Image

# Cityscapes label ids 0..34 (the 'train' label set the reference's label2city models use).
CITYSCAPES_35_COLORS = np.array(
    [
        (0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0), (111, 74, 0), (81, 0, 81), (128, 64, 128),
        (244, 35, 232), (250, 170, 160), (230, 150, 140), (70, 70, 70), (102, 102, 156), (190, 153, 153),
        (180, 165, 180), (150, 100, 100), (150, 120, 90), (153, 153, 153), (153, 153, 153), (250, 170, 30),
        (220, 220, 0), (107, 142, 35), (152, 251, 152), (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142),
        (0, 0, 70), (0, 60, 100), (0, 0, 90), (0, 0, 110), (0, 80, 100), (0, 0, 230), (119, 11, 32), (0, 0, 142),
    ],
    dtype=np.uint8,
)
# Cityscapes evaluation ids 0..19 (19 classes + void).
CITYSCAPES_20_COLORS = np.array(
    [
        (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153), (153, 153, 153),
        (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152), (70, 130, 180), (220, 20, 60),
        (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32), (0, 0, 0),
    ],
    dtype=np.uint8,
)


def _single_image(tensor: torch.Tensor) -> torch.Tensor:
    """(B, T, C, H, W) -> newest frame of item 0; (B, C, H, W) -> item 0; (C, H, W) unchanged."""
    tensor = tensor.detach()
    if tensor.dim() == 5:
        tensor = tensor[0, -1]
    if tensor.dim() == 4:
        tensor = tensor[0]
    if tensor.dim() == 2:
        tensor = tensor[None]
    if tensor.dim() != 3:
        raise ValueError(f"expected an image tensor of 2 to 5 dimensions, got shape {tuple(tensor.shape)}")
    return tensor


def tensor2im(image: torch.Tensor, normalize: bool = True) -> np.ndarray:
    """Image tensor -> uint8 array (H, W, 3), or (H, W) for one channel.

    ``normalize``: values in [-1, 1] (mapped by (x+1)/2*255); else values in [0, 1] (times 255). Only the first
    three channels are used. Values are clipped to [0, 255] and truncated, as in the reference.
    """
    array = _single_image(image)[:3].cpu().float().numpy().transpose(1, 2, 0)  # (H, W, c)
    array = (array + 1) / 2.0 * 255.0 if normalize else array * 255.0
    array = np.clip(array, 0, 255)
    if array.shape[2] == 1:
        array = array[:, :, 0]
    return array.astype(np.uint8)


def label_colormap(n_labels: int) -> np.ndarray:
    """(n_labels, 3) uint8 colours: the Cityscapes tables for 35 and 20 labels, else the bit-interleaved
    colormap (bits 0/1/2 of the id go to the top bits of R/G/B, the next three bits one position lower, ...)."""
    if n_labels == 35:
        return CITYSCAPES_35_COLORS.copy()
    if n_labels == 20:
        return CITYSCAPES_20_COLORS.copy()
    ids = np.arange(n_labels, dtype=np.int64)
    colors = np.zeros((n_labels, 3), dtype=np.int64)
    remaining = ids.copy()
    for level in range(7):  # the reference uses 7 groups of 3 bits
        for channel in range(3):
            colors[:, channel] |= ((remaining >> channel) & 1) << (7 - level)
        remaining >>= 3
    return colors.astype(np.uint8)


def tensor2label(labels: torch.Tensor, n_labels: int) -> np.ndarray:
    """Label tensor -> colour image (H, W, 3) uint8.

    ``labels``: one channel of label ids, or several channels (one-hot, possibly with the instance-edge channel
    last) reduced by argmax (first maximum wins, so a one-hot label beats a tied edge channel). Ids outside
    [0, n_labels) are black.
    """
    labels = _single_image(labels).cpu().float()
    if labels.size(0) > 1:
        ids = labels.argmax(dim=0)  # first maximal index on ties
    else:
        ids = labels[0]
    ids = ids.numpy()
    colors = label_colormap(n_labels)
    out = np.zeros(ids.shape + (3,), dtype=np.uint8)
    valid = (ids >= 0) & (ids < n_labels) & (ids == np.floor(ids))
    out[valid] = colors[ids[valid].astype(np.int64)]
    return out


def tensor2flow(flow: torch.Tensor) -> np.ndarray:
    """Flow tensor (2, H, W) in pixels (or batched) -> colour image (H, W, 3) uint8.

    Hue = direction (OpenCV's half-degree hue), full saturation, value = magnitude scaled to [0, 255] over the
    image (min to max), as the reference draws flows.
    """
    array = _single_image(flow).cpu().float().numpy().transpose(1, 2, 0)  # (H, W, 2)
    u = np.ascontiguousarray(array[..., 0])
    v = np.ascontiguousarray(array[..., 1])
    magnitude, angle = cv2.cartToPolar(u, v)
    hsv = np.zeros(array.shape[:2] + (3,), dtype=np.uint8)
    hsv[..., 0] = angle * 180 / np.pi / 2
    hsv[..., 1] = 255
    hsv[..., 2] = cv2.normalize(magnitude, None, 0, 255, cv2.NORM_MINMAX)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def save_image(image: np.ndarray, path: str, quality: int | None = None) -> None:
    """Write a uint8 array with PIL; the format follows the extension (JPEG at PIL's default quality 75, as the
    reference saves its results, unless ``quality`` is given)."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    kwargs = {} if quality is None else {"quality": quality}
    Image.fromarray(image).save(path, **kwargs)
