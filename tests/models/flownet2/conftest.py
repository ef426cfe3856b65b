"""Fixtures for the FlowNet2 parity tests: the reference vector and FlowNet2 loaded with its hash weights."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.flownet2 import FlowNet2
from tests.models.flownet2.hash_weights import hash_state_dict


@pytest.fixture(scope="session")
def flownet2_vector(reference_dir: Path) -> dict:
    """Contents of vectors/flownet2_hashweights.pt (README §3.3)."""
    return torch.load(reference_dir / "vectors" / "flownet2_hashweights.pt", weights_only=True)


@pytest.fixture(scope="session")
def hash_state(flownet2_vector: dict) -> dict[str, torch.Tensor]:
    """The 220 regenerated hash-weight tensors (162.5 M floats, ~2 s)."""
    return hash_state_dict(flownet2_vector["state_dict_keys_in_order"])


@pytest.fixture(scope="session")
def hashed_flownet2(hash_state: dict[str, torch.Tensor]) -> FlowNet2:
    """FlowNet2 with the hash weights loaded strictly, in eval mode (shares memory with ``hash_state``)."""
    with torch.device("meta"):
        network = FlowNet2()
    network.load_state_dict(hash_state, strict=True, assign=True)
    return network.eval().requires_grad_(False)
