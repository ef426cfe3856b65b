"""Global pose normalisation of Everybody Dance Now (Chan et al., ICCV 2019, section 3): map a source dancer's
keypoints into the target video's frame so that the body has the target's size and floor position at each depth.

Per video, ``PoseStats`` holds where the feet are when the person stands farthest from the camera (smallest ankle
y) and closest (largest ankle y), the body height at those two depths, the horizontal centre and the frame size.
Per source frame, the ankle y says how far between its far and close positions the source stands (a fraction f in
[0, 1]); the scale interpolates the target-to-source height ratios at the two depths by f, and the translation
puts the feet on the target's floor at the same f. The stats live in ``pose_stats.json`` in a dataset root.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data.image_folder import DataError
from data.pose_video.smoothing import check_track, is_present
from util.atomic import write_text_atomically

STATS_FILE = "pose_stats.json"
HEAD_POINTS = (0, 1, 15, 16, 17, 18)  # BODY_25 nose, neck, eyes, ears: the top of the body
FOOT_POINTS = (11, 14, 21, 24)  # BODY_25 right ankle, left ankle, left heel, right heel: the floor contact
# Far and close depths are these percentiles of the per-frame ankle y, not its min and max: one wrong foot
# detection (a shadow, a foot of someone else) or a jump would otherwise set the range.
FAR_PERCENTILE, CLOSE_PERCENTILE = 5.0, 95.0
# The height at a depth is taken over the frames whose ankle y lies within this fraction of the far-to-close range
# of that depth, as this percentile of their heights: high, because crouching and bending only shorten the body,
# but not the max, which one wrong head or foot point would set.
DEPTH_BAND, HEIGHT_PERCENTILE = 0.1, 90.0
FLAT_RANGE = 1.0  # pixels: a far-to-close range below this has one depth, f = 0.5


@dataclass(frozen=True)
class PoseStats:
    """One video's pose statistics, in pixels of its frames (y grows downwards)."""

    far_ankle_y: float  # ankle y when the person is farthest from the camera (5th percentile)
    close_ankle_y: float  # ankle y when closest (95th percentile)
    far_height: float  # body height (ankle y - head top y) near the far ankle y
    close_height: float  # body height near the close ankle y
    centre_x: float  # median mid-hip x
    frame_width: int
    frame_height: int

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, values: dict) -> PoseStats:
        """The inverse of ``to_json``; DataError naming the missing, extra or bad keys."""
        if not isinstance(values, dict):
            raise DataError(f"pose stats must be a JSON object, got {type(values).__name__}")
        names = [field.name for field in dataclasses.fields(cls)]
        missing, extra = sorted(set(names) - set(values)), sorted(set(values) - set(names))
        if missing or extra:
            raise DataError(f"pose stats keys: missing {missing}, unexpected {extra}; expected {names}")
        bad = [name for name in names
               if isinstance(values[name], bool) or not isinstance(values[name], int | float)
               or not math.isfinite(values[name])]
        if bad:
            raise DataError(f"pose stats {bad} must be finite numbers")
        stats = cls(*(float(values[name]) for name in names[:5]), int(values["frame_width"]),
                    int(values["frame_height"]))
        if stats.far_height <= 0 or stats.close_height <= 0 or stats.frame_width <= 0 or stats.frame_height <= 0:
            raise DataError(f"pose stats heights and frame size must be positive: {values}")
        return stats

    def save(self, path: str | os.PathLike) -> None:
        """Write the stats as JSON to ``path`` (atomically: a reader never sees half a file)."""
        write_text_atomically(path, json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> PoseStats:
        """Read stats written by ``save``; FileNotFoundError or DataError naming ``path`` when it is missing or
        malformed."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"pose stats {path} not found; compute them from the video's BODY_25 keypoints "
                                    f"(compute_stats(track, frame_size).save(path))")
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError and DataError are ValueErrors
            raise DataError(f"cannot read pose stats {path}: {error}; delete it and compute it again") from error


def ankle_y(body: np.ndarray) -> float:
    """The floor line of one frame: the largest y of the present ankles and heels of ``body`` (``(25, 3)``
    BODY_25), NaN when none is present."""
    feet = body[list(FOOT_POINTS)]
    present = is_present(feet)
    return float(feet[present, 1].max()) if present.any() else math.nan


def head_top_y(body: np.ndarray) -> float:
    """The smallest y of the present nose, eyes, ears and neck of ``body`` (``(25, 3)``), NaN when none is."""
    head = body[list(HEAD_POINTS)]
    present = is_present(head)
    return float(head[present, 1].min()) if present.any() else math.nan


def track_ankle_ys(track: np.ndarray) -> np.ndarray:
    """``(T,)`` ankle y of every frame of a BODY_25 track ``(T, 25, 3)``. A frame without a visible ankle or heel
    holds the last known ankle y (the feet are assumed still while out of view); frames before the first known one
    take the median ankle y of the track. Raises ValueError when no frame shows an ankle or heel."""
    check_body_track(track)
    ankles = np.array([ankle_y(body) for body in track])  # (T,) NaN where no foot point
    known = ~np.isnan(ankles)
    if not known.any():
        raise ValueError("no frame shows an ankle or heel (BODY_25 points 11, 14, 21, 24); pose normalisation needs "
                         "the feet in view")
    last_known = np.maximum.accumulate(np.where(known, np.arange(len(ankles)), -1))  # (T,) -1 before the first
    return np.where(last_known >= 0, ankles[np.maximum(last_known, 0)], np.median(ankles[known]))


def check_body_track(track: np.ndarray) -> None:
    check_track(track)
    if track.shape[1] < 25:
        raise ValueError(f"pose normalisation needs BODY_25 keypoints, (T, 25, 3); got shape {track.shape}")


def compute_stats(track: np.ndarray, frame_size: tuple[int, int]) -> PoseStats:
    """``PoseStats`` of a BODY_25 track ``(T, 25, 3)`` of one video with frames ``frame_size`` = (width, height).

    Uses the frames that show both a head point and an ankle or heel: far and close ankle y are the 5th and 95th
    percentiles of their ankle y; the height at each depth is the 90th percentile of the heights (ankle y - head
    top y) of the frames within 10 % of the far-to-close range of it; the centre is the median mid-hip x (over the
    frames where the mid hip is present; the frame's centre when it never is).
    """
    check_body_track(track)
    ankles = np.array([ankle_y(body) for body in track])  # (T,)
    heights = ankles - np.array([head_top_y(body) for body in track])  # (T,) NaN without head or feet
    whole = ~np.isnan(heights)
    if not whole.any():
        raise ValueError("pose normalisation: no frame shows both a head point (nose, eyes, ears or neck) and an "
                         "ankle or heel; use a video where the whole body is in view, or skip normalisation")
    ankles, heights = ankles[whole], heights[whole]
    far, close = np.percentile(ankles, [FAR_PERCENTILE, CLOSE_PERCENTILE])
    band = DEPTH_BAND * (close - far)
    hips = track[is_present(track[:, 8]), 8, 0]  # (H,) mid-hip x where present
    return PoseStats(
        far_ankle_y=float(far), close_ankle_y=float(close),
        far_height=float(np.percentile(heights[ankles <= far + band], HEIGHT_PERCENTILE)),
        close_height=float(np.percentile(heights[ankles >= close - band], HEIGHT_PERCENTILE)),
        centre_x=float(np.median(hips)) if len(hips) else frame_size[0] / 2,
        frame_width=int(frame_size[0]), frame_height=int(frame_size[1]))


def apply_affine(points: np.ndarray, affine: tuple[float, float, float]) -> np.ndarray:
    """``points`` ``(M, 3)`` with x, y -> x * scale + dx, y * scale + dy for ``affine`` = (scale, dx, dy); missing
    points stay (0, 0, 0), confidences are kept. Returns a new float64 array."""
    scale, dx, dy = affine
    mapped = np.zeros(points.shape, dtype=np.float64)
    present = is_present(points)
    mapped[present, 0] = points[present, 0] * scale + dx
    mapped[present, 1] = points[present, 1] * scale + dy
    mapped[present, 2] = points[present, 2]
    return mapped


@dataclass(frozen=True)
class PoseNormalisation:
    """Maps keypoints of a source video's frame into the target video (``normalisation(source, target)``).

    Per frame: f = depth_fraction(source ankle y); scale = lerp(target.far_height / source.far_height,
    target.close_height / source.close_height, f); y' = (y - source ankle y) * scale + lerp(target.far_ankle_y,
    target.close_ankle_y, f); x' = (x - source.centre_x) * scale + target.centre_x.
    """

    source: PoseStats
    target: PoseStats

    def depth_fraction(self, source_ankle_y: float) -> float:
        """Where the source stands between its far (0) and close (1) ankle y, clipped to [0, 1]; 0.5 when the
        source video has one depth (its far-to-close range is under a pixel)."""
        span = self.source.close_ankle_y - self.source.far_ankle_y
        if span < FLAT_RANGE:
            return 0.5
        return float(np.clip((source_ankle_y - self.source.far_ankle_y) / span, 0.0, 1.0))

    def scale(self, fraction: float) -> float:
        far = self.target.far_height / self.source.far_height
        close = self.target.close_height / self.source.close_height
        return far + fraction * (close - far)

    def affine(self, source_ankle_y: float) -> tuple[float, float, float]:
        """(scale, dx, dy) of the frame's map: target = source * scale + (dx, dy), for x and y alike."""
        if not math.isfinite(source_ankle_y):
            raise ValueError("the frame's ankle y is not a number; take it from track_ankle_ys, which fills frames "
                             "without feet")
        fraction = self.depth_fraction(source_ankle_y)
        scale = self.scale(fraction)
        target_ankle_y = self.target.far_ankle_y + fraction * (self.target.close_ankle_y - self.target.far_ankle_y)
        return scale, self.target.centre_x - self.source.centre_x * scale, target_ankle_y - source_ankle_y * scale

    def __call__(self, points: np.ndarray, source_ankle_y: float) -> np.ndarray:
        """Map ``points`` ``(M, 3)`` (body, face or hand points of one source frame) given that frame's ankle y
        (``ankle_y(body)``, or ``track_ankle_ys`` for a frame without feet). Missing points stay (0, 0, 0);
        confidences are kept. Returns a new float64 ``(M, 3)`` array."""
        return apply_affine(points, self.affine(source_ankle_y))

    def apply_to_track(self, track: np.ndarray) -> np.ndarray:
        """Map a whole BODY_25 track ``(T, 25, 3)``; returns a new float64 ``(T, 25, 3)`` array. For face and
        hand tracks of the same frames, map each frame with ``self(points, ankle_ys[t])``, ankle_ys =
        ``track_ankle_ys(body_track)``."""
        ankle_ys = track_ankle_ys(track)
        return np.stack([self(body, ankle) for body, ankle in zip(track, ankle_ys, strict=True)])


def normalisation(source: PoseStats, target: PoseStats) -> PoseNormalisation:
    """The map of source frames' keypoints onto the target video (see ``PoseNormalisation``)."""
    return PoseNormalisation(source, target)
