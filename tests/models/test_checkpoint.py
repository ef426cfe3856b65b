"""Reference-format checkpoint files: round trip, strict loading with clear errors, tolerated
``num_batches_tracked`` absence, file naming."""

from __future__ import annotations

import argparse
import os

import pytest
import torch

from models.checkpoint import CheckpointError, load_network, network_checkpoint_path, save_network
from models.networks import MultiscaleDiscriminator, get_norm_layer


def tiny_discriminator() -> MultiscaleDiscriminator:
    return MultiscaleDiscriminator(5, 4, 3, get_norm_layer("batch"), num_D=2, get_intermediate_features=True)


def test_round_trip(tmp_path) -> None:
    torch.manual_seed(0)
    source, target = tiny_discriminator(), tiny_discriminator()
    path = str(tmp_path / "run" / "latest_net_D.pth")
    save_network(source, path)
    assert os.listdir(tmp_path / "run") == ["latest_net_D.pth"]  # no temp file left behind
    stored = torch.load(path, weights_only=True)
    assert list(stored) == list(source.state_dict())  # bare state_dict, no wrapper prefix
    load_network(target, path)
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key


def test_missing_key_is_named(tmp_path) -> None:
    state = tiny_discriminator().state_dict()
    del state["scale1_layer2.0.weight"]
    path = str(tmp_path / "latest_net_D.pth")
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"missing keys: scale1_layer2\.0\.weight") as info:
        load_network(tiny_discriminator(), path)
    assert path in str(info.value)


def test_unexpected_key_is_named(tmp_path) -> None:
    state = tiny_discriminator().state_dict()
    state["extra.weight"] = torch.zeros(1)
    path = str(tmp_path / "latest_net_D.pth")
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"unexpected keys: extra\.weight"):
        load_network(tiny_discriminator(), path)


def test_shape_mismatch_is_named(tmp_path) -> None:
    state = tiny_discriminator().state_dict()
    state["scale0_layer1.1.weight"] = torch.ones(3)
    path = str(tmp_path / "latest_net_D.pth")
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"scale0_layer1\.1\.weight: file \(3,\)"):
        load_network(tiny_discriminator(), path)


def test_pytorch04_files_without_num_batches_tracked_load(tmp_path) -> None:
    torch.manual_seed(1)
    source = tiny_discriminator()
    state = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    path = str(tmp_path / "old.pth")
    torch.save(state, path)
    target = tiny_discriminator()
    load_network(target, path)
    assert torch.equal(
        target.state_dict()["scale0_layer1.1.running_var"], source.state_dict()["scale0_layer1.1.running_var"]
    )


def test_missing_file_raises(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        load_network(tiny_discriminator(), str(tmp_path / "nope.pth"))


def test_file_names() -> None:
    opt = argparse.Namespace(
        checkpoints_dir="./checkpoints",
        name="run",
        which_epoch="latest",
        dataroot="datasets/Cityscapes/",
        loadSize=1024,
    )
    assert network_checkpoint_path(opt, "G0") == "checkpoints/run/latest_net_G0.pth"
    assert network_checkpoint_path(opt, "D_T1", 7) == "checkpoints/run/7_net_D_T1.pth"
    assert network_checkpoint_path(opt, "G_single") == "checkpoints/label2city_single/latest_net_G_1024.pth"


@pytest.mark.parametrize("content", [b"garbage, not a checkpoint", "truncated"])
def test_corrupt_file_is_one_clear_error(tmp_path, content) -> None:
    path = tmp_path / "latest_net_D.pth"
    if content == "truncated":
        save_network(tiny_discriminator(), str(path))
        path.write_bytes(path.read_bytes()[:200])
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"cannot read checkpoint .*latest_net_D\.pth .*corrupt"):
        load_network(tiny_discriminator(), str(path))
