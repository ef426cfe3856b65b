"""Reference-format checkpoint files: round trip, strict loading with clear errors, tolerated
``num_batches_tracked`` absence, file naming."""

from __future__ import annotations

import argparse
import os

import pytest
import torch

from models.checkpoint import CheckpointError, load_network, save_network
from models.inference import network_checkpoint_path
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
    with pytest.raises(CheckpointError, match=r"scale0_layer1\.1\.weight has shape \(3,\) in the file"):
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
    expected = r"checkpoint .*latest_net_D\.pth is (truncated or )?not a PyTorch"
    with pytest.raises(CheckpointError, match=expected) as info:
        load_network(tiny_discriminator(), str(path))
    assert "\n" not in str(info.value) and "weights_only" not in str(info.value)


class NotATensor:
    """A class whose pickle would need code to rebuild (what weights_only refuses)."""


def write_bad_file(path, kind: str) -> None:  # noqa: ANN001
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "plain pickle":
        import pickle

        path.write_bytes(pickle.dumps({"weight": [1.0, 2.0]}))
    elif kind == "code-carrying":
        torch.save({"weight": torch.zeros(1), "extra": NotATensor()}, path)


@pytest.mark.parametrize(
    ("kind", "fragment"),
    [
        ("empty", "is empty (0 bytes)"),
        ("plain pickle", "is not a PyTorch checkpoint"),
        ("code-carrying", "holds Python objects besides tensors"),
    ],
)
def test_bad_files_are_one_line_without_torch_text(tmp_path, kind: str, fragment: str) -> None:
    path = tmp_path / "latest_net_D.pth"
    write_bad_file(path, kind)
    with pytest.raises(CheckpointError) as info:
        load_network(tiny_discriminator(), str(path), fix="re-save it")
    message = str(info.value)
    assert fragment in message and str(path) in message and message.endswith("re-save it"), message
    assert "\n" not in message and "\x1b" not in message
    assert "weights_only" not in message and "torch.serialization" not in message


def test_legacy_format_loads_also_memory_mapped(tmp_path) -> None:
    """NVIDIA's published files are PyTorch 0.4 (non-zip) pickles: mmap is impossible there, loading still works."""
    source = tiny_discriminator()
    path = tmp_path / "latest_net_D.pth"
    torch.save(source.state_dict(), path, _use_new_zipfile_serialization=False)
    target = tiny_discriminator()
    load_network(target, str(path), mmap=True)
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key


def test_mismatch_hint_comes_from_the_network_structure(tmp_path) -> None:
    """The flag hint is declared by each network class, so it also works for networks other than G0."""
    from models.networks.generator import CompositeGenerator
    from models.networks.local_generator import CompositeLocalGenerator

    norm = get_norm_layer("batch")
    wide = CompositeLocalGenerator(27, 3, 6, 8, 2, 1, norm, use_fg=True)
    narrow = CompositeLocalGenerator(27, 3, 6, 4, 2, 1, norm, use_fg=True)
    path = tmp_path / "latest_net_G1.pth"
    save_network(wide, str(path))
    with pytest.raises(CheckpointError, match=r"G1 \(CompositeLocalGenerator\).*check --ngf .*--n_scales_spatial"):
        load_network(narrow, str(path), "G1")
    more_labels = CompositeGenerator(30, 3, 6, 8, 2, 2, norm)
    save_network(CompositeGenerator(27, 3, 6, 8, 2, 2, norm), str(path))
    with pytest.raises(CheckpointError, match=r"check --label_nc / --input_nc / --use_instance / --n_frames_G"):
        load_network(more_labels, str(path), "G0")
    with pytest.raises(CheckpointError, match=r"check --fg \(the checkpoint lacks the foreground branch\)"):
        load_network(CompositeGenerator(27, 3, 6, 8, 2, 2, norm, use_fg=True), str(path), "G0")
    with pytest.raises(CheckpointError, match=r"check --ndf / --num_D"):
        load_network(MultiscaleDiscriminator(5, 4, 3, norm, num_D=3, get_intermediate_features=True),
                     str(_saved_discriminator(tmp_path)), "D")


def _saved_discriminator(tmp_path):  # noqa: ANN001, ANN202
    path = tmp_path / "latest_net_D.pth"
    save_network(tiny_discriminator(), str(path))
    return path
