"""Optical flow files in the Middlebury ``.flo`` format, and the usual colour-wheel picture of a flow field.

File layout (all little-endian): float32 magic ``202021.25`` (the bytes spell ``PIEH``), int32 width, int32
height, then ``height * width * 2`` float32 values, row-major, each pixel's ``(u, v)`` pair together:
``u`` is the horizontal displacement (positive to the right), ``v`` the vertical one (positive downwards),
both in pixels.

Arrays handled here are ``(H, W, 2)`` float32 with ``flow[..., 0] = u`` and ``flow[..., 1] = v``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

FLO_MAGIC = np.float32(202021.25)
_HEADER_BYTES = 12
_MAX_SIDE = 1 << 16  # a width/height above this is taken as a corrupt header


class FlowFileError(ValueError):
    """A ``.flo`` file that cannot be read (bad magic, bad size, truncated)."""


def write_flo(path: str | os.PathLike, flow: np.ndarray) -> None:
    """Write ``flow`` (H, W, 2), any real dtype (stored as float32), to ``path`` in Middlebury format."""
    flow = np.asarray(flow)
    if flow.ndim != 3 or flow.shape[2] != 2 or flow.shape[0] < 1 or flow.shape[1] < 1:
        raise ValueError(f"write_flo({path}): flow must have shape (H, W, 2), got {flow.shape}")
    h, w = flow.shape[:2]
    header = np.array([FLO_MAGIC], "<f4").tobytes() + np.array([w, h], "<i4").tobytes()
    with open(path, "wb") as f:
        f.write(header)
        f.write(np.ascontiguousarray(flow, dtype="<f4").tobytes())


def read_flo(path: str | os.PathLike) -> np.ndarray:
    """Read a Middlebury ``.flo`` file; returns (H, W, 2) float32 ``(u, v)``.

    Raises ``FlowFileError`` naming the file when the magic number is wrong, the header is implausible, or
    the data is shorter or longer than ``width * height * 2`` floats.
    """
    data = Path(path).read_bytes()
    if len(data) < _HEADER_BYTES:
        raise FlowFileError(f"{path}: not a .flo file (only {len(data)} bytes, the header alone is 12)")
    magic = np.frombuffer(data, "<f4", 1, 0)[0]
    if magic != FLO_MAGIC:
        raise FlowFileError(f"{path}: not a .flo file (magic {float(magic)!r}, expected 202021.25)")
    w, h = (int(v) for v in np.frombuffer(data, "<i4", 2, 4))
    if not (0 < w <= _MAX_SIDE and 0 < h <= _MAX_SIDE):
        raise FlowFileError(f"{path}: corrupt .flo header (width {w}, height {h})")
    expected = h * w * 2 * 4
    found = len(data) - _HEADER_BYTES
    if found != expected:
        what = "truncated" if found < expected else "has trailing bytes"
        raise FlowFileError(f"{path}: {what} .flo file ({w}x{h} needs {expected} data bytes, found {found})")
    return np.frombuffer(data, "<f4", h * w * 2, _HEADER_BYTES).reshape(h, w, 2).astype(np.float32)


def _color_wheel() -> np.ndarray:
    """(55, 3) float RGB wheel in [0, 255]: red -> yellow -> green -> cyan -> blue -> magenta -> red.

    Segment lengths (15, 6, 4, 11, 13, 6) follow Baker et al.'s Middlebury visualisation, which gives the
    perceptually narrower hues fewer steps.
    """
    # (segment length, start colour, end colour)
    segments = [
        (15, (255, 0, 0), (255, 255, 0)),
        (6, (255, 255, 0), (0, 255, 0)),
        (4, (0, 255, 0), (0, 255, 255)),
        (11, (0, 255, 255), (0, 0, 255)),
        (13, (0, 0, 255), (255, 0, 255)),
        (6, (255, 0, 255), (255, 0, 0)),
    ]
    rows = []
    for n, start, end in segments:
        a = np.arange(n, dtype=np.float64)[:, None] / n
        rows.append((1.0 - a) * np.array(start, np.float64) + a * np.array(end, np.float64))
    return np.floor(np.concatenate(rows))


def flow_to_color(flow: np.ndarray, max_flow: float | None = None) -> np.ndarray:
    """Colour-code a flow field (H, W, 2) as an (H, W, 3) uint8 RGB image.

    Hue gives the direction of motion, saturation its magnitude relative to ``max_flow`` (default: the
    largest magnitude in the field): zero motion is white, motion of ``max_flow`` pixels is the fully
    saturated wheel colour, and anything beyond is drawn darker. Non-finite or huge (> 1e9, Middlebury's
    "unknown") vectors are drawn black.
    """
    flow = np.asarray(flow, dtype=np.float64)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"flow_to_color: flow must have shape (H, W, 2), got {flow.shape}")
    u, v = flow[..., 0], flow[..., 1]
    unknown = ~np.isfinite(u) | ~np.isfinite(v) | (np.abs(u) > 1e9) | (np.abs(v) > 1e9)
    u = np.where(unknown, 0.0, u)
    v = np.where(unknown, 0.0, v)
    mag = np.hypot(u, v)
    if max_flow is None:
        max_flow = float(mag.max()) if mag.size else 0.0
    scale = 1.0 / max(float(max_flow), np.finfo(np.float64).eps)
    rad = mag * scale

    wheel = _color_wheel() / 255.0
    n = wheel.shape[0]
    # Direction -> wheel position: rightward motion (+u) lands on red (both ends of the wheel),
    # leftward on cyan-blue, downward (+v) on yellow, upward on blue-violet.
    ang = np.arctan2(-v, -u) / np.pi  # in [-1, 1]
    pos = (ang + 1.0) / 2.0 * (n - 1)  # in [0, n-1]
    k0 = np.floor(pos).astype(np.int64)
    k1 = (k0 + 1) % n
    f = (pos - k0)[..., None]
    col = (1.0 - f) * wheel[k0 % n] + f * wheel[k1]

    small = (rad <= 1.0)[..., None]
    col = np.where(small, 1.0 - rad[..., None] * (1.0 - col), col * 0.75)
    col[unknown] = 0.0
    return np.floor(255.0 * np.clip(col, 0.0, 1.0)).astype(np.uint8)
