"""What several test files share: loading an entry-point script as a module, and writing tiny datasets.

Import it as ``from tests.helpers import ...`` from any folder of tests/ (pytest puts the repository root on
``sys.path``: ``pythonpath = ["."]`` in pyproject.toml)."""
from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

from data.sample_video import make_sample_dataset

REPO = Path(__file__).resolve().parents[1]
_scripts: dict[str, ModuleType] = {}

# (rng, sequence name, frame index) -> one label map, uint8 (H, W)
LabelMaker = Callable[[np.random.Generator, str, int], np.ndarray]


def load_script(relative_path: str) -> ModuleType:
    """The script at ``relative_path`` under the repository root (``"train.py"``, ``"scripts/evaluate.py"``)
    executed as a module, once per path: later calls return the same module object.

    Scripts are files, not packages, so they are loaded from their path under a name derived from the whole
    path (``test.py`` -> ``vid2vid_script_test_py``): importing ``test`` by name would give the standard
    library's ``test`` package, and scripts/face/download_models.py and scripts/street/download_models.py
    must not replace each other in ``sys.modules``."""
    relative_path = Path(relative_path).as_posix()  # "./train.py" is "train.py"
    if relative_path not in _scripts:
        name = "vid2vid_script_" + re.sub(r"\W", "_", relative_path)
        spec = importlib.util.spec_from_file_location(name, REPO / relative_path)
        if spec is None or spec.loader is None:
            raise FileNotFoundError(f"no Python script {REPO / relative_path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # as an import would: dataclasses and pickle look their module up there
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        _scripts[relative_path] = module
    return _scripts[relative_path]


def tiny_sample_dataset(root: Path, n_train_seqs: int = 2) -> Path:
    """The embedded sample dataset (data/sample_video.py, seed 0) at its smallest: 64x32 frames, ``n_train_seqs``
    training sequences and 1 test sequence of 8 frames each, in ``root`` (replaced if it exists)."""
    make_sample_dataset(root, seed=0, width=64, height=32, n_train_seqs=n_train_seqs, n_test_seqs=1, n_frames=8,
                        overwrite=True)
    return root


def write_label_dataset(root: Path, sequences: Mapping[str, int], *, phase: str = "train", width: int = 64,
                        height: int = 32, label_nc: int = 8, labels: LabelMaker | None = None,
                        instances: Callable[[np.ndarray], np.ndarray] | None = None, rgb_input: bool = False,
                        real: bool = True, digits: int = 4, a_suffix: str = "", b_suffix: str = "",
                        seed: int = 0) -> Path:
    """A dataset in the reference's folder layout, as PNG files: for each ``name: n_frames`` of ``sequences``,
    ``<phase>_A/<name>/`` label maps (with ``rgb_input``: RGB input images), ``<phase>_inst/<name>/`` 16-bit
    instance maps and ``<phase>_B/<name>/`` RGB real frames (none without ``real``), the files of frame ``i``
    named ``<name>_<i, digits wide><suffix>.png``.

    A label map is ``labels(rng, name, i)`` (uint8 (H, W)); by default uniform ids below ``label_nc``. An
    instance map is ``instances(label_map)``; by default the label id x 1000. Input images and real frames are
    uniform noise of ``height`` x ``width``. One generator seeded with ``seed`` draws, frame after frame, the
    label map, then the input image, then the real frame."""
    rng = np.random.default_rng(seed)
    for name, n_frames in sequences.items():
        kinds = ("A", "B", "inst") if real else ("A", "inst")
        for kind in kinds:
            (root / f"{phase}_{kind}" / name).mkdir(parents=True, exist_ok=True)
        for i in range(n_frames):
            stem = f"{name}_{i:0{digits}d}"
            label = rng.integers(0, label_nc, (height, width), dtype=np.uint8) if labels is None else labels(
                rng, name, i)
            inputs = rng.integers(0, 256, (height, width, 3), dtype=np.uint8) if rgb_input else label
            Image.fromarray(inputs).save(root / f"{phase}_A" / name / f"{stem}{a_suffix}.png")
            instance = label.astype(np.uint16) * 1000 if instances is None else instances(label)
            Image.fromarray(instance).save(root / f"{phase}_inst" / name / f"{stem}.png")
            if real:
                Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(
                    root / f"{phase}_B" / name / f"{stem}{b_suffix}.png")
    return root
