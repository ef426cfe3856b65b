"""util/video.py: H.264/yuv420p mp4 files with even sizes, streamed, and nothing left behind on abort."""
from __future__ import annotations

import numpy as np
import pytest

from util.video import Mp4Writer, read_mp4_info, side_by_side, write_mp4


def frames(n: int, h: int, w: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def test_write_mp4_h264_yuv420p_even_size(tmp_path) -> None:
    path = tmp_path / "v.mp4"
    assert write_mp4(frames(7, 33, 65), str(path), fps=10) == 7
    info = read_mp4_info(str(path))
    assert info["n_frames"] == 7
    assert info["size"] == (66, 34)  # padded to even dimensions
    assert info["codec"].startswith("h264")
    assert info["pix_fmt"].startswith("yuv420p")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]  # no temporary file left


def test_greyscale_frames_and_side_by_side(tmp_path) -> None:
    grey = np.zeros((8, 6), np.uint8)
    colour = np.zeros((8, 10, 3), np.uint8)
    assert side_by_side(grey, colour).shape == (8, 16, 3)
    with pytest.raises(ValueError, match="same height"):
        side_by_side(grey, np.zeros((4, 4, 3), np.uint8))
    assert write_mp4([grey, grey], str(tmp_path / "g.mp4")) == 2


def test_size_change_and_abort_leave_no_file(tmp_path) -> None:
    path = tmp_path / "bad.mp4"
    with pytest.raises(ValueError, match="expected 16x8"):
        with Mp4Writer(str(path)) as writer:
            writer.append(np.zeros((8, 16, 3), np.uint8))
            writer.append(np.zeros((8, 18, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="uint8"):
        write_mp4([np.zeros((4, 4, 3), np.float32)], str(path))
    with pytest.raises(ValueError, match="no frames"):
        write_mp4([], str(path))
    assert list(tmp_path.iterdir()) == []
