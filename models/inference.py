"""Test-time inference: build the generators from reference-format checkpoints (published NVIDIA models or ours)
and run them frame by frame over test sequences, each scale keeping its own history.

``load_test_model(opt, device)`` validates every checkpoint file before anything runs and explains mismatches
with the flag that probably differs. ``generate(model, clips, device)`` is the core loop of test.py: it
takes any iterable of test samples (the test dataset's items, or tensors made in memory) and yields one result
per generated frame.
"""
from __future__ import annotations

import codecs
import importlib
import io
import os
import pickle
import re
from argparse import Namespace
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from data.clip import Clip
from options.run_folder import ManifestError, RunFolder

from .checkpoint import CheckpointError, load_network
from .generator_model import GeneratorModel
from .single_frame_model import (
    SINGLE_FRAME_MODEL,
    SingleFrameModel,
    check_single_frame_folder,
    single_frame_folder,
    single_frame_path,
    single_frame_run,
    single_frame_source,
)

DOWNLOAD_HINT = "python scripts/download_models.py --model label2city|label2city_g1|edge2face"


# ---------------------------------------------------------------------------------------------- loading
class FirstFrameSourceError(ValueError):
    """No flag gives the first frames of a sequence (scripts/stream.py says it with its own flags)."""


def check_first_frame_source(opt: Namespace) -> None:
    """The first n_frames_G-1 frames of a sequence need a source; say which flags give one."""
    if not (opt.no_first_img or opt.use_real_img or opt.use_single_G):
        raise FirstFrameSourceError(
            "no source for the first frames of each sequence: pass --use_single_G (published Cityscapes/face "
            "models), --use_real_img (needs <phase>_B) or --no_first_img (models trained with it)"
        )


def network_checkpoint_path(opt: Namespace, label: str, epoch_label: str | int | None = None) -> str:
    """File of network ``label`` (G0, D, D_T1, D_f; G_single / E_single: the ``--use_single_G`` run's) for epoch
    ``epoch_label`` (default ``opt.which_epoch``)."""
    if label in ("G_single", "E_single"):
        return single_frame_path(opt, label)
    return RunFolder.of(opt).network_file(label, opt.which_epoch if epoch_label is None else epoch_label)


def expected_files(opt: Namespace, model: GeneratorModel) -> dict[str, str]:
    """Checkpoint file of every network of ``model``, by label."""
    return {label: network_checkpoint_path(opt, label) for label in model.networks()}


def check_files_exist(opt: Namespace, files: dict[str, str]) -> None:
    """Raise FileNotFoundError with the likely cause (folder, epoch, scale count, single-frame G)."""
    run_folder = RunFolder.of(opt)
    folder = run_folder.path
    if not run_folder.exists():
        raise FileNotFoundError(
            f"checkpoint folder {folder} not found: download the published models with `{DOWNLOAD_HINT}` "
            "or point --checkpoints_dir/--name at a trained run"
        )
    main_label = next(iter(files))  # G0, or G_<loadSize> of a single-frame run
    main = files[main_label]
    if os.path.lexists(main) and not os.path.isfile(main):  # a folder or a broken link: not "missing"
        what = "a folder" if os.path.isdir(main) else "a link to nothing"
        raise FileNotFoundError(f"checkpoint {main} is {what}, not a file; restore the file from a copy or choose "
                                "another --which_epoch")
    if not os.path.isfile(main):
        epochs = run_folder.epochs_of(main_label)
        available = (f"available --which_epoch values: {', '.join(epochs)}" if epochs
                     else f"no *_net_{main_label}.pth there")
        if not epochs and main_label != "G0":
            single_frame_files = run_folder.network_files("G_*") or ["none"]
            available += f"; was it trained with another --loadSize? it has {', '.join(single_frame_files)}"
        raise FileNotFoundError(f"checkpoint {main} not found ({available})")
    for label, path in files.items():
        if os.path.isfile(path):
            continue
        scale = re.fullmatch(r"G(\d+)", label)
        if scale:
            present = run_folder.count_scales(opt.which_epoch)
            raise FileNotFoundError(
                f"checkpoint {path} not found: --n_scales_spatial {opt.n_scales_spatial} needs G0..G"
                f"{opt.n_scales_spatial - 1} but {folder} has {present} scale(s); use --n_scales_spatial {present}"
            )
        raise FileNotFoundError(
            f"single-frame generator {path} not found (needed by --use_single_G; --loadSize {opt.loadSize} picks the "
            f"file): {single_frame_source(single_frame_run(opt))}; or use --use_real_img / --no_first_img instead"
        )


def load_test_model(opt: Namespace, device: torch.device | str = "cpu") -> GeneratorModel | SingleFrameModel:
    """Build the test-time GeneratorModel for ``opt`` (a SingleFrameModel with ``--model single_frame``) and
    strictly load every network from its checkpoint.

    The networks are built on the meta device and take the loaded tensors directly (no random initialisation,
    no second copy of the weights), then move to ``device``. BatchNorm stays in train mode, as in the reference
    (the published models depend on batch statistics at test time).

    Raises:
        ValueError: no source for the first frames.
        FileNotFoundError: a checkpoint folder or file is missing (with the download script or the flag to fix).
        CheckpointError: a file's keys or shapes differ from the network built from the flags.
    """
    single_frame = opt.model == SINGLE_FRAME_MODEL
    if not single_frame:
        check_first_frame_source(opt)
        if opt.use_single_G:
            check_single_frame_folder(opt)
    with torch.device("meta"):
        model = SingleFrameModel(opt) if single_frame else GeneratorModel(opt)
    files = expected_files(opt, model)
    check_files_exist(opt, files)
    run_folder = RunFolder.of(opt)
    try:
        run_folder.check_manifest(opt.which_epoch, [path for path in files.values()
                                                    if os.path.dirname(path) == run_folder.path])
    except ManifestError as error:
        raise CheckpointError(str(error)) from None
    for label, network in model.networks().items():
        load_network(network, files[label], label, mmap=True)
    left_on_meta = [name for name, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left_on_meta:
        raise CheckpointError(f"no weights were loaded for {', '.join(left_on_meta[:3])}")
    model.requires_grad_(False)
    return model.to(device).train()


FACE_PARTS_IN_FEATURES = 7  # part ids 0..6 of the face mode's part map


def face_features_path(opt: Namespace) -> str:
    """The face single-frame G's per-part feature bank, next to its networks (edge2face_single/features.npy)."""
    return single_frame_folder(opt).file("features.npy")


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays, dicts and plain values only: any other class or function in the stream is
    refused, so a features file cannot run code (the published one is a pickled dict of arrays)."""

    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}  # str -> bytes in protocol-2 files

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module == "numpy":
            return getattr(np, name)
        if module == "_codecs":
            return codecs.encode
        # files written by NumPy 1 name numpy.core, which NumPy 2 renamed numpy._core
        try:
            multiarray = importlib.import_module("numpy._core.multiarray")
        except ImportError:  # NumPy 1
            multiarray = importlib.import_module("numpy.core.multiarray")
        return getattr(multiarray, name)


def read_face_features(path: str) -> dict[int, torch.Tensor]:
    """Per face part p (0..6) the (n_images, F + 1) feature rows of the training images (last column unused).

    Accepts the reference's file (a pickled dict {part: array}, written by Python 2 NumPy; read with a
    restricted unpickler that only rebuilds arrays, never with ``allow_pickle``) or a plain numeric
    (7, n_images, F + 1) array. Raises FileNotFoundError or ValueError naming the file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"face feature bank {path} not found (the face single-frame G of --use_single_G needs it): download "
            f"edge2face with `{DOWNLOAD_HINT}`, or use --use_real_img / --no_first_img instead"
        )
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        stream = io.BytesIO(raw)
        version = np.lib.format.read_magic(stream)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f".npy format version {version[0]}.{version[1]} is not supported")
        npy = np.lib.format
        _, _, dtype = (npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0)(stream)
        if dtype.hasobject:
            stored = _ArrayOnlyUnpickler(stream, encoding="latin1").load()
            stored = stored.item() if isinstance(stored, np.ndarray) and stored.shape == () else stored
        else:
            stored = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError, pickle.UnpicklingError, AttributeError, TypeError) as error:
        raise ValueError(f"{path} is not a readable face feature bank: {error}") from error
    if isinstance(stored, np.ndarray) and stored.ndim == 3:
        stored = dict(enumerate(stored))
    if not isinstance(stored, dict) or not set(range(FACE_PARTS_IN_FEATURES)) <= set(map(int, stored)):
        raise ValueError(f"{path}: expected feature rows for each face part 0..{FACE_PARTS_IN_FEATURES - 1}")
    bank = {}
    for part, rows in stored.items():
        rows = np.asarray(rows)
        if rows.ndim != 2 or rows.dtype.kind not in "fiu":
            raise ValueError(f"{path}: part {part} holds {rows.dtype} of shape {rows.shape}, expected a 2-D "
                             "numeric array (one row per training image)")
        bank[int(part)] = torch.from_numpy(rows.astype(np.float32))
    return bank


def load_face_features(opt: Namespace, model: GeneratorModel) -> dict[int, torch.Tensor] | None:
    """The feature bank when the face single-frame G makes the first frames (else None), read before any
    frame is generated so that a missing or bad file stops the run at once."""
    if getattr(model, "face_encoder", None) is None or opt.no_first_img or opt.use_real_img:
        return None
    return read_face_features(face_features_path(opt))


def extra_scales_notice(opt: Namespace) -> str | None:
    """A hint when the run folder has more generator scales than --n_scales_spatial uses."""
    run_folder = RunFolder.of(opt)
    present = run_folder.count_scales(opt.which_epoch)
    if present > opt.n_scales_spatial:
        return (f"notice: {run_folder} has {present} generator scales but "
                f"--n_scales_spatial is {opt.n_scales_spatial}; the published multi-scale models need "
                f"--n_scales_spatial {present}")
    return None


# ---------------------------------------------------------------------------------------------- running
@dataclass(frozen=True)
class TestFrame:
    """One generated test frame, as `generate` yields it to test.py's result writer.

    fake_image: (3, H, W) in [-1, 1]; real_label: (C, H, W) the encoded input of the frame; scale_outputs: the
    generator's per-scale output dicts (coarsest first); label_path: the frame's input file (its folder names the
    sequence); frame_index: its index in the sequence; starts_sequence: the first output of its sequence.
    """

    __test__ = False  # (not a pytest test class, despite the name)

    fake_image: torch.Tensor
    real_label: torch.Tensor
    scale_outputs: list[dict[str, torch.Tensor | None]]
    label_path: str
    frame_index: int
    starts_sequence: bool


@torch.no_grad()
def generate(
    model: GeneratorModel,
    samples: Iterable[Clip],
    device: torch.device | str = "cpu",
    face_features: dict[int, torch.Tensor] | None = None,
    reanchor_every: int = 0,
) -> Iterator[TestFrame]:
    """Run the sequential generator over test windows in order (the reference test.py's loop).

    A clip with ``starts_sequence`` begins a new sequence: its history is made from the real frames, the
    single-frame G or zeros (see ``GeneratorModel.first_frames``); later clips reuse the previous outputs of
    every scale. With ``reanchor_every`` N > 0 (``--reanchor_every``, not in the reference) the history is made
    afresh the same way every N generated frames of a sequence. Yields one `TestFrame` per clip.
    """
    prev_outputs = None
    generated = 0  # frames generated in the current sequence
    for sample in samples:
        clip = sample.as_batch().to(device)  # (1, tG, C, H, W)
        if clip.starts_sequence:
            prev_outputs, generated = None, 0
        elif prev_outputs is None:
            raise ValueError("the first test window must start a sequence (starts_sequence True)")
        elif reanchor_every and generated % reanchor_every == 0:
            prev_outputs = None
        generated += 1
        out = model.inference(clip.label, clip.real, clip.instance, prev_outputs, face_features)
        prev_outputs = out.prev_outputs
        yield TestFrame(fake_image=out.fake_image[0], real_label=out.real_label[0], scale_outputs=out.scale_outputs,
                        label_path=clip.newest_path, frame_index=clip.frame_index,
                        starts_sequence=clip.starts_sequence)
