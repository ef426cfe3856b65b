"""OpenPose keypoints (BODY_25 + 70 face + 2 x 21 hand points) drawn as the colour skeleton that the pose
dataset feeds to the networks.

Everything follows the reference renderer, because a model trained on its pictures only understands those:
  * a body point counts when its confidence is above 0.01; a hand finger (wrist + 4 joints) or a face
    polyline counts only when all of its points are above 0.01 (hand) / 0.1 (face); a point that does not
    count is stored as (0, 0), and a segment with an x coordinate of exactly 0 is skipped;
  * body segments use a 6-pixel square brush (offsets -3..2) in their own colour, hand segments a 2-pixel
    brush in the finger's colour, face segments a 2-pixel white brush; each segment's two ends also get a
    disc of radius 2 x brush;
  * the brush is stamped once per offset over all pixels of a segment at once: when every stamped pixel is
    still black they take the colour, otherwise all of them become the mean of their old value and the
    colour (so strokes that touch mix, and the blank pixels of that stamp get half the colour);
  * every person is drawn on a blank canvas and the canvases are added as 8-bit values, wrapping at 256.
Images are (H, W, 3) uint8 arrays in RGB order.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import torch

from .image_folder import DataError

Color = tuple[int, int, int]

# BODY_25 segments (point pairs) and their colours; the head segments are left out with --basic_point_only.
HEAD_SEGMENTS: tuple[tuple[int, int], ...] = ((17, 15), (15, 0), (0, 16), (16, 18))
HEAD_COLORS: tuple[Color, ...] = ((153, 0, 153), (153, 0, 102), (102, 0, 153), (51, 0, 153))
BODY_SEGMENTS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 8),                                             # neck, spine
    (1, 2), (2, 3), (3, 4),                                     # right arm
    (1, 5), (5, 6), (6, 7),                                     # left arm
    (8, 9), (9, 10), (10, 11), (11, 24), (11, 22), (22, 23),    # right leg and foot
    (8, 12), (12, 13), (13, 14), (14, 21), (14, 19), (19, 20),  # left leg and foot
)
BODY_COLORS: tuple[Color, ...] = (
    (153, 0, 51), (153, 0, 0),
    (153, 51, 0), (153, 102, 0), (153, 153, 0),
    (102, 153, 0), (51, 153, 0), (0, 153, 0),
    (0, 153, 51), (0, 153, 102), (0, 153, 153), (0, 153, 153), (0, 153, 153), (0, 153, 153),
    (0, 102, 153), (0, 51, 153), (0, 0, 153), (0, 0, 153), (0, 0, 153), (0, 0, 153),
)
# each finger runs from the wrist (point 0) through its four joints
FINGERS: tuple[tuple[int, ...], ...] = tuple((0, *range(1 + 4 * k, 5 + 4 * k)) for k in range(5))
FINGER_COLORS: tuple[Color, ...] = ((204, 0, 0), (163, 204, 0), (0, 204, 82), (0, 82, 204), (163, 0, 204))
# face polylines of the 70-point model: eyebrows, nose bridge and base, both eyes (two halves each), outer
# lip (two halves); the jaw line and the inner lip are not drawn
FACE_POLYLINES: tuple[tuple[int, ...], ...] = (
    tuple(range(17, 22)), tuple(range(22, 27)),
    tuple(range(27, 31)), tuple(range(31, 36)),
    (36, 37, 38, 39), (39, 40, 41, 36),
    (42, 43, 44, 45), (45, 46, 47, 42),
    tuple(range(48, 55)), (54, 55, 56, 57, 58, 59, 48),
)
FACE_COLOR: Color = (255, 255, 255)
BODY_BRUSH, HAND_BRUSH, FACE_BRUSH = 3, 1, 1
BODY_MIN_CONF, HAND_MIN_CONF, FACE_MIN_CONF = 0.01, 0.01, 0.1
JITTERED_HEAD_POINTS = (0, 15, 16, 17, 18)  # nose, eyes, ears: moved with --remove_face_labels in training
N_POINTS = {"pose_keypoints_2d": 25, "face_keypoints_2d": 70, "hand_left_keypoints_2d": 21,
            "hand_right_keypoints_2d": 21}


@dataclass
class Person:
    """One person's usable points as (N, 2) float (x, y) arrays, (0, 0) where a point does not count."""

    body: np.ndarray   # (25, 2)
    face: np.ndarray   # (70, 2)
    hands: tuple[np.ndarray, np.ndarray]  # left, right: (21, 2) each


def _points(person: dict, key: str, path: str) -> np.ndarray:
    """(N, 3) x, y, confidence of one keypoint set; all zero when OpenPose left it out or empty."""
    n = N_POINTS[key]
    values = person.get(key) or []
    if not values:
        return np.zeros((n, 3))
    if not isinstance(values, list) or len(values) != 3 * n:
        count = f"{len(values)} numbers" if isinstance(values, list) else f"a {type(values).__name__}"
        raise DataError(f"{path}: {key} holds {count}, expected {3 * n} ({n} points x (x, y, "
                        "confidence)); the pose mode reads OpenPose BODY_25 output with face and hands")
    bad = next((i for i, v in enumerate(values) if isinstance(v, bool) or not isinstance(v, int | float)
                or not math.isfinite(v)), None)
    if bad is not None:
        raise DataError(f"OpenPose keypoints {path}: {key} holds {json.dumps(values[bad])} at position {bad} (point "
                        f"{bad // 3}, {('x', 'y', 'confidence')[bad % 3]}), not a finite number; fix or regenerate "
                        "the file (an absent point is 0, 0, 0)")
    return np.asarray(values, dtype=np.float64).reshape(n, 3)


def _keep_groups(points: np.ndarray, groups: tuple[tuple[int, ...], ...], min_conf: float) -> np.ndarray:
    """(N, 2) positions of the points of every group whose points are all confident; zeros elsewhere."""
    kept = np.zeros((points.shape[0], 2))
    for group in groups:
        index = list(group)
        if (points[index, 2] > min_conf).all():
            kept[index] = points[index, :2]
    return kept


def read_people(path: str) -> list[Person]:
    """The people of one ``*_keypoints.json`` file of OpenPose, with the points that do not count zeroed."""
    try:
        with open(path, encoding="utf-8") as handle:
            people = json.load(handle)["people"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(f"cannot read OpenPose keypoints {path}: {error!r}; expected OpenPose's JSON with a "
                        "'people' list") from error
    return people_from_json(people, path)


def people_from_json(people: list[dict], path: str) -> list[Person]:
    """`read_people` for the already parsed ``people`` list of an OpenPose JSON (``path`` names it in errors)."""
    if not isinstance(people, list) or not all(isinstance(person, dict) for person in people):
        raise DataError(f"OpenPose keypoints {path}: 'people' must be a list of objects with keypoint lists, got "
                        f"{json.dumps(people)[:60]}; fix or regenerate the file")
    result = []
    for person in people:
        body = _points(person, "pose_keypoints_2d", path)
        body_kept = np.where((body[:, 2] > BODY_MIN_CONF)[:, None], body[:, :2], 0.0)
        face = _keep_groups(_points(person, "face_keypoints_2d", path), FACE_POLYLINES, FACE_MIN_CONF)
        hands = tuple(_keep_groups(_points(person, key, path), FINGERS, HAND_MIN_CONF)
                      for key in ("hand_left_keypoints_2d", "hand_right_keypoints_2d"))
        result.append(Person(body_kept, face, hands))
    return result


def segment_pixels(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer (xs, ys) pixels of the straight segment between two points x = (x0, x1), y = (y0, y1).

    The segment is sampled along its longer axis (x unless y spans strictly more) at int(length) evenly spaced
    positions from end to end, and the other coordinate follows the line; both are truncated to integers.
    So a segment shorter than one pixel along that axis gives no pixels, as in the reference.
    """
    if abs(x[1] - x[0]) < abs(y[1] - y[0]):
        ys, xs = segment_pixels(y, x)
        return xs, ys
    if x[0] > x[1]:
        x, y = x[::-1], y[::-1]
    count = int(x[1] - x[0])
    if count == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    xs = np.linspace(x[0], x[1], count)
    # the reference fits the line by least squares through the two points; evaluated here directly
    ys = y[0] + (xs - x[0]) * ((y[1] - y[0]) / (x[1] - x[0]))
    return xs.astype(int), ys.astype(int)


def stamp(canvas: np.ndarray, ys: np.ndarray, xs: np.ndarray, color: Color) -> None:
    """Colour the pixels (ys, xs) of ``canvas`` (H, W, 3) in place, all together: the colour when they are all
    black, else the floor of the mean of each old value and the colour."""
    old = canvas[ys, xs]
    if not old.any():
        canvas[ys, xs] = color
    else:
        canvas[ys, xs] = ((old.astype(np.int32) + np.asarray(color, dtype=np.int32)) // 2).astype(np.uint8)


def draw_segment(canvas: np.ndarray, x: np.ndarray, y: np.ndarray, brush: int, color: Color) -> None:
    """One segment with a square brush of side 2*brush (offsets -brush..brush-1) and discs of radius 2*brush
    (exclusive) at the two ends of its pixel run, clamped into the canvas."""
    xs, ys = segment_pixels(x, y)
    if xs.size == 0:
        return
    h, w = canvas.shape[:2]
    for i in range(-brush, brush):
        for j in range(-brush, brush):
            stamp(canvas, np.clip(ys + i, 0, h - 1), np.clip(xs + j, 0, w - 1), color)
    ends_y, ends_x = ys[[0, -1]], xs[[0, -1]]
    radius = 2 * brush
    for i in range(-radius, radius):
        for j in range(-radius, radius):
            if i * i + j * j < radius * radius:
                stamp(canvas, np.clip(ends_y + i, 0, h - 1), np.clip(ends_x + j, 0, w - 1), color)


def _kept(drop_prob: float) -> bool:
    """True unless a random draw drops the part (probability ``drop_prob``; no draw when it is 0)."""
    return drop_prob <= 0 or float(torch.rand(())) > drop_prob


def _jitter(person: Person) -> Person:
    """Move the head points by N(0, 5) pixels each and the whole face by one N(0, 2) shift (training with
    --remove_face_labels, so the net cannot copy the source face shape). Only points that are there move:
    the reference also moved the (0, 0) placeholders of missing points, which drew lines to the corner."""
    body, face = person.body.copy(), person.face.copy()
    head = list(JITTERED_HEAD_POINTS)
    present = body[head, 0] != 0
    body[head] += np.where(present[:, None], 5 * torch.randn(len(head), 2).double().numpy(), 0.0)
    shift = 2 * torch.randn(2).double().numpy()
    face[face[:, 0] != 0] += shift
    return Person(body, face, person.hands)


def draw_person(person: Person, size: tuple[int, int], drop_prob: float = 0.0, jitter: bool = False,
                basic_point_only: bool = False) -> np.ndarray:
    """One person's skeleton on a black (H, W, 3) uint8 canvas of ``size`` = (width, height): body segments
    (each dropped with ``drop_prob``), then the left and right hand and the face (each dropped as a whole),
    the hands and face only without ``basic_point_only``."""
    w, h = size
    canvas = np.zeros((h, w, 3), np.uint8)
    if jitter:
        person = _jitter(person)
    segments = BODY_SEGMENTS if basic_point_only else HEAD_SEGMENTS + BODY_SEGMENTS
    colors = BODY_COLORS if basic_point_only else HEAD_COLORS + BODY_COLORS
    for (a, b), color in zip(segments, colors, strict=True):
        x, y = person.body[[a, b], 0], person.body[[a, b], 1]
        if _kept(drop_prob) and 0 not in x:
            draw_segment(canvas, x, y, BODY_BRUSH, color)
    if basic_point_only:
        return canvas
    for hand in person.hands:
        if not _kept(drop_prob):
            continue
        for finger, color in zip(FINGERS, FINGER_COLORS, strict=True):
            for a, b in zip(finger[:-1], finger[1:], strict=True):
                x, y = hand[[a, b], 0], hand[[a, b], 1]
                if 0 not in x:
                    draw_segment(canvas, x, y, HAND_BRUSH, color)
    if _kept(drop_prob):
        for line in FACE_POLYLINES:
            for a, b in zip(line[:-1], line[1:], strict=True):
                x, y = person.face[[a, b], 0], person.face[[a, b], 1]
                if 0 not in x:
                    draw_segment(canvas, x, y, FACE_BRUSH, FACE_COLOR)
    return canvas


def draw_people(people: list[Person], size: tuple[int, int], drop_prob: float = 0.0, jitter: bool = False,
                basic_point_only: bool = False) -> np.ndarray:
    """All people of a frame: (H, W, 3) uint8, the per-person canvases added with 8-bit wrap-around (the
    reference's sum; overlapping strokes of two people therefore do not saturate)."""
    w, h = size
    total = np.zeros((h, w, 3), np.uint8)
    for person in people:
        total += draw_person(person, size, drop_prob, jitter, basic_point_only)  # uint8: wraps modulo 256
    return total
