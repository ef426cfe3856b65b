"""NVIDIA's side only: finding their checkout and importing their code with the run-time adaptations it needs on
today's PyTorch (REFERENCE_README.md section 5; bench/compare_reference.py's docstring lists them). Their code cannot
be edited, so it is adapted here; nothing of ours is patched. Only the process meant for NVIDIA's code calls
`import_reference`, and it must be called before any module of theirs or ours named in CLASHING_PACKAGES is loaded.
"""
from __future__ import annotations

import functools
import importlib
import math
import sys
from pathlib import Path
from types import ModuleType

import torch
import torch.nn.functional as F

from .spec import CLASHING_PACKAGES, REPO_ROOT, UsageError, load_by_path

REFERENCE_FILES = ("models/vid2vid_model_G.py", "models/networks.py", "options/train_options.py")


def check_checkout(path: str | None) -> Path:
    if not path:
        raise UsageError("--nvidia_dir is required: a checkout of github.com/NVIDIA/vid2vid (the reference data used "
                         "commit 2e6d137); or pass --self_check to compare our code with itself")
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise UsageError(f"--nvidia_dir {path} does not exist; pass the folder of a clone of github.com/NVIDIA/vid2vid")
    missing = [name for name in REFERENCE_FILES if not (folder / name).is_file()]
    if missing:
        raise UsageError(f"--nvidia_dir {path} is not a vid2vid checkout (no {missing[0]}); pass the folder of a "
                         "clone of github.com/NVIDIA/vid2vid")
    if folder == REPO_ROOT or REPO_ROOT in folder.parents:
        raise UsageError(f"--nvidia_dir {path} is inside this repository; keep NVIDIA's code outside it")
    return folder


def clashing_modules() -> list[str]:
    return [name for name in sys.modules if name.split(".")[0] in CLASHING_PACKAGES]


@functools.cache
def checkpoint_module() -> ModuleType:
    """Our models/checkpoint.py, the project's one reader of weight files, for NVIDIA's process: loaded by its path
    before their packages are imported, with our repository first on sys.path for its own import of util.atomic;
    then our modules it pulled in are dropped from sys.modules again, so that `util` stays free for NVIDIA's (the
    loaded module keeps what it imported)."""
    if clashing_modules():
        raise RuntimeError(f"models/checkpoint.py must be loaded before {clashing_modules()[0]} (see import_reference)")
    sys.path.insert(0, str(REPO_ROOT))
    try:
        return load_by_path("_reference_side_checkpoint", "models/checkpoint.py")
    finally:
        sys.path.remove(str(REPO_ROOT))  # the first occurrence: the one inserted above
        for name in clashing_modules():
            del sys.modules[name]


def read_weights(path: str | Path, what: str) -> dict[str, torch.Tensor]:
    """A state_dict file written by this comparison (weights_only, one-line errors)."""
    return checkpoint_module().read_state_dict(path, what, "it is written earlier in the same comparison run: rerun "
                                                           "bench/compare_reference.py")


def install_cpu_shims() -> None:
    """S: their CUDA-only calls on a CPU run (gpu_ids stays [0], so their single-GPU code path runs)."""
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self
    torch.cuda.set_device = lambda *args, **kwargs: None
    torch.cuda.is_available = lambda: False  # their DataParallel wrapper then passes calls through
    for name, cpu_type in (("FloatTensor", torch.FloatTensor), ("ByteTensor", torch.ByteTensor),
                           ("LongTensor", torch.LongTensor), ("HalfTensor", torch.HalfTensor)):
        setattr(torch.cuda, name, cpu_type)


def aligned_grid_sample(self, image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
    """P1: their warp with PyTorch <= 1.2 sampling (align_corners=True), computed in fp32 under autocast."""
    del self
    out = F.grid_sample(image.float(), grid.float(), mode="bilinear", padding_mode="border", align_corners=True)
    return out.to(image.dtype)


def install_random_vgg(path: str) -> None:
    """P3: their VGG loss asks torchvision for ImageNet weights; give it the shared random ones."""
    import torchvision

    build = torchvision.models.vgg19

    def vgg19_shared(*args, **kwargs) -> torch.nn.Module:  # noqa: ANN002, ANN003
        del args, kwargs
        net = build(weights=None)
        net.load_state_dict(read_weights(path, "the shared random VGG19 weights"))
        return net

    torchvision.models.vgg19 = vgg19_shared


def import_reference(spec: dict) -> dict:
    """Their modules, imported from --nvidia_dir with the runtime adaptations (module docstring) installed."""
    import fractions

    folder = check_checkout(spec["nvidia_dir"])
    if clashing_modules():
        raise RuntimeError("our packages are already imported in the process meant for NVIDIA's code")
    checkpoint_module()  # read_weights needs it; loaded while no package of theirs is
    sys.dont_write_bytecode = True  # no __pycache__ in their checkout
    fractions.gcd = math.gcd  # P5
    if spec["device"] == "cpu":
        install_cpu_shims()
    sys.path.insert(0, str(folder))
    names = {"train_options": "options.train_options", "test_options": "options.test_options",
             "base_model": "models.base_model", "networks": "models.networks", "models": "models.models",
             "model_G": "models.vid2vid_model_G", "model_D": "models.vid2vid_model_D"}
    modules = {key: importlib.import_module(name) for key, name in names.items()}
    modules["base_model"].BaseModel.grid_sample = aligned_grid_sample
    modules["networks"].BaseNetwork.grid_sample = aligned_grid_sample
    modules["base_model"].BaseModel.load_network = lambda *args, **kwargs: None  # P4: nvidia_side loads them
    if spec["mode"] == "training" and not spec["no_vgg"]:
        install_random_vgg(spec["vgg_path"])
    return modules
