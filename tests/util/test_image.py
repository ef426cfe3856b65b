"""util/image.py: the reference's tensor -> uint8 conversions (truncation, clipping), colormaps, flow colours."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from util.image import CITYSCAPES_35_COLORS, label_colormap, save_image, tensor2flow, tensor2im, tensor2label


def test_tensor2im_maps_minus_one_one_to_bytes_by_truncation() -> None:
    values = torch.tensor([-1.5, -1.0, 0.0, 0.999, 1.0, 2.0]).view(1, 1, 6).expand(3, 1, 6)
    out = tensor2im(values)
    assert out.dtype == np.uint8 and out.shape == (1, 6, 3)
    # (x + 1) / 2 * 255 then clip then truncate: 0 -> 127 (not 128), 0.999 -> 254
    assert out[0, :, 0].tolist() == [0, 0, 127, 254, 255, 255]


def test_tensor2im_unnormalized_and_channel_handling() -> None:
    grey = torch.tensor([[0.0, 0.5, 1.0, -0.2]])[None]  # (1, 1, 4)
    out = tensor2im(grey, normalize=False)
    assert out.shape == (1, 4) and out.tolist() == [[0, 127, 255, 0]]
    five_d = torch.zeros(2, 4, 5, 8, 8)
    five_d[0, -1, :3] = 1.0  # newest frame of item 0, first three channels
    assert tensor2im(five_d).shape == (8, 8, 3) and (tensor2im(five_d) == 255).all()
    four_d = torch.full((1, 3, 2, 2), -1.0)
    assert (tensor2im(four_d) == 0).all()


def reference_bit_colormap(n: int) -> np.ndarray:
    """Independent statement of the reference's colormap: bit k of the id, read three at a time from the least
    significant end, sets bit 7-j of R (k = 3j), G (k = 3j+1) or B (k = 3j+2), for j < 7."""
    table = np.zeros((n, 3), np.uint8)
    for i in range(n):
        bits = format(i, "021b")[::-1]  # bits[k] = bit k of i
        rgb = [0, 0, 0]
        for j in range(7):
            for c in range(3):
                if bits[3 * j + c] == "1":
                    rgb[c] |= 1 << (7 - j)
        table[i] = rgb
    return table


@pytest.mark.parametrize("n", [2, 8, 19, 36, 151, 256])
def test_bit_interleaved_colormap(n: int) -> None:
    assert np.array_equal(label_colormap(n), reference_bit_colormap(n))
    assert len({tuple(c) for c in label_colormap(n)}) == n  # every id gets its own colour


def test_cityscapes_colormap() -> None:
    table = label_colormap(35)
    assert table.shape == (35, 3) and np.array_equal(table, CITYSCAPES_35_COLORS)
    assert tuple(table[7]) == (128, 64, 128)  # road
    assert tuple(table[26]) == (0, 0, 142)  # car
    assert tuple(table[23]) == (70, 130, 180)  # sky
    assert (table[:5] == 0).all()
    assert tuple(label_colormap(20)[0]) == (128, 64, 128)  # evaluation ids


def test_tensor2label_one_hot_with_instance_edges() -> None:
    ids = torch.tensor([[7, 26], [23, 0]])
    one_hot = torch.nn.functional.one_hot(ids, 35).permute(2, 0, 1).float()  # (35, 2, 2)
    edges = torch.ones(1, 2, 2)  # tied with the one-hot maximum: the label must win
    out = tensor2label(torch.cat([one_hot, edges])[None], 35)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8
    assert [tuple(out[0, 0]), tuple(out[0, 1]), tuple(out[1, 0])] == [(128, 64, 128), (0, 0, 142), (70, 130, 180)]


def test_tensor2label_index_map_and_out_of_range() -> None:
    ids = torch.tensor([[[1.0, 3.0, 9.0]]])  # (1, 1, 3); 9 is outside 8 labels -> black
    out = tensor2label(ids, 8)
    assert [tuple(p) for p in out[0]] == [(128, 0, 0), (128, 128, 0), (0, 0, 0)]


def test_tensor2flow_colours_follow_direction_and_magnitude() -> None:
    flow = torch.zeros(2, 1, 4)
    flow[0, 0, 1] = 2.0  # right
    flow[0, 0, 2] = 4.0  # right, twice as long
    flow[1, 0, 3] = 4.0  # down
    out = tensor2flow(flow[None])
    assert out.shape == (1, 4, 3)
    assert tuple(out[0, 0]) == (0, 0, 0)  # no motion is black
    assert tuple(out[0, 2]) == (255, 0, 0)  # hue 0 = red at full value
    assert out[0, 1, 0] in (127, 128) and out[0, 1, 1:].max() == 0  # half the magnitude, half the value
    assert out[0, 3, 1] > out[0, 3, 0]  # 90 degrees: hue 45 (yellow-green)


def test_save_image_uses_pil_default_jpeg(tmp_path) -> None:
    image = np.random.default_rng(0).integers(0, 256, (16, 24, 3), dtype=np.uint8)
    save_image(image, str(tmp_path / "sub" / "x.jpg"))
    expected = io.BytesIO()
    Image.fromarray(image).save(expected, format="JPEG")
    assert (tmp_path / "sub" / "x.jpg").read_bytes() == expected.getvalue()
    save_image(image, str(tmp_path / "x.png"))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "x.png")), image)
