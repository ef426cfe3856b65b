"""Every checkpoint file's format goes through this module: the one ``torch.load``, the one strict check, saving.

Where the files of a run go is `options.run_folder.RunFolder`'s business; this module reads and writes them.
Network files hold the bare ``state_dict()`` of one network (the reference's layout), so published vid2vid
models and ours interchange. Loading is always ``weights_only=True``; a file that is missing, empty, truncated,
not a PyTorch file or carries code is one `CheckpointError` line naming the file and the fix, with none of
torch's own text. Weights holding NaN or inf are refused the same way (`check_finite`): a run that diverged must
not quietly make black frames or start another run.
"""

from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from util.atomic import write_atomically

OPTIONAL_BUFFER_SUFFIX = "num_batches_tracked"  # absent from files written by PyTorch 0.4.0
MAX_KEYS_LISTED = 5
DIVERGED_FIX = ("the training that wrote it diverged: use an earlier save (--which_epoch) or train again with a lower "
                "--lr")


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be read or does not match the network it is loaded into."""


# ---------------------------------------------------------------------------------------------- reading
def read_checkpoint(path: str | os.PathLike, what: str = "checkpoint", fix: str = "re-download or re-save it",
                    mmap: bool = False) -> object:
    """The project's one ``torch.load`` (``weights_only=True``; memory-mapped when asked and the format allows).

    Raises FileNotFoundError (missing) or CheckpointError (empty, truncated, not a PyTorch file, or carrying
    Python objects beyond tensors and plain containers), each one line with ``what``, the path and ``fix``.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} not found at '{path}': {fix}")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"{what} {path} is empty (0 bytes), probably an interrupted copy: {fix}")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols of foreign files
            warnings.simplefilter("ignore")
            try:
                return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
            except RuntimeError as error:
                if not mmap or "mmap" not in str(error) and "zip" not in str(error):
                    raise
                return torch.load(path, map_location="cpu", weights_only=True)  # legacy (PyTorch < 1.6) format
    except pickle.UnpicklingError as error:
        if "Unsupported global" in str(error):  # a class or function the file needs to rebuild itself
            raise CheckpointError(
                f"{what} {path} holds Python objects besides tensors, so loading it could run code; it is refused. "
                f"Re-save only the tensors (a state_dict) where it was made, or {fix}"
            ) from None
        raise CheckpointError(f"{what} {path} is not a PyTorch checkpoint (unreadable pickle): {fix}") from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, AttributeError, ImportError) as error:
        raise CheckpointError(
            f"{what} {path} is truncated or not a PyTorch checkpoint ({type(error).__name__}): {fix}"
        ) from None


def read_state_dict(path: str | os.PathLike, what: str = "checkpoint", fix: str = "re-download or re-save it",
                    mmap: bool = False) -> dict[str, torch.Tensor]:
    """`read_checkpoint` of a file that must hold a bare state_dict (name -> tensor) of finite values."""
    state = read_tensors(path, what, fix, mmap)
    check_finite(state, f"{what} {os.fspath(path)}", fix)
    return state


def read_tensors(path: str | os.PathLike, what: str, fix: str, mmap: bool = False) -> dict[str, torch.Tensor]:
    """`read_state_dict` without the finiteness check (for a caller that checks the state itself)."""
    state = read_checkpoint(path, what, fix, mmap)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{what} {os.fspath(path)} is not a state_dict of tensors (expected one network's "
                              f"weights): {fix}")
    return state


# ---------------------------------------------------------------------------------------------- finite values
def non_finite_keys(state: Mapping[str, torch.Tensor]) -> list[str]:
    """Keys of the floating-point tensors of ``state`` (parameters and buffers alike) holding NaN or inf.

    One flag per tensor, gathered in one transfer (a state on the GPU synchronises once)."""
    floats = [(key, value) for key, value in state.items() if value.is_floating_point() and value.numel()
              and not value.is_meta]
    if not floats:
        return []
    finite = torch.stack([torch.isfinite(value).all() for _, value in floats]).cpu()
    return [key for (key, _), ok in zip(floats, finite.tolist(), strict=True) if not ok]


def check_finite(state: Mapping[str, torch.Tensor], described: str, fix: str = DIVERGED_FIX) -> None:
    """CheckpointError, one line, when a tensor of ``state`` holds NaN or inf; ``described`` names the file
    (e.g. "checkpoint checkpoints/run/latest_net_G0.pth")."""
    bad = non_finite_keys(state)
    if bad:
        raise CheckpointError(f"{described} holds non-finite weights (NaN or inf in {len(bad)} of {len(state)} "
                              f"tensors: {listed(bad)}), which compute NaN (black frames); it is refused: {fix}")


# ---------------------------------------------------------------------------------------------- strict check
@dataclass(frozen=True)
class CheckpointHints:
    """Which flags shape which part of a network, declared by the network class (``checkpoint_hints``), so a
    mismatch names the flag that probably differs.

    input_layers: key prefix of a layer that reads the network input -> flags setting its input channels.
    branches: (flag, description, key prefixes) of optional parts that a flag adds or removes.
    width: flags setting channel widths; depth: flags setting the number of layers/blocks.
    """

    input_layers: dict[str, str] = field(default_factory=dict)
    branches: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    width: str = "the width flags (--ngf / --ndf)"
    depth: str = "the architecture flags the checkpoint was trained with"


def structure_hint(network: nn.Module, missing: list[str], unexpected: list[str], mismatched: list[str],
                   state: dict[str, torch.Tensor]) -> str:
    """The flags that most likely differ, from the network's declared `CheckpointHints`."""
    hints: CheckpointHints = getattr(network, "checkpoint_hints", None) or CheckpointHints()
    differing = missing + unexpected
    if differing and not mismatched:
        for flag, what, prefixes in hints.branches:
            if all(key.startswith(prefixes) for key in differing):
                in_file = any(key.startswith(prefixes) for key in state)
                return f"{flag} (the checkpoint {'has' if in_file else 'lacks'} the {what})"
        return hints.depth
    key = mismatched[0]
    file_shape, net_shape = tuple(state[key].shape), tuple(network.state_dict()[key].shape)
    for prefix, flags in hints.input_layers.items():
        is_input = key.startswith(prefix) and key.endswith("weight") and len(net_shape) == 4
        if is_input and file_shape[0] == net_shape[0] and file_shape[1:2] != net_shape[1:2]:
            return flags
    return hints.width


def listed(keys: list[str]) -> str:
    more = f" (+{len(keys) - MAX_KEYS_LISTED} more)" if len(keys) > MAX_KEYS_LISTED else ""
    return ", ".join(keys[:MAX_KEYS_LISTED]) + more


def check_state_dict(network: nn.Module, state: dict[str, torch.Tensor], source: str,
                     label: str | None = None) -> dict[str, torch.Tensor]:
    """The one strict check: return ``state`` ready for ``load_state_dict(strict=True, assign=...)``.

    Raises CheckpointError, one line: the missing / unexpected / mis-shaped keys (first few of each), the key
    counts, and the flags that probably differ (`structure_hint`). The only tolerated absence is a norm layer's
    ``num_batches_tracked`` (PyTorch 0.4 files; filled with 0, it is only a counter). Values take the network's
    dtypes.
    """
    expected = network.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith(OPTIONAL_BUFFER_SUFFIX)]
    unexpected = [k for k in state if k not in expected]
    mismatched = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or mismatched:
        problems = []
        if mismatched:
            problems.append("shape mismatches: " + "; ".join(
                f"{k} has shape {tuple(state[k].shape)} in the file but {tuple(expected[k].shape)} in the network"
                for k in mismatched[:MAX_KEYS_LISTED]))  # fmt: skip
        if missing:
            problems.append(f"missing keys: {listed(missing)}")
        if unexpected:
            problems.append(f"unexpected keys: {listed(unexpected)}")
        name = f"{label} ({type(network).__name__})" if label else type(network).__name__
        raise CheckpointError(
            f"checkpoint {source} does not match {name}: {' | '.join(problems)}; {len(state)} keys in the file, "
            f"{len(expected)} in the network; check {structure_hint(network, missing, unexpected, mismatched, state)}"
        )
    ready = {}
    for key, reference in expected.items():
        value = state.get(key)
        ready[key] = torch.zeros((), dtype=reference.dtype) if value is None else value.to(reference.dtype)
    return ready


def load_state_dict_strict(network: nn.Module, state: dict[str, torch.Tensor], source: str = "<state_dict>",
                           label: str | None = None) -> None:
    """Strict load of an in-memory state_dict (see `check_state_dict`) of finite values (`check_finite`); a
    network on the meta device takes the tensors themselves (no copy)."""
    check_finite(state, f"checkpoint {source}" + (f" ({label})" if label else ""))
    on_meta = any(t.is_meta for t in [*network.parameters(), *network.buffers()])
    network.load_state_dict(check_state_dict(network, state, source, label), strict=True, assign=on_meta)


def load_network(network: nn.Module, path: str, label: str | None = None,
                 fix: str = "check --checkpoints_dir, --name and --which_epoch", mmap: bool = False) -> None:
    """Strictly load a reference-format network file of finite values into ``network``."""
    load_state_dict_strict(network, read_tensors(path, "checkpoint", fix, mmap), path, label)


def load_network_leniently(network: nn.Module, path: str, label: str) -> str:
    """``--load_pretrain``: load the tensors whose name and shape match, keep the rest; one report line. A file
    holding NaN or inf is refused whole (`read_state_dict`)."""
    saved = read_state_dict(path, "--load_pretrain checkpoint",
                            "re-save it, or point --load_pretrain at another run folder")
    own = network.state_dict()
    usable = {k: v for k, v in saved.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
    network.load_state_dict(usable, strict=False)
    missing = [k for k in own if k not in usable]
    ignored = [k for k in saved if k not in usable]
    line = f"{label}: loaded {len(usable)}/{len(own)} tensors from {path}"
    if missing:
        line += f"; not in the file or other shape (initialised): {', '.join(missing)}"
    if ignored:
        line += f"; in the file but unused: {', '.join(ignored)}"
    return line


# ---------------------------------------------------------------------------------------------- writing
def save_checkpoint(obj: object, path: str) -> None:
    """``torch.save`` to a temporary file in the same folder, renamed when complete (crash-safe)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_atomically(path, checkpoint_writer(obj))


def checkpoint_writer(obj: object) -> Callable[[str], None]:
    """A writer of ``obj`` for `RunFolder.save`: called with the temporary path to write."""
    return lambda path: torch.save(obj, path)


def network_state(network: nn.Module) -> dict[str, torch.Tensor]:
    """``network.state_dict()`` with its tensors detached and on the CPU (what a network file holds)."""
    return {key: value.detach().cpu() for key, value in network.state_dict().items()}


def save_network(network: nn.Module, path: str) -> None:
    """Write ``network.state_dict()`` (tensors moved to CPU) atomically."""
    save_checkpoint(network_state(network), path)
