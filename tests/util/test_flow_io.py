"""util/flow_io.py: Middlebury .flo round trip, error messages, colour-wheel visualisation."""
import numpy as np
import pytest

from util.flow_io import FlowFileError, flow_to_color, read_flo, write_flo


def test_round_trip_and_layout(tmp_path):
    rng = np.random.default_rng(0)
    flow = (rng.standard_normal((5, 7, 2)) * 3).astype(np.float32)
    path = tmp_path / "a.flo"
    write_flo(path, flow)
    data = path.read_bytes()
    assert len(data) == 12 + 5 * 7 * 2 * 4
    assert data[:4] == b"PIEH"  # float32 202021.25, little-endian
    assert np.frombuffer(data[4:12], "<i4").tolist() == [7, 5]  # width, then height
    # (u, v) interleaved per pixel, row-major
    assert np.frombuffer(data[12:20], "<f4").tolist() == flow[0, 0].tolist()
    back = read_flo(path)
    assert back.dtype == np.float32 and back.shape == (5, 7, 2)
    np.testing.assert_array_equal(back, flow)


def test_write_casts_and_rejects_bad_shapes(tmp_path):
    flow = np.arange(24, dtype=np.float64).reshape(3, 4, 2) / 8
    write_flo(tmp_path / "b.flo", flow)
    np.testing.assert_array_equal(read_flo(tmp_path / "b.flo"), flow.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 2\)"):
        write_flo(tmp_path / "c.flo", np.zeros((3, 4, 3), np.float32))


def test_bad_magic_names_the_file(tmp_path):
    path = tmp_path / "bad.flo"
    write_flo(path, np.zeros((2, 2, 2), np.float32))
    data = bytearray(path.read_bytes())
    data[:4] = b"XXXX"
    path.write_bytes(bytes(data))
    with pytest.raises(FlowFileError, match=r"bad\.flo.*magic"):
        read_flo(path)


def test_truncated_and_too_short(tmp_path):
    path = tmp_path / "cut.flo"
    write_flo(path, np.ones((4, 4, 2), np.float32))
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(FlowFileError, match=r"cut\.flo.*truncated"):
        read_flo(path)
    path.write_bytes(b"PIEH")
    with pytest.raises(FlowFileError, match=r"cut\.flo"):
        read_flo(path)
    path.write_bytes(np.array([202021.25], "<f4").tobytes() + np.array([-3, 2], "<i4").tobytes())
    with pytest.raises(FlowFileError, match="corrupt"):
        read_flo(path)


def test_flow_to_color_wheel():
    flow = np.array([[[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1], [0.5, 0], [3, 0], [np.nan, 0]]], np.float32)
    img = flow_to_color(flow, max_flow=1.0)
    assert img.shape == (1, 8, 3) and img.dtype == np.uint8
    zero, right, left, down, up, half, beyond, unknown = (tuple(int(c) for c in p) for p in img[0])
    assert zero == (255, 255, 255)  # no motion: white
    assert right == (255, 0, 0)  # rightward: red
    assert left[2] == 255 and left[0] == 0  # leftward: cyan-blue
    assert down[0] == 255 and down[1] > 150 and down[2] == 0  # downward: yellow
    assert up[2] == 255 and up[1] == 0  # upward: blue-violet
    assert half[0] == 255 and 120 < half[1] < 135  # half magnitude: half saturated
    assert beyond[0] < 255 and beyond[1] == 0  # beyond max_flow: darker
    assert unknown == (0, 0, 0)
    # default normalisation by the largest magnitude
    auto = flow_to_color(np.array([[[2, 0], [0, 0]]], np.float32))
    assert tuple(auto[0, 0]) == (255, 0, 0)
