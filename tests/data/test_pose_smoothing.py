"""Keypoint track cleaning: gap filling, the One Euro filter (less jitter, a real jump kept, restarts after a missing
frame) and the still-jitter measure."""
import numpy as np
import pytest

from data.pose_video.smoothing import fill_gaps, smooth_track, still_jitter, still_steps

FPS = 30.0


def still_track(n_frames: int = 120, sigma: float = 3.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 25-joint body standing still (joints spread over 400 px) and the same track with Gaussian pixel noise."""
    rng = np.random.default_rng(seed)
    body = np.stack([np.linspace(200, 300, 25), np.linspace(50, 450, 25), np.full(25, 0.9)], axis=-1)  # (25, 3)
    clean = np.repeat(body[None], n_frames, axis=0)  # (T, 25, 3)
    noisy = clean.copy()
    noisy[..., :2] += rng.normal(0, sigma, (n_frames, 25, 2))
    return clean, noisy


def test_smoothing_more_than_halves_the_jitter_of_a_still_noisy_body() -> None:
    clean, noisy = still_track()
    smoothed = smooth_track(noisy, FPS)
    before, after = still_jitter(noisy), still_jitter(smoothed, reference=noisy)
    assert 4.0 < before < 7.0  # sqrt(2) * sigma * sqrt(pi / 2) ~ 5.3 px for sigma 3
    assert after < 0.5 * before
    assert still_jitter(clean, max_drift=1.0) == 0.0
    assert smoothed.shape == noisy.shape and np.array_equal(smoothed[..., 2], noisy[..., 2])


def test_a_real_jump_is_followed_within_a_few_frames() -> None:
    rng = np.random.default_rng(1)
    track = np.zeros((60, 1, 3))
    track[:, 0] = (200.0, 100.0, 1.0)
    track[30:, 0, 0] = 300.0  # the joint jumps 100 px at frame 30
    track[..., :2] += rng.normal(0, 1.0, (60, 1, 2))
    smoothed = smooth_track(track, FPS)
    assert abs(smoothed[30, 0, 0] - 300) < 25  # most of the jump in its own frame
    assert np.all(np.abs(smoothed[32:, 0, 0] - 300) < 5)  # within a few px two frames later
    # A 9-frame moving average (the smoothing a heavy low-pass would give) is still 30+ px short two frames later.
    moving_average = np.convolve(track[:, 0, 0], np.ones(9) / 9, mode="valid")  # frame t + 8 ends window t
    assert abs(moving_average[32 - 8] - 300) > 30


def test_missing_frames_stay_missing_and_restart_the_filter() -> None:
    track = np.zeros((20, 2, 3))
    track[:, 0] = (100.0, 100.0, 1.0)
    track[10:, 0, :2] = (400.0, 300.0)  # reappears elsewhere after a missing frame
    track[9, 0] = 0.0
    track[:, 1] = (50.0, 60.0, 0.8)
    track[:5, 1] = 0.0  # joint 1 appears at frame 5
    smoothed = smooth_track(track, FPS)
    assert np.all(smoothed[9, 0] == 0) and np.all(smoothed[:5, 1] == 0)
    np.testing.assert_allclose(smoothed[10, 0], (400, 300, 1))  # restarted at the raw position, no blend
    np.testing.assert_allclose(smoothed[5:, 1], np.tile((50, 60, 0.8), (15, 1)))


def test_fill_gaps_interpolates_short_gaps_only() -> None:
    track = np.zeros((12, 1, 3))
    track[:, 0, 0] = np.arange(12) * 10.0
    track[:, 0, 1] = 5.0
    track[:, 0, 2] = np.linspace(0.9, 0.6, 12)
    original = track.copy()
    track[[0, 3, 4, 7, 8, 9, 11], 0] = 0.0  # leading gap, a gap of 2, a gap of 3, trailing gap
    filled = fill_gaps(track, max_gap=2)
    np.testing.assert_allclose(filled[3:5, 0, :2], original[3:5, 0, :2])  # linear values
    np.testing.assert_allclose(filled[3:5, 0, 2], 0.5 * min(original[2, 0, 2], original[5, 0, 2]))
    for frame in (0, 7, 8, 9, 11):  # gap of 3 > max_gap, and gaps without a present frame on one side
        assert np.all(filled[frame, 0] == 0)
    assert np.all(track[3, 0] == 0)  # the input is left alone
    assert np.all(fill_gaps(track, max_gap=3)[7:10, 0, 2] > 0)


def test_still_steps_leave_out_motion() -> None:
    _, noisy = still_track(n_frames=60, sigma=1.5)
    moving = noisy.copy()
    moving[:, 0, 0] += np.arange(60) * 5.0  # joint 0 walks 5 px per frame
    still = still_steps(moving, half_window=4)
    assert still.shape == (59, 25)
    assert not still[:, 0].any() and still[10:40, 1:].mean() > 0.95
    assert not still[:3].any() and not still[-3:].any()  # steps without a full window around them


def test_still_jitter_needs_a_drift_for_one_joint_and_a_track_shape() -> None:
    with pytest.raises(ValueError, match="pass max_drift"):
        still_jitter(np.ones((10, 1, 3)))
    with pytest.raises(ValueError, match=r"\(T, N, 3\)"):
        smooth_track(np.ones((10, 3)), FPS)
