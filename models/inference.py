"""Test-time inference: build the generators from reference-format checkpoints (published NVIDIA models or ours)
and run them frame by frame over test sequences, each scale keeping its own history.

``load_test_model(opt, device)`` validates every checkpoint file before anything runs and explains mismatches
with the flag that probably differs. ``generate(model, samples, opt, device)`` is the core loop of test.py: it
takes any iterable of test samples (the test dataset's items, or tensors made in memory) and yields one result
per generated frame.
"""
from __future__ import annotations

import glob
import os
import re
from argparse import Namespace
from collections.abc import Iterable, Iterator

import torch
from torch import nn

from .checkpoint import (
    CITY_SINGLE_DIR,
    FACE_SINGLE_DIR,
    OPTIONAL_BUFFER_SUFFIX,
    CheckpointError,
    network_checkpoint_path,
)
from .generator_model import GeneratorModel

DOWNLOAD_HINT = "python scripts/download_models.py --model label2city|label2city_g1|edge2face"


# ---------------------------------------------------------------------------------------------- loading
def check_first_frame_source(opt: Namespace) -> None:
    """The first n_frames_G-1 frames of a sequence need a source; say which flags give one."""
    if not (opt.no_first_img or opt.use_real_img or opt.use_single_G):
        raise ValueError(
            "no source for the first frames of each sequence: pass --use_single_G (published Cityscapes/face "
            "models), --use_real_img (needs <phase>_B) or --no_first_img (models trained with it)"
        )


def expected_files(opt: Namespace, model: GeneratorModel) -> dict[str, str]:
    """Checkpoint file of every network of ``model``, by label."""
    return {label: network_checkpoint_path(opt, label) for label in model.networks()}


def check_files_exist(opt: Namespace, files: dict[str, str]) -> None:
    """Raise FileNotFoundError with the likely cause (folder, epoch, scale count, single-frame G)."""
    run_dir = os.path.normpath(os.path.join(opt.checkpoints_dir, opt.name))
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(
            f"checkpoint folder {run_dir} not found: download the published models with `{DOWNLOAD_HINT}` "
            "or point --checkpoints_dir/--name at a trained run"
        )
    g0 = files["G0"]
    if not os.path.isfile(g0):
        found = glob.glob(os.path.join(run_dir, "*_net_G0.pth"))
        epochs = sorted(os.path.basename(p)[: -len("_net_G0.pth")] for p in found)
        available = f"available --which_epoch values: {', '.join(epochs)}" if epochs else "no *_net_G0.pth there"
        raise FileNotFoundError(f"checkpoint {g0} not found ({available})")
    for label, path in files.items():
        if os.path.isfile(path):
            continue
        scale = re.fullmatch(r"G(\d+)", label)
        if scale:
            present = count_scales(opt)
            raise FileNotFoundError(
                f"checkpoint {path} not found: --n_scales_spatial {opt.n_scales_spatial} needs G0..G"
                f"{opt.n_scales_spatial - 1} but {run_dir} has {present} scale(s); use --n_scales_spatial {present}"
            )
        folder = CITY_SINGLE_DIR if CITY_SINGLE_DIR in path else FACE_SINGLE_DIR
        raise FileNotFoundError(
            f"single-frame generator {path} not found (needed by --use_single_G; --loadSize {opt.loadSize} picks the "
            f"file): download {folder} with `{DOWNLOAD_HINT}`, or use --use_real_img / --no_first_img instead"
        )


def count_scales(opt: Namespace) -> int:
    """Number of consecutive G0, G1, ... files of --which_epoch in the run folder."""
    n = 0
    while os.path.isfile(network_checkpoint_path(opt, f"G{n}")):
        n += 1
    return n


def flag_hint(label: str, key: str, problem: str, file_shape: tuple = (), net_shape: tuple = ()) -> str:
    """The flags that most likely differ from the ones the checkpoint was trained with."""
    if label == "G_single":
        return ("--loadSize (picks latest_net_G_{512,1024,2048}.pth) / --n_blocks / --n_local_enhancers / "
                "--n_blocks_local / --label_nc")
    if label == "E_single":
        return "--output_nc (the face feature encoder takes the real frames)"
    if problem == "shape":
        first_convs = ("model_down_seg", "indv_down", "model_down_img")
        input_conv = key.endswith(".1.weight") and key.split(".")[0] in first_convs
        if input_conv and len(file_shape) == 4 and file_shape[0] == net_shape[0] and file_shape[1] != net_shape[1]:
            if key.startswith("model_down_img"):
                return "--n_frames_G / --output_nc (previous-frame input channels)"
            return "--label_nc / --input_nc / --use_instance / --n_frames_G (label input channels)"
        scales = " / --n_scales_spatial (finer scales use ngf/2^s)" if label != "G0" else ""
        return f"--ngf / --n_downsample_G{scales}"
    return f"--n_downsample_G / {'--n_blocks' if label == 'G0' else '--n_blocks_local'} / --ngf / --fg / --no_flow"


def branch_hint(missing: list[str], unexpected: list[str], file_keys: list[str]) -> str | None:
    """A whole optional branch present on one side only: the fg branch (--fg) or the flow heads (--no_flow)."""
    branches = {
        "--fg": ("foreground branch", lambda k: k.startswith("indv_")),
        "--no_flow": ("flow heads", lambda k: "flow" in k.split(".")[0] or k.startswith("model_final_w")),
    }
    differing = missing + unexpected
    for flag, (what, in_branch) in branches.items():
        if differing and all(in_branch(k) for k in differing):
            in_file = any(in_branch(k) for k in file_keys)
            return f"{flag} (the checkpoint {'has' if in_file else 'lacks'} the {what})"
    return None


def match_state_dict(network: nn.Module, state: dict[str, torch.Tensor], label: str, path: str) -> dict:
    """Check ``state`` against ``network`` strictly and return it ready for ``load_state_dict(assign=True)``.

    Raises CheckpointError: one line naming the first missing / unexpected / mis-shaped key and the flag that
    probably differs. A norm layer's absent ``num_batches_tracked`` (PyTorch 0.4 files) is filled with 0.
    """
    expected = network.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith(OPTIONAL_BUFFER_SUFFIX)]
    unexpected = [k for k in state if k not in expected]
    mismatched = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or mismatched:
        counts = f"{len(state)} keys in the file, {len(expected)} in the network built from your flags"
        shapes: tuple = ()
        if mismatched:
            key, kind = mismatched[0], "shape"
            shapes = (tuple(state[key].shape), tuple(expected[key].shape))
            first = f"{key} has shape {tuple(state[key].shape)} in the file but {tuple(expected[key].shape)} here"
        elif missing:
            key, kind = missing[0], "missing"
            first = f"missing key {key} ({len(missing)} missing)"
        else:
            key, kind = unexpected[0], "unexpected"
            first = f"unexpected key {key} ({len(unexpected)} unexpected)"
        whole_branch = None
        if not mismatched and label not in ("G_single", "E_single"):
            whole_branch = branch_hint(missing, unexpected, list(state))
        hint = whole_branch or flag_hint(label, key, kind, *shapes)
        raise CheckpointError(
            f"checkpoint {path} does not match {label} ({type(network).__name__}) built from your flags: {first}; "
            f"{counts}; check {hint}"
        )
    ready = {}
    for key, reference in expected.items():
        value = state.get(key)
        if value is None:  # tolerated num_batches_tracked
            value = torch.zeros((), dtype=reference.dtype)
        ready[key] = value.to(reference.dtype)
    return ready


def read_state_dict(path: str) -> dict[str, torch.Tensor]:
    """``torch.load`` (weights only), memory-mapped when the file format allows it (not for PyTorch 0.4 files)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as error:
        if "mmap" not in str(error) and "zipfile" not in str(error):
            raise CheckpointError(f"cannot read checkpoint {path}: {error}") from error
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # unpickling errors of corrupt or foreign files
        raise CheckpointError(f"cannot read checkpoint {path}: {str(error).splitlines()[0]}") from error
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"checkpoint {path} is not a state_dict of tensors (expected the bare network weights)")
    return state


def load_test_model(opt: Namespace, device: torch.device | str = "cpu") -> GeneratorModel:
    """Build the test-time GeneratorModel for ``opt`` and strictly load every network from its checkpoint.

    The networks are built on the meta device and take the loaded tensors directly (no random initialisation,
    no second copy of the weights), then move to ``device``. BatchNorm stays in train mode, as in the reference
    (the published models depend on batch statistics at test time).

    Raises:
        ValueError: no source for the first frames.
        FileNotFoundError: a checkpoint folder or file is missing (with the download script or the flag to fix).
        CheckpointError: a file's keys or shapes differ from the network built from the flags.
    """
    check_first_frame_source(opt)
    with torch.device("meta"):
        model = GeneratorModel(opt)
    files = expected_files(opt, model)
    check_files_exist(opt, files)
    for label, network in model.networks().items():
        state = match_state_dict(network, read_state_dict(files[label]), label, files[label])
        network.load_state_dict(state, strict=True, assign=True)
    left_on_meta = [name for name, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left_on_meta:
        raise CheckpointError(f"no weights were loaded for {', '.join(left_on_meta[:3])}")
    model.requires_grad_(False)
    return model.to(device).train()


def extra_scales_notice(opt: Namespace) -> str | None:
    """A hint when the run folder has more generator scales than --n_scales_spatial uses."""
    present = count_scales(opt)
    if present > opt.n_scales_spatial:
        return (f"notice: {os.path.join(opt.checkpoints_dir, opt.name)} has {present} generator scales but "
                f"--n_scales_spatial is {opt.n_scales_spatial}; the published multi-scale models need "
                f"--n_scales_spatial {present}")
    return None


# ---------------------------------------------------------------------------------------------- running
def sample_tensors(
    sample: dict, opt: Namespace, device: torch.device | str
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """A test sample (one window of tG frames) -> generator inputs with a batch dim of 1.

    sample['A']: (tG*c, H, W), c = 1 label ids or input_nc channels; 'B': (tG*3, H, W) or a 0-d placeholder;
    'inst': (tG, H, W) or a placeholder. A leading batch dim of 1 (from a batching DataLoader) is accepted.
    Returns label (1, tG, c, H, W), image (1, tG, 3, H, W) or None, instances (1, tG, 1, H, W) or None.
    """
    c = 1 if opt.label_nc != 0 else opt.input_nc
    label = sample["A"]
    h, w = label.shape[-2:]
    label = label.reshape(1, -1, c, h, w).to(device)  # (1, tG, c, H, W)

    def optional(key: str, channels: int) -> torch.Tensor | None:
        value = sample.get(key)
        if not isinstance(value, torch.Tensor) or value.dim() < 3:
            return None
        return value.reshape(1, -1, channels, h, w).to(device)  # (1, tG, channels, H, W)

    return label, optional("B", opt.output_nc), optional("inst", 1)


def first_of(value):  # noqa: ANN001, ANN201 - unwraps the lists a batching DataLoader makes of strings/flags
    if isinstance(value, (list, tuple)):
        return value[0]
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return value


@torch.no_grad()
def generate(
    model: GeneratorModel,
    samples: Iterable[dict],
    opt: Namespace,
    device: torch.device | str = "cpu",
    face_features: dict[int, torch.Tensor] | None = None,
) -> Iterator[dict]:
    """Run the sequential generator over test samples in order (the reference test.py's loop).

    A sample with ``change_seq`` true starts a new sequence: its history is made from the real frames, the
    single-frame G or zeros (see ``GeneratorModel.first_frames``); later samples reuse the previous outputs of
    every scale. Yields per sample: ``fake_image`` (3, H, W) in [-1, 1], ``real_label`` (C, H, W) the encoded
    labels of the newest frame, ``scale_outputs`` (the model's per-scale dicts), and the sample's ``A_path``,
    ``seq_name``, ``frame_index``, ``change_seq``.
    """
    prev_outputs = None
    for sample in samples:
        change_seq = bool(first_of(sample["change_seq"]))
        if change_seq:
            prev_outputs = None
        elif prev_outputs is None:
            raise ValueError("the first sample must start a sequence (change_seq True)")
        label, image, instances = sample_tensors(sample, opt, device)
        out = model.inference(label, image, instances, prev_outputs, face_features)
        prev_outputs = out["prev_outputs"]
        yield {
            "fake_image": out["fake_image"][0],
            "real_label": out["real_label"][0],
            "scale_outputs": out["scale_outputs"],
            "A_path": first_of(sample.get("A_path", "")),
            "seq_name": first_of(sample.get("seq_name", "")),
            "frame_index": first_of(sample.get("frame_index", -1)),
            "change_seq": change_seq,
        }
