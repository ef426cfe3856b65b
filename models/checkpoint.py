"""Per-network checkpoint files in the reference layout: ``<checkpoints_dir>/<name>/<epoch>_net_<label>.pth``
holding the bare ``state_dict()`` of one network, so published vid2vid models and ours interchange."""

from __future__ import annotations

import os
from argparse import Namespace

import torch
from torch import nn

from util.atomic import write_atomically

# single-frame generators live under fixed run names, always as 'latest' (as in the reference)
CITY_SINGLE_DIR = "label2city_single"
FACE_SINGLE_DIR = "edge2face_single"
OPTIONAL_BUFFER_SUFFIX = "num_batches_tracked"  # absent from files written by PyTorch 0.4.0


class CheckpointError(RuntimeError):
    """A checkpoint file does not match the network it is loaded into."""


def network_checkpoint_path(opt: Namespace, label: str, epoch_label: str | int | None = None) -> str:
    """File of network ``label`` (G0, D, D_T1, D_f, G_single, E_single) for epoch ``epoch_label``
    (default ``opt.which_epoch``)."""
    if label in ("G_single", "E_single"):
        from .networks.factory import single_frame_kind

        if single_frame_kind(opt) == "city":
            if label == "E_single":
                raise ValueError("the Cityscapes single-frame generator has no feature encoder")
            path = os.path.join(opt.checkpoints_dir, CITY_SINGLE_DIR, f"latest_net_G_{opt.loadSize}.pth")
        else:
            suffix = "G" if label == "G_single" else "E"
            path = os.path.join(opt.checkpoints_dir, FACE_SINGLE_DIR, f"latest_net_{suffix}.pth")
        return os.path.normpath(path)
    epoch = opt.which_epoch if epoch_label is None else epoch_label
    return os.path.normpath(os.path.join(opt.checkpoints_dir, opt.name, f"{epoch}_net_{label}.pth"))


def save_network(network: nn.Module, path: str) -> None:
    """Write ``network.state_dict()`` (tensors moved to CPU) atomically: temp file in the same folder + rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    state = {key: value.detach().cpu() for key, value in network.state_dict().items()}
    write_atomically(path, lambda temporary: torch.save(state, temporary))


def check_state_dict(network: nn.Module, state: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """Validate ``state`` against ``network`` strictly; return it completed with the tolerated absences.

    Raises CheckpointError naming every missing / unexpected key and every shape mismatch. The only accepted
    absence is a norm layer's ``num_batches_tracked`` (filled with the network's current value).
    """
    expected = network.state_dict()
    missing = [k for k in expected if k not in state]
    tolerated = [k for k in missing if k.endswith(OPTIONAL_BUFFER_SUFFIX)]
    missing = [k for k in missing if k not in tolerated]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k}: file {tuple(state[k].shape)} vs network {tuple(expected[k].shape)}"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {', '.join(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatches: {'; '.join(mismatched)}")
    if problems:
        raise CheckpointError(f"checkpoint {source} does not match {type(network).__name__}: " + " | ".join(problems))
    completed = dict(state)
    for key in tolerated:
        completed[key] = expected[key]
    return completed


def load_state_dict_strict(network: nn.Module, state: dict[str, torch.Tensor], source: str = "<state_dict>") -> None:
    """Strict load of an in-memory state_dict (see `check_state_dict`)."""
    network.load_state_dict(check_state_dict(network, state, source), strict=True)


def load_network(network: nn.Module, path: str) -> None:
    """Strictly load a reference-format checkpoint file into ``network`` (``weights_only=True``)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path} not found (check --checkpoints_dir, --name and --which_epoch)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated zip, pickle garbage, objects that weights_only refuses
        raise CheckpointError(f"cannot read checkpoint {path} ({type(error).__name__}): the file is corrupt or not "
                              "a weights-only PyTorch state_dict; re-download or re-save it") from error
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(state).__name__}, expected a state_dict")
    load_state_dict_strict(network, state, path)
