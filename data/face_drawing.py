"""Drawing the face mode's input from 68 facial landmarks, pixel for pixel as the reference vid2vid drew it.

NVIDIA's edge2face models were trained on these maps, so every step keeps the reference's arithmetic: the
upper face mirrored from the jaw with integer truncation, part regions filled by OpenCV, each landmark curve
fitted piecewise (3 points at a time) with ``scipy.optimize.curve_fit`` and stamped as 2x2 pixel blocks, an
L1 distance map per curve divided by 3 and truncated to uint8, Canny edges (scikit-image) outside the face
added in uint8 (so they wrap around where they meet a landmark curve), and the face crop box.

Landmarks follow the 68-point iBUG/dlib order; indices 68..82 are the synthesised upper-face points.
All maps are numpy arrays of the full (uncropped) frame, shape (H, W), dtype uint8.
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np
from scipy.optimize import curve_fit

# (part label, curves of the part as landmark indices). The order fixes the 14 distance-map channels and
# which part wins where regions overlap (later parts are filled over earlier ones).
FACE_PARTS: list[tuple[int, list[list[int]]]] = [
    (1, [list(range(0, 17)) + list(range(68, 83)) + [0]]),          # face outline, jaw then upper face
    (2, [list(range(17, 22))]),                                      # right eyebrow
    (2, [list(range(22, 27))]),                                      # left eyebrow
    (3, [[28, 31], list(range(31, 36)), [35, 28]]),                  # nose bridge and nostrils
    (4, [[36, 37, 38, 39], [39, 40, 41, 36]]),                       # right eye
    (4, [[42, 43, 44, 45], [45, 46, 47, 42]]),                       # left eye
    (5, [list(range(48, 55)), [54, 55, 56, 57, 58, 59, 48]]),        # outer lips
    (6, [list(range(60, 65)), [64, 65, 66, 67, 60]]),                # inner lips
]
N_CURVES = sum(len(curves) for _, curves in FACE_PARTS)  # 14 distance maps
CURVE_POINTS = 3  # a long curve is fitted 3 landmarks at a time, consecutive pieces sharing one landmark

# --random_scale_points: the reference's fixed (not random) per-part (x, y) factors, indexed by part label - 1
SCALE_RATIO = np.array([[0.9, 1], [1, 1], [0.9, 1], [1, 1.1], [0.9, 0.9], [0.9, 0.9]])
SCALE_RATIO_PAIR = np.array([[1, 1], [0.9, 1], [1, 1], [0.9, 1], [1, 1], [1, 1]])


def with_upper_face(points: np.ndarray) -> np.ndarray:
    """(68, 2) landmarks -> (83, 2): the 15 inner jaw points mirrored above the line joining the jaw's ends,
    at 2/3 of their distance to it, appended right to left (so the outline closes as one polygon)."""
    jaw = points[:17].astype(np.int32)
    baseline = (jaw[0, 1] + jaw[-1, 1]) / 2
    upper = jaw[1:-1].copy()
    # floor division on floats, then truncation to int32, as the reference's in-place assignment did
    upper[:, 1] = (baseline + (baseline - upper[:, 1]) * 2 // 3).astype(np.int32)
    return np.vstack((points, upper[::-1]))


def part_label_map(keypoints: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) uint8 map of face part labels (0 background, 1 face, 2 brows, 3 nose, 4 eyes, 5 lips, 6 mouth)
    for ``size`` = (W, H): each part's landmarks filled as one polygon. This is the Clip's ``instance``."""
    width, height = size
    labels = np.zeros((height, width), np.uint8)
    for label, curves in FACE_PARTS:
        polygon = keypoints[[i for curve in curves for i in curve]].astype(np.int32)
        cv2.fillPoly(labels, pts=[polygon], color=label)
    return labels


def scale_parts(keypoints: np.ndarray) -> None:
    """--random_scale_points (test time only, as in the reference): move the eyebrows and eyes apart by fixed
    factors, then shrink or stretch every part about its centre. Modifies ``keypoints`` (83, 2) in place."""
    _spread_pair(keypoints, FACE_PARTS[1][1] + FACE_PARTS[2][1], SCALE_RATIO_PAIR[1])
    _spread_pair(keypoints, FACE_PARTS[4][1] + FACE_PARTS[5][1], SCALE_RATIO_PAIR[3])
    for label, curves in FACE_PARTS:
        index = [i for curve in curves for i in curve]  # repeated landmarks weigh twice in the mean, as there
        pts = keypoints[index]
        centre = pts.mean(axis=0)
        keypoints[index] = (pts - centre) * SCALE_RATIO[label - 1] + centre


def _spread_pair(keypoints: np.ndarray, curves: list[list[int]], ratio: np.ndarray) -> None:
    """Shift each curve rigidly so that its centre's offset from the group centre scales by ``ratio``.
    Curves are moved one after another, so a landmark shared by two curves moves with both (as there)."""
    centre = keypoints[[i for curve in curves for i in curve]].mean(axis=0)
    for curve in curves:
        pts = keypoints[curve]
        own = pts.mean(axis=0)
        keypoints[curve] = pts - own + ((own - centre) * ratio + centre)


def _quadratic(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a * x**2 + b * x + c


def _line(x: np.ndarray, a: float, b: float) -> np.ndarray:
    return a * x + b


def fit_curve(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Integer pixel positions (xs, ys) of the parabola (line for 2 points) through landmarks (x, y), sampled
    at about one position per pixel along the axis on which the landmarks spread most; None when the
    parabola bends too sharply (|a| > 1) or cannot be fitted."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if np.abs(np.diff(x)).max() < np.abs(np.diff(y)).max():
        swapped = fit_curve(y, x)  # steep curve: fit x as a function of y
        return None if swapped is None else (swapped[1], swapped[0])
    model = _line if len(x) < 3 else _quadratic
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 3 points, 3 parameters: no covariance (OptimizeWarning)
            params, _ = curve_fit(model, x, y)
    except (RuntimeError, ValueError, TypeError):
        return None  # degenerate landmarks (e.g. all on one pixel): nothing to draw
    if model is _quadratic and abs(params[0]) > 1:
        return None
    if x[0] > x[-1]:
        x, y = x[::-1], y[::-1]
    # The reference gave linspace a float count, which the NumPy of its time truncated to an int.
    xs = np.linspace(x[0], x[-1], int(x[-1] - x[0]))
    return xs.astype(int), model(xs, *params).astype(int)


def stamp_curve(canvas: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> None:
    """Set the 2x2 block up and left of every curve position to 255 (clamped at the border), in place."""
    height, width = canvas.shape
    for dy in (-1, 0):
        for dx in (-1, 0):
            canvas[np.clip(ys + dy, 0, height - 1), np.clip(xs + dx, 0, width - 1)] = 255


def distance_map(curve_map: np.ndarray) -> np.ndarray:
    """(H, W) uint8: L1 (city-block) pixel distance to the nearest curve pixel of ``curve_map``, divided by 3
    and truncated, saturating at 255 (also everywhere when the curve is empty)."""
    distance = cv2.distanceTransform(255 - curve_map, cv2.DIST_L1, 3)
    return np.clip(distance / 3, 0, 255).astype(np.uint8)


def draw_face_curves(keypoints: np.ndarray, size: tuple[int, int],
                     with_distance_maps: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    """Edge map (H, W) uint8 with every landmark curve at 255, and (with ``with_distance_maps``) the
    `N_CURVES` distance maps, one per curve in `FACE_PARTS` order; ``size`` = (W, H)."""
    width, height = size
    edges = np.zeros((height, width), np.uint8)
    distances = []
    for _, curves in FACE_PARTS:
        for curve in curves:
            own = np.zeros((height, width), np.uint8)
            for start in range(0, max(1, len(curve) - 1), CURVE_POINTS - 1):
                piece = curve[start:start + CURVE_POINTS]
                fitted = fit_curve(keypoints[piece, 0], keypoints[piece, 1])
                if fitted is None:
                    continue
                stamp_curve(edges, *fitted)
                if with_distance_maps:
                    stamp_curve(own, *fitted)
            if with_distance_maps:
                distances.append(distance_map(own))
    return edges, distances


def add_background_edges(edges: np.ndarray, gray: np.ndarray, parts: np.ndarray) -> None:
    """Add scikit-image Canny edges of the (H, W) uint8 frame ``gray`` outside the face parts to ``edges``, in
    place, in uint8 arithmetic: a Canny pixel on a landmark curve wraps 255 + 255 to 254, as in the reference."""
    from skimage import feature  # imported here: only the face mode needs scikit-image

    canny = feature.canny(gray) & (parts == 0)
    edges += (canny * 255).astype(np.uint8)


def crop_box(points: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the square face crop: 2.5 face widths wide, centred on the landmarks
    horizontally and a quarter of the way down from their top, moved inside the frame ``size`` = (W, H)
    where it fits. ``points``: (68, 2) landmarks of the frame the box is taken from."""
    min_x, max_x = float(points[:, 0].min()), float(points[:, 0].max())
    min_y, max_y = float(points[:, 1].min()), float(points[:, 1].max())
    xc = (min_x + max_x) // 2
    yc = (min_y * 3 + max_y) // 4
    side = (max_x - min_x) * 2.5
    half = side // 2
    xc = min(max(0, xc - half) + side, size[0]) - half
    yc = min(max(0, yc - half) + side, size[1]) - half
    return int(xc - half), int(yc - half), int(xc + half), int(yc + half)


def crop_array(array: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``array`` (H, W) cut to ``box``; parts of the box outside the frame are zeros (as PIL crops the real
    frame). Inside the frame this is the reference's plain slice; it differs only for a box larger than the
    frame, where the reference's slice with a negative start misaligned the maps with the real frame."""
    left, top, right, bottom = box
    height, width = array.shape
    if left >= 0 and top >= 0 and right <= width and bottom <= height:
        return array[top:bottom, left:right]
    out = np.zeros((bottom - top, right - left), array.dtype)
    x0, y0, x1, y1 = max(left, 0), max(top, 0), min(right, width), min(bottom, height)
    if x1 > x0 and y1 > y0:
        out[y0 - top:y1 - top, x0 - left:x1 - left] = array[y0:y1, x0:x1]
    return out
