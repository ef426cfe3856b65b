"""The embedded sample dataset: synthetic street videos with exact optical flow, in the Cityscapes layout.

Frames are rendered analytically by ``data/sample_scene.py`` (static sky, panning buildings, a ground plane
with motion parallax, lamp poles, trees, and cars and pedestrians moving with their own velocities and
occluding each other), so the flow of every pixel is known exactly. ``make_sample_dataset`` writes it.

Layout: ``<dataroot>/{train,test}_{A,B,inst,flow}/seqNNNN/seqNNNN_TTTTTT.{png,flo}`` (sorted = time order,
the same stem in every folder) and a generated ``<dataroot>/README.md``:
``_A`` 8-bit label maps (Cityscapes label ids: road 7, sidewalk 8, building 11, pole 17, vegetation 21,
sky 23, person 24, car 26); ``_inst`` 16-bit instance maps, ``label * 1000 + k`` (k = 0, 1, ... per class
and sequence) on cars and persons, the label id elsewhere; ``_B`` RGB frames; ``_flow`` Middlebury ``.flo``
(see ``util/flow_io.py``). Same seed and settings -> byte-identical files.

Flow convention: the ``.flo`` file named after frame ``t`` holds, at every pixel ``(x, y)`` of frame ``t``,
the displacement ``(u, v)`` of that scene point from frame ``t`` to frame ``t + 1``. Bilinearly sampling frame
``t + 1`` at ``(x + u, y + v)`` therefore reproduces frame ``t`` away from occlusions. This is the field that
vid2vid's flow backends estimate when called as ``backend(current=frame t, previous=frame t + 1)``. The last
frame of a sequence has no flow file. Units are pixels, ``u`` to the right, ``v`` down.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from data.sample_scene import CLASS_NAMES, make_scene, render_frame, render_sequence  # noqa: F401
from util.flow_io import write_flo

SPLITS = ("train", "test")
KINDS = ("A", "B", "inst", "flow")
DEFAULTS = {"seed": 0, "width": 256, "height": 128, "n_train_seqs": 3, "n_test_seqs": 2, "n_frames": 24}


class SampleDatasetError(ValueError):
    """Bad settings or a dataroot that may not be written; the message names the flag and the fix."""


def sequence_seed(seed: int, split: str, index: int) -> int:
    """Independent, reproducible seed for sequence ``index`` of ``split``."""
    return int(np.random.SeedSequence([seed, SPLITS.index(split), index]).generate_state(1)[0])


def check_settings(seed: int, width: int, height: int, n_train_seqs: int, n_test_seqs: int, n_frames: int) -> None:
    """Raise ``SampleDatasetError`` (one line naming the flag and the fix) for unusable settings."""
    for flag, val in (("--width", width), ("--height", height)):
        if not isinstance(val, int) or val <= 0 or val % 4:
            raise SampleDatasetError(f"{flag} must be a positive multiple of 4 (got {val}); e.g. {flag} "
                                     f"{DEFAULTS[flag[2:]]}")
        if val < 32:
            raise SampleDatasetError(f"{flag} must be at least 32 for the scene to be drawable (got {val})")
    if not isinstance(n_frames, int) or n_frames < 8:
        raise SampleDatasetError(f"--n_frames must be >= 8 (got {n_frames}): training needs 6 frames plus "
                                 "2 history frames per sequence")
    for flag, val in (("--n_train_seqs", n_train_seqs), ("--n_test_seqs", n_test_seqs)):
        if not isinstance(val, int) or val < 1:
            raise SampleDatasetError(f"{flag} must be >= 1 (got {val})")
    if not isinstance(seed, int) or seed < 0:
        raise SampleDatasetError(f"--seed must be a non-negative integer (got {seed})")


def _managed_names() -> list[str]:
    return [f"{split}_{kind}" for split in SPLITS for kind in KINDS] + ["README.md"]


def _save_png(path: Path, array: np.ndarray) -> None:
    Image.fromarray(array).save(path, format="PNG", compress_level=6)


def _write_split(root: Path, split: str, n_seqs: int, seed: int, width: int, height: int, n_frames: int) -> None:
    for i in range(n_seqs):
        name = f"seq{i:04d}"
        dirs = {kind: root / f"{split}_{kind}" / name for kind in KINDS}
        for d in dirs.values():
            d.mkdir(parents=True)
        scene = make_scene(np.random.default_rng(sequence_seed(seed, split, i)), width, height, n_frames)
        for t in range(n_frames):
            label, inst, img, flow = render_frame(scene, t)
            stem = f"{name}_{t:06d}"
            _save_png(dirs["A"] / f"{stem}.png", label)
            _save_png(dirs["inst"] / f"{stem}.png", inst)
            _save_png(dirs["B"] / f"{stem}.png", img)
            if t < n_frames - 1:
                write_flo(dirs["flow"] / f"{stem}.flo", flow)


def _readme(seed: int, width: int, height: int, n_train_seqs: int, n_test_seqs: int, n_frames: int) -> str:
    classes = ", ".join(f"{k} {v}" for k, v in sorted(CLASS_NAMES.items()))
    return f"""# Synthetic street-video sample dataset (generated)

Written by `scripts/make_sample_dataset.py --seed {seed} --width {width} --height {height} \\
--n_train_seqs {n_train_seqs} --n_test_seqs {n_test_seqs} --n_frames {n_frames}`; the same command rewrites
these files byte for byte (on the same platform and numpy version). Nothing here comes from Cityscapes:
every frame is rendered from an analytic scene (`data/sample_scene.py`), which is why the optical flow is
exact.

## Content
A camera slides sideways along a street: static sky, a panning row of buildings, a sidewalk and a road with
motion parallax (rows nearer the camera move faster), street lamps (pole) and trees (vegetation) at the
curb, and cars and pedestrians with their own constant velocities, drawn back to front by ground contact,
so they pass in front of and behind each other, the furniture and the buildings. Colours follow the class
(small per-instance variation); textures and shading are attached to the moving surfaces. Objects are
rigid (pedestrians do not move their limbs) and move with constant velocities.

Label ids (Cityscapes): {classes}.

## Layout ({width}x{height}, {n_frames} frames per sequence)
- `train_*`: {n_train_seqs} sequences, `test_*`: {n_test_seqs} sequences; folders `seq0000`, `seq0001`, ...
- frame files `seqNNNN_TTTTTT.png` (sorted order = time order; the same stem in every folder)
- `<split>_A/`: 8-bit single-channel label maps (Cityscapes label ids)
- `<split>_inst/`: 16-bit instance maps: `label_id * 1000 + k` (k = 0, 1, ... per class and sequence) for
  cars (26) and persons (24), the plain label id elsewhere
- `<split>_B/`: RGB frames
- `<split>_flow/`: exact optical flow, Middlebury `.flo` (float32 magic 202021.25, int32 width, int32
  height, then height x width x 2 float32 (u, v), row-major); read with `util.flow_io.read_flo`

## Flow convention
`seqNNNN_TTTTTT.flo` holds, at every pixel (x, y) of frame T, the displacement (u, v) of that scene point
from frame T to frame T+1 (pixels; u to the right, v down). Bilinearly sampling frame T+1 at (x+u, y+v)
reproduces frame T except where the point is occluded in frame T+1 or leaves the image (up to resampling
and 8-bit rounding: under 1/255 mean absolute error on unoccluded pixels). The last frame of a sequence has
no flow file. vid2vid's flow backends return this field when called as
`backend(current=frame T, previous=frame T+1)`.
"""


def _swap_in(root: Path, new: Path, old: Path) -> None:
    """Replace the dataset's entries of ``root`` by those of ``new``, moving the previous ones into ``old``; when
    interrupted half-way, every previous entry goes back in place (the dataroot is either old or new, not mixed)."""
    moved: list[str] = []
    try:
        for name in _managed_names():
            if (root / name).exists():
                os.replace(root / name, old / name)
            moved.append(name)
            os.replace(new / name, root / name)
    except BaseException:
        for name in moved:
            if (root / name).exists() and not (new / name).exists():
                os.replace(root / name, new / name)
            if (old / name).exists():
                os.replace(old / name, root / name)
        raise


def _folder_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def make_sample_dataset(dataroot: str | os.PathLike = "datasets/Cityscapes/", seed: int = 0, width: int = 256,
                        height: int = 128, n_train_seqs: int = 3, n_test_seqs: int = 2, n_frames: int = 24,
                        overwrite: bool = False) -> dict:
    """Write the synthetic dataset under ``dataroot``; returns a summary dict.

    The dataset is built in a hidden temporary sibling folder and moved into place only when complete, so an
    interrupted run leaves ``dataroot`` untouched. A ``dataroot`` that already holds any of the dataset's
    folders (or its README.md) is refused unless ``overwrite``; other files in it are left alone.
    Summary keys: ``dataroot``, ``seed``, ``width``, ``height``, ``n_sequences`` ({split: n}), ``n_frames``
    (total frames), ``n_flow_files``, ``bytes``, ``seconds``, ``folders``.
    """
    check_settings(seed, width, height, n_train_seqs, n_test_seqs, n_frames)
    start = time.perf_counter()
    root = Path(dataroot)
    if root.exists() and not root.is_dir():
        raise SampleDatasetError(f"--dataroot {root} exists and is not a folder; choose another --dataroot")
    present = [n for n in _managed_names() if (root / n).exists()]
    if present and not overwrite:
        raise SampleDatasetError(f"--dataroot {root} already holds {', '.join(present[:3])}"
                                 f"{', ...' if len(present) > 3 else ''}; pass --overwrite to replace them or "
                                 "choose another --dataroot")
    parent = root.resolve().parent
    created = [folder for folder in (parent, *parent.parents) if not folder.exists()]  # deepest first
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.resolve().name}.partial-", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the dataset folder should be like any other
    old = None
    try:
        counts = {"train": n_train_seqs, "test": n_test_seqs}
        for split, n in counts.items():
            _write_split(tmp, split, n, seed, width, height, n_frames)
        (tmp / "README.md").write_text(_readme(seed, width, height, n_train_seqs, n_test_seqs, n_frames))
        size = _folder_size(tmp)
        if root.is_dir() and not any(root.iterdir()):
            root.rmdir()
        if not root.exists():
            os.replace(tmp, root)
        else:  # keep the user's other files; swap our entries one by one
            old = Path(tempfile.mkdtemp(prefix=f".{root.resolve().name}.old-", dir=parent))
            _swap_in(root, tmp, old)
    except BaseException:  # (Ctrl-C included) the folders made for the dataroot go too
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in created:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    finally:
        for junk in (tmp, old):
            if junk is not None and junk.exists():
                shutil.rmtree(junk, ignore_errors=True)
    n_seq = n_train_seqs + n_test_seqs
    return {"dataroot": str(root), "seed": seed, "width": width, "height": height, "n_sequences": counts,
            "n_frames": n_seq * n_frames, "n_flow_files": n_seq * (n_frames - 1), "bytes": size,
            "seconds": time.perf_counter() - start, "folders": [n for n in _managed_names() if n != "README.md"]}


def summary_line(summary: dict) -> str:
    """One line for the console: where, what, how big, how long."""
    n = summary["n_sequences"]
    return (f"wrote {summary['dataroot']}: {len(summary['folders'])} folders (train {n['train']} + test "
            f"{n['test']} sequences), {summary['n_frames']} frames, {summary['n_flow_files']} flow files, "
            f"{summary['width']}x{summary['height']}, seed {summary['seed']}, "
            f"{summary['bytes'] / 1e6:.1f} MB, {summary['seconds']:.1f} s")
