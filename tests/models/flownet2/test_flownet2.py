"""FlowNet2 parity with NVIDIA's code (hash weights, README §3.3) and checkpoint layout (manifest f)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.flow import FlowNet2Estimator
from models.flownet2 import FlowNet2


def _max_rel_diff(ours: torch.Tensor, reference: torch.Tensor) -> float:
    return ((ours - reference).abs().max() / reference.abs().max()).item()


def test_hash_weights_regenerate_exactly(flownet2_vector: dict, hash_state: dict) -> None:
    for key, check in flownet2_vector["weight_checks"].items():
        values = hash_state[key].double().flatten()
        assert values.sum().item() == pytest.approx(check["sum_float64"], rel=1e-9, abs=1e-9), key
        first = torch.tensor(check["first4"], dtype=torch.float64)
        assert torch.equal(values[: len(first)], first), key


def test_state_dict_layout_matches_manifest(reference_dir: Path) -> None:
    manifest = json.loads((reference_dir / "manifests" / "f_flownet2.json").read_text())["networks"][0]
    with torch.device("meta"):
        network = FlowNet2()
    ours = [(key, list(value.shape)) for key, value in network.state_dict().items()]
    assert ours == [(entry["key"], entry["shape"]) for entry in manifest["state_dict"]]
    assert sum(value.numel() for value in network.state_dict().values()) == manifest["n_parameters"]


@pytest.mark.parametrize("case_index", [0, 1])
def test_subnet_outputs_match(flownet2_vector: dict, hashed_flownet2: FlowNet2, case_index: int) -> None:
    case = flownet2_vector["cases"][case_index]
    current, previous = case["im1_current"], case["im2_previous"]
    height, width = case["resized_to"]
    if (height, width) != tuple(current.shape[-2:]):
        resize = torch.nn.functional.interpolate
        current = resize(current, size=(height, width), mode="bilinear", align_corners=False)
        previous = resize(previous, size=(height, width), mode="bilinear", align_corners=False)
    with torch.no_grad():
        flow, subnets = hashed_flownet2(torch.stack((current, previous), dim=2), return_subnet_outputs=True)
    assert set(subnets) == set(case["subnet_outputs"])
    for name, reference in case["subnet_outputs"].items():
        assert subnets[name].shape == reference.shape, name
        assert _max_rel_diff(subnets[name], reference) <= 1e-4, name
    assert torch.equal(flow, subnets["flownetfusion"])


@pytest.mark.parametrize("case_index", [0, 1])
def test_wrapper_flow_and_conf_match(flownet2_vector: dict, hashed_flownet2: FlowNet2, case_index: int) -> None:
    """Case 0 is 64x128 (no resize), case 1 is 96x128 (resized to 64x128 and back)."""
    case = flownet2_vector["cases"][case_index]
    estimator = FlowNet2Estimator(hashed_flownet2)
    result = estimator(case["im1_current"], case["im2_previous"])
    assert result.flow.shape == case["flow"].shape and result.conf.shape == case["conf"].shape
    assert _max_rel_diff(result.flow, case["flow"]) <= 1e-4
    # conf is thresholded (and, for case 1, bilinearly resized); a pixel exactly at the threshold could flip
    # with ~1e-7 float differences, so compare per pixel and allow at most 0.1 % disagreement.
    agreement = ((result.conf - case["conf"]).abs() < 1e-4).float().mean().item()
    assert agreement >= 0.999
    assert 0 < case["conf"].mean() < 1  # the vector exercises both outcomes

    # The (B, N, 3, H, W) form gives the same per-frame result.
    batched = estimator(case["im1_current"].unsqueeze(1), case["im2_previous"].unsqueeze(1))
    assert batched.flow.shape == (1, 1, 2, case["H"], case["W"])
    torch.testing.assert_close(batched.flow[:, 0], result.flow)
    torch.testing.assert_close(batched.conf[:, 0], result.conf)


def test_wrapper_scales_flow_by_height_ratio_like_reference(hashed_flownet2: FlowNet2) -> None:
    """Both components use old_h/new_h (a reference quirk); ``exact_flow_scaling`` uses per-axis ratios."""
    generator = torch.Generator().manual_seed(3)
    current, previous = (torch.rand(1, 3, 96, 200, generator=generator) * 2 - 1 for _ in range(2))
    quirk = FlowNet2Estimator(hashed_flownet2)(current, previous).flow
    exact = FlowNet2Estimator(hashed_flownet2, exact_flow_scaling=True)(current, previous).flow
    torch.testing.assert_close(exact[:, 1], quirk[:, 1])
    ratio = (200 / 192) / (96 / 64)
    np.testing.assert_allclose(exact[:, 0].numpy(), quirk[:, 0].numpy() * ratio, rtol=1e-5, atol=1e-6)


def test_flownet2_rejects_sizes_not_multiple_of_64(hashed_flownet2: FlowNet2) -> None:
    with pytest.raises(ValueError, match="multiples of 64"):
        hashed_flownet2(torch.zeros(1, 3, 2, 64, 100))
    with pytest.raises(ValueError, match="at least 64x64"):
        FlowNet2Estimator(hashed_flownet2)(torch.zeros(1, 3, 32, 64), torch.zeros(1, 3, 32, 64))


def test_wrapper_ignores_callers_autocast(flownet2_vector: dict, hashed_flownet2: FlowNet2) -> None:
    """A trainer running under bfloat16 autocast still gets FlowNet2's float32 result."""
    case = flownet2_vector["cases"][0]
    estimator = FlowNet2Estimator(hashed_flownet2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        result = estimator(case["im1_current"], case["im2_previous"])
    assert result.flow.dtype == torch.float32
    assert _max_rel_diff(result.flow, case["flow"]) <= 1e-4
