"""The flow interface: backend selection, checkpoint errors, DIS and RAFT backends."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.checkpoint import CheckpointError
from models.flow import (
    DisEstimator,
    FlowNet2Estimator,
    build_flow_estimator,
    load_flownet2,
    load_raft,
)
from models.flownet2 import FlowNet2


def _lightweight_state_dict() -> dict[str, torch.Tensor]:
    """FlowNet2-shaped zeros that cost one float each on disk (stride-0 expanded views)."""
    with torch.device("meta"):
        shapes = {key: value.shape for key, value in FlowNet2().state_dict().items()}
    return {key: torch.zeros(1).expand(shape) for key, shape in shapes.items()}


def test_missing_checkpoint_gives_one_line_with_the_fixes(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "FlowNet2_checkpoint.pth.tar"
    with pytest.raises(FileNotFoundError) as error:
        load_flownet2(missing)
    message = str(error.value)
    assert "\n" not in message
    for needed in (str(missing), "FlowNet2_checkpoint.pth.tar", "flownet2-pytorch", "--flownet_checkpoint PATH",
                   "--flow_net dis|raft", "python scripts/download_flownet2.py"):
        assert needed in message


def test_default_checkpoint_location_is_the_references() -> None:
    from models.flow import DEFAULT_FLOWNET2_CHECKPOINT

    assert DEFAULT_FLOWNET2_CHECKPOINT.as_posix().endswith("models/flownet2_pytorch/FlowNet2_checkpoint.pth.tar")


def test_checkpoint_with_removed_key_names_the_key_and_file(tmp_path: Path) -> None:
    state_dict = _lightweight_state_dict()
    del state_dict["flownets_d.inter_conv3.0.bias"]
    state_dict["flownets_d.extra.weight"] = torch.zeros(1)
    path = tmp_path / "broken.pth.tar"
    torch.save({"state_dict": state_dict, "epoch": 3}, path)
    with pytest.raises(CheckpointError) as error:
        load_flownet2(path)
    message = str(error.value)
    assert str(path) in message
    assert "missing keys: flownets_d.inter_conv3.0.bias" in message
    assert "unexpected keys: flownets_d.extra.weight" in message


def test_checkpoint_without_state_dict_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "not_flownet.pth"
    torch.save({"model": {}}, path)
    with pytest.raises(ValueError, match="expected a dict with key 'state_dict'"):
        load_flownet2(path)


def test_checkpoint_loads_strictly_frozen_and_in_eval(tmp_path: Path) -> None:
    path = tmp_path / "FlowNet2_checkpoint.pth.tar"
    # The public checkpoint also carries bookkeeping keys next to 'state_dict'.
    torch.save({"state_dict": _lightweight_state_dict(), "epoch": 1, "best_EPE": 1.5}, path)
    network = load_flownet2(path, device="cpu")
    assert not network.training and not network.flownetc.training
    assert all(not parameter.requires_grad for parameter in network.parameters())
    assert all(parameter.device.type == "cpu" for parameter in network.parameters())
    assert network.flownets_d.conv0[0].weight.shape == (64, 6, 3, 3)
    assert network.flownets_d.conv0[0].weight.is_contiguous()
    estimator = build_flow_estimator("flownet2", flownet_checkpoint=path)
    assert isinstance(estimator, FlowNet2Estimator)
    estimator.train()  # vid2vid's trainer may flip modes; FlowNet2 must stay in eval
    assert not estimator.network.training


def test_unknown_backend_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="flownet2, raft, dis"):
        build_flow_estimator("pwc")


def _shifted_pair(shift: int, height: int = 112, width: int = 160) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth random (1, 3, height, width) frame and the same frame moved ``shift`` px to the right."""
    generator = torch.Generator().manual_seed(0)
    coarse = torch.rand(1, 3, 12, 16, generator=generator) * 2 - 1
    size = (height + 32, width + 32)
    frame = torch.nn.functional.interpolate(coarse, size=size, mode="bicubic", align_corners=False)
    frame = frame.clamp(-1, 1)
    previous = torch.roll(frame, shifts=shift, dims=3)
    return frame[..., 16:-16, 16:-16].contiguous(), previous[..., 16:-16, 16:-16].contiguous()


def test_dis_backend_recovers_a_translation() -> None:
    current, previous = _shifted_pair(3)  # previous(x + 3) == current(x)  ->  flow_x = +3
    result = build_flow_estimator("dis")(current, previous)
    assert result.flow.shape == (1, 2, 112, 160) and result.conf.shape == (1, 1, 112, 160)
    interior = result.flow[0, :, 16:-16, 16:-16]
    assert abs(interior[0].median().item() - 3.0) < 0.3
    assert abs(interior[1].median().item()) < 0.3
    assert result.conf[0, 0, 16:-16, 16:-16].mean() > 0.9


def test_dis_backend_handles_frame_stacks() -> None:
    current, previous = _shifted_pair(1)
    stack = DisEstimator()(current.expand(2, 3, -1, -1).unsqueeze(0), previous.expand(2, 3, -1, -1).unsqueeze(0))
    assert stack.flow.shape == (1, 2, 2, 112, 160) and stack.conf.shape == (1, 2, 1, 112, 160)


def test_raft_missing_weights_gives_one_line(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as error:
        load_raft(tmp_path / "raft.pth")
    message = str(error.value)
    assert "\n" not in message and "Raft_Large_Weights" in message and "--flow_net flownet2|dis" in message


def test_raft_backend_runs_with_local_weights(tmp_path: Path) -> None:
    from torchvision.models.optical_flow import raft_large

    torch.manual_seed(0)
    path = tmp_path / "raft_large.pth"
    torch.save(raft_large(weights=None).state_dict(), path)  # random weights: shapes and plumbing only
    estimator = build_flow_estimator("raft", raft_weights=path)
    estimator.num_flow_updates = 2
    current, previous = _shifted_pair(2, height=130, width=150)  # RAFT runs at 128x152 and resizes back
    result = estimator(current, previous)
    assert result.flow.shape == (1, 2, 130, 150) and result.conf.shape == (1, 1, 130, 150)
    assert torch.isfinite(result.flow).all()
    with pytest.raises(ValueError, match="at least 128x128"):
        estimator(current[..., :100, :], previous[..., :100, :])
