"""Correlation, resample2d and channelnorm against the reference vectors and brute force."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from models.flownet2.ops import channelnorm, correlation, resample2d


def _max_rel_diff(ours: torch.Tensor, reference: torch.Tensor) -> float:
    return ((ours - reference).abs().max() / reference.abs().max()).item()


@pytest.mark.parametrize(
    "options",
    [{"method": "banded"}, {"method": "banded", "tile_width": 7}, {"method": "shifts", "chunk_size": 1},
     {"method": "shifts", "chunk_size": 50}, {"method": "shifts", "chunk_size": 441}],
)
def test_correlation_matches_reference(flownet2_vector: dict, options: dict) -> None:
    case = flownet2_vector["ops"]["correlation"]
    params = case["params"]
    assert (params["pad_size"], params["kernel_size"], params["stride1"]) == (20, 1, 1)
    ours = correlation(case["input1"], case["input2"], params["max_displacement"], params["stride2"], **options)
    assert ours.shape == (1, 441, 12, 20)
    assert _max_rel_diff(ours, case["output"]) <= 1e-5


def test_correlation_brute_force_channel_order() -> None:
    """Channel k = (dy index) * 21 + (dx index), zero outside, mean over channels; batch of 2."""
    generator = torch.Generator().manual_seed(1)
    features_1 = torch.randn(2, 5, 9, 11, generator=generator)
    features_2 = torch.randn(2, 5, 9, 11, generator=generator)
    ours = correlation(features_1, features_2)
    padded = F.pad(features_2, (20, 20, 20, 20))
    for k in (0, 20, 21, 220, 230, 440):
        dy, dx = (k // 21 - 10) * 2, (k % 21 - 10) * 2
        shifted = padded[:, :, 20 + dy : 29 + dy, 20 + dx : 31 + dx]
        expected = (features_1 * shifted).mean(dim=1)
        torch.testing.assert_close(ours[:, k], expected, atol=1e-6, rtol=1e-5)


def test_correlation_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="equal shape"):
        correlation(torch.zeros(1, 2, 3, 4), torch.zeros(1, 2, 3, 5))
    with pytest.raises(ValueError, match="method"):
        correlation(torch.zeros(1, 2, 3, 4), torch.zeros(1, 2, 3, 4), method="unfold")


def test_resample2d_matches_reference(flownet2_vector: dict) -> None:
    case = flownet2_vector["ops"]["resample2d"]
    ours = resample2d(case["input_image"], case["input_flow"])
    assert _max_rel_diff(ours, case["output"]) <= 1e-5


def test_resample2d_integer_shift_and_border_clamp() -> None:
    image = torch.arange(2 * 4 * 5, dtype=torch.float32).view(1, 2, 4, 5)
    flow = torch.zeros(1, 2, 4, 5)
    flow[:, 0] = 1.0  # sample one pixel to the right
    out = resample2d(image, flow)
    torch.testing.assert_close(out[..., :4], image[..., 1:])
    torch.testing.assert_close(out[..., 4], image[..., 4])  # beyond the right edge: border pixel
    flow[:, 0], flow[:, 1] = -7.5, 0.5  # far left, half a row down
    out = resample2d(image, flow)
    expected = 0.5 * (image[..., :, 0] + torch.cat((image[..., 1:, 0], image[..., 3:, 0]), dim=-1))
    torch.testing.assert_close(out[..., 0], expected)


def test_channelnorm_matches_reference(flownet2_vector: dict) -> None:
    case = flownet2_vector["ops"]["channelnorm"]
    assert _max_rel_diff(channelnorm(case["input"]), case["output"]) <= 1e-6
