"""The networks built from each reference configuration have exactly the reference checkpoints' keys, shapes
and dtypes (in state_dict order), the same layers, and the same checkpoint file names."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import torch

from models.inference import network_checkpoint_path
from models.networks import build_networks

MANIFEST_DIR = Path(__file__).resolve().parents[1] / "data" / "reference" / "manifests"
MANIFESTS = sorted(p.name for p in MANIFEST_DIR.glob("*.json") if not p.name.startswith("f_"))


def load_manifest(name: str) -> dict:
    with open(MANIFEST_DIR / name) as handle:
        return json.load(handle)


def leaf_signature(net: torch.nn.Module) -> list[tuple[str, str, str]]:
    """(name, class, extra_repr) of every leaf module except ReLU (the reference shares one ReLU instance
    across layers, so its module listing skips the repeats)."""
    return [
        (name, type(module).__name__, module.extra_repr())
        for name, module in net.named_modules()
        if not list(module.children()) and type(module).__name__ != "ReLU"
    ]


def test_all_configurations_present() -> None:
    assert MANIFESTS == [
        "a_label2city_2048_test.json",
        "b_label2city_1024_g1_test.json",
        "c_label2city_256_g1_train.json",
        "d_edge2face_512_test.json",
        "e2_pose2body_256p_facedisc_train.json",
        "e_pose2body_256p_g1_train.json",
    ]


@pytest.mark.parametrize("manifest_name", MANIFESTS)
def test_networks_match_manifest(manifest_name: str) -> None:
    manifest = load_manifest(manifest_name)
    opt = argparse.Namespace(**manifest["parsed_options"])
    with torch.device("meta"):
        nets = build_networks(opt)
    assert len(nets) == len(manifest["networks"])
    for (label, net), entry in zip(nets.items(), manifest["networks"], strict=True):
        tag = f"{manifest_name} {label}"
        assert network_checkpoint_path(opt, label) == entry["file"], tag
        mine = [
            {"key": key, "shape": list(value.shape), "dtype": str(value.dtype).removeprefix("torch.")}
            for key, value in net.state_dict().items()
        ]
        assert len(mine) == entry["n_state_dict_keys"], tag
        for position, (a, b) in enumerate(zip(mine, entry["state_dict"], strict=True)):
            assert a == b, f"{tag} state_dict entry {position}: {a} vs reference {b}"
        assert sum(p.numel() for p in net.parameters()) == entry["n_parameters"], tag
        assert sum(b.numel() for b in net.buffers()) == entry["n_buffer_elements"], tag
        reference_leaves = [(m["name"], m["class"], m["args"]) for m in entry["leaf_modules"] if m["class"] != "ReLU"]
        assert leaf_signature(net) == reference_leaves, tag
