"""A DensePose stand-in: an IUV map from a person mask and the BODY_25 skeleton, both of which run offline.

DensePose (Detectron + a GPU + weights that cannot be fetched here) gives every pixel of a person its body part
(1-24) and the U, V coordinates of that pixel on the part's surface chart. This stand-in gives every pixel of the
MediaPipe person mask the part of the nearest skeleton segment, U = the position along that segment (0 at its
first joint, 1 at its second) and V = the position across it (0.5 on the bone, 0 / 1 half a segment length to
either side). It says where the limbs are and how they are ordered along the body; it knows nothing of the
body's surface, of clothing or of which side of a limb faces the camera beyond the whole body's facing. A model
trained on it learns this map's meaning, not DensePose's: do not mix it with real DensePose data.

The image is written as DensePose's ``*_IUV.png`` files read: 8-bit RGB = (V, U, part index), background 0.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Part(NamedTuple):
    start: int          # BODY_25 joint where U = 0
    end: int            # BODY_25 joint where U = 1 (or -1: `start` + `extend` x the (parent -> start) direction)
    front: int          # DensePose part index when the person faces the camera
    back: int           # ... when the person turns their back to it
    parent: int = -1    # for extended parts: the joint before `start`
    extend: float = 0.0


# DensePose part numbers as the reference's pose dataset lists them (1/2 torso, 3/4 right/left hand, 5/6 right/left
# foot, then two per limb segment, 23/24 head); of a pair, the first is used seen from behind
PARTS: tuple[Part, ...] = (
    Part(1, 8, 2, 1),                             # torso: neck -> mid hip
    Part(2, 3, 18, 16), Part(3, 4, 22, 20),       # right upper arm, lower arm
    Part(5, 6, 17, 15), Part(6, 7, 21, 19),       # left upper arm, lower arm
    Part(4, -1, 3, 3, parent=3, extend=0.45),     # right hand: beyond the wrist
    Part(7, -1, 4, 4, parent=6, extend=0.45),     # left hand
    Part(9, 10, 9, 7), Part(10, 11, 13, 11),      # right upper leg, lower leg
    Part(12, 13, 10, 8), Part(13, 14, 14, 12),    # left upper leg, lower leg
    Part(11, 22, 5, 5), Part(14, 19, 6, 6),       # right foot (ankle -> big toe), left foot
)
HEAD_RIGHT, HEAD_LEFT = 23, 24
NECK, NOSE, R_SHOULDER, L_SHOULDER = 1, 0, 2, 5
CHUNK = 65536  # mask pixels per step


def faces_camera(body: np.ndarray) -> bool:
    """Whether the person faces the camera: their right shoulder is on the image's left."""
    if body[R_SHOULDER, 2] > 0 and body[L_SHOULDER, 2] > 0:
        return bool(body[R_SHOULDER, 0] < body[L_SHOULDER, 0])
    return True


def segments(body: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, int, bool]]:
    """(start, end, part index, is head) of every segment whose joints are present, for the body's facing."""
    front = faces_camera(body)
    present = body[:, 2] > 0
    result = []
    for part in PARTS:
        if part.end >= 0:
            if present[part.start] and present[part.end]:
                result.append((body[part.start, :2], body[part.end, :2], part.front if front else part.back, False))
        elif present[part.start] and present[part.parent]:
            direction = body[part.start, :2] - body[part.parent, :2]
            result.append((body[part.start, :2], body[part.start, :2] + part.extend * direction, part.front, False))
    if present[NECK] and present[NOSE]:  # the head: from halfway up the neck to as far above the nose
        up = body[NOSE, :2] - body[NECK, :2]
        result.append((body[NECK, :2] + 0.5 * up, body[NOSE, :2] + 0.7 * up, HEAD_RIGHT, True))
    return result


def nearest_segment(pixels: np.ndarray, starts: np.ndarray, axes: np.ndarray) -> tuple[np.ndarray, ...]:
    """For (P, 2) pixels and S segments (start points and start -> end vectors, (S, 2) each): the nearest
    segment's index, the position along it (0 at its start, 1 at its end) and across it (in segment lengths,
    positive to the left of the direction of travel in image coordinates), each (P,)."""
    lengths = np.maximum(np.linalg.norm(axes, axis=1), 1e-6)                         # (S,)
    relative = pixels[:, None, :] - starts[None]                                     # (P, S, 2)
    along = (relative * axes[None]).sum(-1) / lengths**2                             # (P, S)
    across = (relative[..., 0] * axes[None, :, 1] - relative[..., 1] * axes[None, :, 0]) / lengths**2  # (P, S)
    nearest = np.clip(along, 0, 1)[..., None] * axes[None] + starts[None]            # (P, S, 2)
    best = np.linalg.norm(pixels[:, None] - nearest, axis=-1).argmin(axis=1)          # (P,)
    rows = np.arange(len(best))
    return best, along[rows, best], across[rows, best]


def iuv_image(mask: np.ndarray, body: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 IUV stand-in (channels V, U, part) from ``mask`` (H, W), nonzero on the person, and the
    (25, 3) BODY_25 points in the mask's pixels. All zero when the mask is empty or no segment is present."""
    out = np.zeros((*mask.shape, 3), np.uint8)
    parts = segments(body)
    ys, xs = np.nonzero(mask)
    if not parts or ys.size == 0:
        return out
    starts = np.stack([p[0] for p in parts])                                         # (S, 2)
    axes = np.stack([p[1] for p in parts]) - starts                                  # (S, 2)
    best, along, across = [], [], []
    for first in range(0, ys.size, CHUNK):  # bounded memory for large masks
        pixels = np.stack([xs[first:first + CHUNK], ys[first:first + CHUNK]], axis=1).astype(np.float64)  # (P, 2)
        chunk = nearest_segment(pixels, starts, axes)
        for total, part in zip((best, along, across), chunk, strict=True):
            total.append(part)
    best, along, across = (np.concatenate(values) for values in (best, along, across))
    u, v = np.clip(along, 0, 1), np.clip(0.5 + across, 0, 1)
    index = np.array([p[2] for p in parts])[best]
    head = np.array([p[3] for p in parts])[best]
    # the head's two halves: the person's right side is the image's left when they face the camera
    right_side = (across > 0) == faces_camera(body)
    index = np.where(head & ~right_side, HEAD_LEFT, index)
    out[ys, xs, 0] = np.round(v * 255).astype(np.uint8)
    out[ys, xs, 1] = np.round(u * 255).astype(np.uint8)
    out[ys, xs, 2] = index.astype(np.uint8)
    return out
