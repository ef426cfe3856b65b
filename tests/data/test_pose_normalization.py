"""Everybody Dance Now pose normalisation: per-video stats (robust far/close ankle y and heights, JSON file) and the
map of a source's keypoints onto the target's floor and size."""
import json

import numpy as np
import pytest

from data.image_folder import DataError
from data.pose_video.normalization import PoseStats, compute_stats, normalisation, track_ankle_ys

# A standing BODY_25 body in units of its height: (x offset from the mid hip, height above the ankles).
BODY_SHAPE = np.array([
    (0.0, 0.93), (0.0, 0.82), (-0.12, 0.81), (-0.15, 0.62), (-0.16, 0.45), (0.12, 0.81), (0.15, 0.62),
    (0.16, 0.45), (0.0, 0.5), (-0.06, 0.5), (-0.07, 0.26), (-0.07, 0.04), (0.06, 0.5), (0.07, 0.26),
    (0.07, 0.04), (-0.03, 0.95), (0.03, 0.95), (-0.06, 0.94), (0.06, 0.94), (0.1, 0.0), (0.0, 0.0),
    (0.06, 0.01), (-0.1, 0.0), (0.0, 0.0), (-0.06, 0.01)])  # (25, 2); small toes 20, 23 are never detected


def body(ankle_y: float, height: float, hip_x: float) -> np.ndarray:
    """(25, 3) keypoints of BODY_SHAPE standing with its lowest foot point at ``ankle_y``."""
    points = np.zeros((25, 3))
    points[:, 0] = hip_x + BODY_SHAPE[:, 0] * height
    points[:, 1] = ankle_y - (BODY_SHAPE[:, 1] - 0.01) * height  # the heels at ankle_y
    points[:, 2] = 0.9
    points[[20, 23]] = 0.0
    return points


def target_track() -> np.ndarray:
    """A dancer walking from far (feet at y 300, 150 px tall) to close (feet at y 450, 300 px tall) and back."""
    rng = np.random.default_rng(0)
    depth = np.concatenate([np.zeros(20), np.linspace(0, 1, 30), np.ones(20), np.linspace(1, 0, 30)])  # (100,)
    track = np.stack([body(300 + 150 * f, 150 + 150 * f, 320 + rng.uniform(-40, 40)) for f in depth])
    track[55, [11, 14, 21, 24]] = 0.0  # a frame with the feet hidden
    track[56, [3, 4, 16, 18]] = 0.0  # a frame with an arm and the left side of the face missing
    return track


def test_the_map_sends_a_scaled_and_shifted_source_back_onto_the_target() -> None:
    target = target_track()
    scale, shift = 0.6, np.array([75.0, -40.0])
    source = target.copy()
    source[..., :2] = np.where(target[..., 2:] > 0, target[..., :2] * scale + shift, 0.0)
    source_stats, target_stats = compute_stats(source, (640, 480)), compute_stats(target, (1280, 720))
    mapping = normalisation(source_stats, target_stats)
    mapped = mapping.apply_to_track(source)
    np.testing.assert_allclose(mapped, target, atol=1.0)  # far, close, in between, the frame without feet
    assert np.all(mapped[55, [11, 14, 21, 24]] == 0) and np.all(mapped[56, [3, 4, 16, 18]] == 0)
    # Face and hand points of a frame go through the same map, given the frame's ankle y from the body.
    face = np.zeros((70, 3))
    face[:68] = (target[40, 0, 0] + 5, target[40, 0, 1] - 3, 0.7)
    source_face = face.copy()
    source_face[:68, :2] = face[:68, :2] * scale + shift
    np.testing.assert_allclose(mapping(source_face, track_ankle_ys(source)[40]), face, atol=1.0)


def test_the_scale_and_floor_interpolate_between_the_depths() -> None:
    source = PoseStats(far_ankle_y=200, close_ankle_y=400, far_height=100, close_height=200, centre_x=100,
                       frame_width=640, frame_height=480)
    target = PoseStats(far_ankle_y=300, close_ankle_y=500, far_height=120, close_height=300, centre_x=500,
                       frame_width=1024, frame_height=576)
    mapping = normalisation(source, target)
    points = np.array([[110.0, 200.0, 1.0], [0.0, 0.0, 0.0]])  # a point 100 px above the feet, and a missing one
    # Halfway in depth: scale lerp(1.2, 1.5, 0.5) = 1.35, the feet on the target's floor halfway, y 400.
    np.testing.assert_allclose(mapping(points, 300.0), [[500 + 13.5, 400 - 135, 1.0], [0, 0, 0]])
    assert mapping.depth_fraction(100.0) == 0.0 and mapping.depth_fraction(900.0) == 1.0  # clipped
    np.testing.assert_allclose(mapping(points, 100.0)[0], [500 + 12, 300 + 100 * 1.2, 1.0])
    flat = PoseStats(250, 250.5, 100, 100, 100, 640, 480)
    assert normalisation(flat, target).depth_fraction(400.0) == 0.5


def test_stats_ignore_a_wrong_foot_and_frames_without_feet_hold_the_last_ankle() -> None:
    track = target_track()
    clean = compute_stats(track, (1280, 720))
    assert clean.far_ankle_y == pytest.approx(300) and clean.close_ankle_y == pytest.approx(450)
    # The eyes are the top: 0.94 of the height above the heels.
    assert clean.far_height == pytest.approx(0.94 * 150, abs=5)
    assert clean.close_height == pytest.approx(0.94 * 300, abs=5)
    track[30, 11, 1] = 5000.0  # one ankle detected far below the frame
    assert compute_stats(track, (1280, 720)).close_ankle_y == pytest.approx(450)
    ankles = track_ankle_ys(track[50:60])
    assert ankles[5] == ankles[4] and not np.isnan(ankles).any()
    feetless_start = track[50:60].copy()
    feetless_start[:2, [11, 14, 21, 24]] = 0.0
    np.testing.assert_allclose(track_ankle_ys(feetless_start)[:2], np.median(ankles[[2, 3, 4, 6, 7, 8, 9]]))


def test_stats_json_round_trip_and_clear_errors(tmp_path) -> None:
    stats = compute_stats(target_track(), (1280, 720))
    path = tmp_path / "pose_stats.json"
    stats.save(path)
    assert PoseStats.load(path) == stats and PoseStats.from_json(json.loads(path.read_text())) == stats
    path.write_text("{not json")
    with pytest.raises(DataError, match="pose_stats.json"):
        PoseStats.load(path)
    path.write_text(json.dumps({**stats.to_json(), "far_height": "tall"}))
    with pytest.raises(DataError, match=r"pose_stats.json.*far_height"):
        PoseStats.load(path)
    with pytest.raises(FileNotFoundError, match="missing.json"):
        PoseStats.load(tmp_path / "missing.json")


def test_no_frame_with_head_and_feet_is_a_clear_error() -> None:
    track = target_track()
    track[:, [0, 1, 15, 16, 17, 18]] = 0.0  # the head cut off by the frame in every frame
    with pytest.raises(ValueError, match="no frame shows both a head point"):
        compute_stats(track, (1280, 720))
