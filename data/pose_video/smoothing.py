"""Cleaning keypoint tracks over time: short gaps filled by linear interpolation, jitter removed by the One Euro
filter (Casiez, Roussel and Vogel, CHI 2012), and a jitter measure to report before and after.

A track is a float array ``(T, N, 3)``: x and y in pixels, confidence in [0, 1]. A joint is missing in a frame when
its confidence is 0; a missing joint is written (0, 0, 0), as OpenPose writes it.
"""
from __future__ import annotations

import math

import numpy as np

FILLED_CONFIDENCE_FACTOR = 0.5  # filled points are guesses: half the weaker neighbour's confidence
STILL_DRIFT_FRACTION = 0.01  # default "still" drift: 1 % of the person's extent in the frame


def is_present(points: np.ndarray) -> np.ndarray:
    """``(..., 3)`` keypoints -> ``(...)`` booleans, True where the point is detected (confidence > 0)."""
    return points[..., 2] > 0


def check_track(track: np.ndarray) -> None:
    """Raise ValueError unless ``track`` is a ``(T, N, 3)`` array."""
    if track.ndim != 3 or track.shape[2] != 3:
        raise ValueError(f"a keypoint track is a (T, N, 3) array of x, y, confidence; got shape {track.shape}")


def fill_gaps(track: np.ndarray, max_gap: int) -> np.ndarray:
    """Fill runs of at most ``max_gap`` missing frames of a joint by linear interpolation between the present frames
    on either side. The filled confidence is half the smaller neighbour's (never 0, so filled points count as
    present). Longer gaps, and gaps at the start or end of the track, stay missing.

    ``track``: ``(T, N, 3)``. Returns a new float64 ``(T, N, 3)`` array.
    """
    check_track(track)
    if max_gap < 0:
        raise ValueError(f"max_gap must be >= 0, got {max_gap}")
    filled = track.astype(np.float64)  # a copy
    present = is_present(track)
    for joint in range(track.shape[1]):
        frames = np.flatnonzero(present[:, joint])
        gaps = np.diff(frames) - 1  # missing frames between consecutive present ones
        fillable = (gaps >= 1) & (gaps <= max_gap)
        for start, end in zip(frames[:-1][fillable], frames[1:][fillable], strict=True):
            weights = (np.arange(start + 1, end) - start) / (end - start)  # (gap,) in (0, 1)
            before, after = filled[start, joint], filled[end, joint]
            filled[start + 1:end, joint, :2] = before[:2] + weights[:, None] * (after[:2] - before[:2])
            filled[start + 1:end, joint, 2] = FILLED_CONFIDENCE_FACTOR * min(before[2], after[2])
    return filled


def smoothing_factor(cutoff: np.ndarray | float, period: float) -> np.ndarray | float:
    """Exponential smoothing factor of a first-order low-pass filter with ``cutoff`` (Hz) sampled every ``period``
    seconds: alpha = 1 / (1 + tau / period), tau = 1 / (2 pi cutoff)."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / period)


def smooth_track(track: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = 0.05,
                 d_cutoff: float = 1.0) -> np.ndarray:
    """One Euro filter on x and y of every joint along time: a low-pass filter whose cutoff rises with the speed
    of the joint, so a still joint is smoothed hard and a moving one follows with little lag.

    Per joint and frame: speed = (x_t - filtered_{t-1}) * fps, low-passed with ``d_cutoff``; cutoff =
    ``min_cutoff`` + ``beta`` * |low-passed speed| (the norm of the 2-D velocity, so x and y share one cutoff and the
    filter does not depend on the direction of motion); filtered_t = alpha x_t + (1 - alpha) filtered_{t-1}.

    - ``min_cutoff`` (Hz): the cutoff of a still joint. Lower: less jitter, more lag on slow moves.
    - ``beta`` (1/pixel): how fast the cutoff opens with speed (pixels per second). Higher: less lag on fast
      moves, more jitter let through while moving. At the defaults a joint moving 300 px/s (10 px per frame at
      30 fps) is filtered at 16 Hz, nearly unsmoothed, while a still joint with 1-3 px of noise is filtered near
      1.5-2.5 Hz.
    - ``d_cutoff`` (Hz): the cutoff of the speed estimate; 1 Hz as in the paper.

    A missing frame stays missing (0, 0, 0) and the joint's filter restarts at its next present frame (a gap's
    before and after are not blended). Confidences are kept. ``track``: ``(T, N, 3)``; returns a new float64
    ``(T, N, 3)`` array.
    """
    check_track(track)
    if fps <= 0 or min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
        raise ValueError(f"smooth_track needs fps, min_cutoff, d_cutoff > 0 and beta >= 0; got fps={fps}, "
                         f"min_cutoff={min_cutoff}, beta={beta}, d_cutoff={d_cutoff}")
    period = 1.0 / fps
    speed_factor = smoothing_factor(d_cutoff, period)
    present = is_present(track)  # (T, N)
    smoothed = np.zeros(track.shape, dtype=np.float64)
    filtered = np.zeros((track.shape[1], 2))  # (N, 2) last filtered position
    speed = np.zeros((track.shape[1], 2))  # (N, 2) last filtered velocity, pixels per second
    running = np.zeros(track.shape[1], dtype=bool)  # (N,) the joint was present in the previous frame
    for t in range(track.shape[0]):
        position = track[t, :, :2].astype(np.float64)  # (N, 2)
        new_speed = speed_factor * (position - filtered) / period + (1 - speed_factor) * speed
        cutoff = min_cutoff + beta * np.linalg.norm(new_speed, axis=1, keepdims=True)  # (N, 1)
        alpha = smoothing_factor(cutoff, period)
        new_filtered = alpha * position + (1 - alpha) * filtered
        # A joint appearing (first frame, or after a gap) starts its filter at the raw position, speed 0.
        restart = ~running[:, None]
        filtered = np.where(restart, position, new_filtered)
        speed = np.where(restart, 0.0, new_speed)
        running = present[t]
        smoothed[t, running, :2] = filtered[running]
        smoothed[t, running, 2] = track[t, running, 2]
    return smoothed


def still_steps(reference: np.ndarray, half_window: int = 4, max_drift: float | None = None) -> np.ndarray:
    """Which frame-to-frame steps of ``reference`` (``(T, N, 3)``) are still: returns ``(T - 1, N)`` booleans, entry
    ``[t - 1, j]`` for joint j's step from frame t - 1 to t.

    The step is still when joint j is present in the ``2 * half_window`` frames around it and the mean position of
    the ``half_window`` frames before the step and the mean of the ``half_window`` frames from it differ by at most
    ``max_drift`` pixels. Averaging shrinks noise (by sqrt(half_window)) but not motion, which moves the mean by
    about the speed times ``half_window`` frames, so still steps carry noise and little motion. ``max_drift=None``
    takes 1 % of the median per-frame extent (bounding-box diagonal) of the present points, the same notion of
    still at any image size; pass it for a track of one joint.
    """
    check_track(reference)
    if half_window < 1:
        raise ValueError(f"half_window must be >= 1, got {half_window}")
    if max_drift is None:
        max_drift = STILL_DRIFT_FRACTION * median_extent(reference)
        if max_drift <= 0:
            raise ValueError("still_steps: the track's points span no extent (one joint?); pass max_drift in pixels")
    n_frames, n_joints = reference.shape[:2]
    still = np.zeros((max(n_frames - 1, 0), n_joints), dtype=bool)
    if n_frames < 2 * half_window:
        return still
    present = is_present(reference).astype(np.int64)
    xy = np.where(present[..., None] > 0, reference[..., :2], 0.0)
    # Running sums with a zero row in front: sum over frames [a, b) is sums[b] - sums[a].
    count = np.concatenate([np.zeros((1, n_joints), np.int64), np.cumsum(present, axis=0)])  # (T + 1, N)
    sums = np.concatenate([np.zeros((1, n_joints, 2)), np.cumsum(xy, axis=0)])  # (T + 1, N, 2)
    steps = np.arange(half_window, n_frames - half_window + 1)  # frame t of each step t - 1 -> t
    before = (sums[steps] - sums[steps - half_window]) / half_window  # (S, N, 2)
    after = (sums[steps + half_window] - sums[steps]) / half_window
    all_present = count[steps + half_window] - count[steps - half_window] == 2 * half_window  # (S, N)
    still[steps - 1] = all_present & (np.linalg.norm(after - before, axis=-1) <= max_drift)
    return still


def median_extent(track: np.ndarray) -> float:
    """Median over frames of the bounding-box diagonal (pixels) of a ``(T, N, 3)`` track's present points; 0 when
    no frame has a point."""
    present = is_present(track)
    diagonals = [np.linalg.norm(np.ptp(frame[mask, :2], axis=0)) for frame, mask in zip(track, present, strict=True)
                 if mask.any()]
    return float(np.median(diagonals)) if diagonals else 0.0


def still_jitter(track: np.ndarray, reference: np.ndarray | None = None, half_window: int = 4,
                 max_drift: float | None = None) -> float:
    """Keypoint jitter in pixels: the mean frame-to-frame displacement |p_t - p_{t-1}| of ``track`` over the steps
    where the joint is still (``still_steps``) and present in both frames. A still joint should not move, so this
    is the noise left in the track.

    Stillness is judged on ``reference`` (default: ``track`` itself); to compare a track before and after smoothing,
    pass the raw track as ``reference`` to both calls so both average over the same steps. Returns NaN when no
    step is still.
    """
    check_track(track)
    reference = track if reference is None else reference
    if reference.shape != track.shape:
        raise ValueError(f"reference shape {reference.shape} differs from track shape {track.shape}")
    present = is_present(track)
    used = still_steps(reference, half_window, max_drift) & present[1:] & present[:-1]  # (T - 1, N)
    if not used.any():
        return float("nan")
    displacement = np.linalg.norm(np.diff(track[..., :2], axis=0), axis=-1)  # (T - 1, N)
    return float(displacement[used].mean())
