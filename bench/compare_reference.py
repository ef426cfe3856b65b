"""Speed and output parity of our vid2vid against NVIDIA's original code, on identical inputs, weights and settings.

    python bench/compare_reference.py --nvidia_dir PATH [--configs label2city_1024_g1,label2city_2048,label2city_256_g1]
        [--sizes WxH,...] [--flags "--ngf 8 ..."] [--device cpu|cuda] [--dtype fp32|bf16|fp16] [--threads 2]
        [--repeats 5] [--allocator keep|default] [--isolation auto|workers|fresh] [--no_vgg] [--channels_last]
        [--json PATH]
    python bench/compare_reference.py --self_check ...   # our code on both sides: checks the harness itself

``--nvidia_dir`` is a checkout of github.com/NVIDIA/vid2vid that YOU provide (the reference data was made at commit
2e6d137). Its code is non-commercial and is never copied here: this script only imports it in a separate process
and adapts it at run time (below); it writes nothing into the checkout.

Configurations (the published scripts' flags; frame size from the config, or each of ``--sizes``):
  label2city_1024_g1  inference, 1024x512: --label_nc 35 --loadSize 1024 --n_scales_spatial 3 --use_instance --fg
                      --n_downsample_G 2
  label2city_2048     inference, 2048x1024: --label_nc 35 --loadSize 2048 --n_scales_spatial 3 --use_instance --fg
  label2city_256_g1   one training step, 256x128, 8 frames = one chunk of 6 generated frames: --label_nc 35
                      --loadSize 256 --use_instance --fg --n_downsample_G 2 --num_D 1 --max_frames_per_gpu 6
                      --n_frames_total 6 (VGG loss on, with the same random VGG19 weights on both sides; --no_vgg drops
                      it on both)
Without ``--configs``: all three with ``--device cuda``; on the CPU label2city_1024_g1 alone (about 2 min on 2 cores;
label2city_2048 takes about 6 min and label2city_256_g1 about 13 min there, each asked for by name).
``--flags`` are appended to both sides' options (e.g. ``--flags "--ngf 8 --n_blocks 2"`` for a quick run).

What one timed call is:
  inference: one steady-state ``inference`` call (history of 2 previous frames per scale preset to the same random
      images on both sides, so the single-frame G is not involved): label one-hot + instance edges, pyramids, fg mask,
      G0..G2 with flow warp and fg compositing, history update; no_grad, BatchNorm in train mode (as the reference's
      test.py). Ours: ``GeneratorModel.inference``; theirs: ``Vid2VidModelG.inference``. Per-frame = per call.
  training: one step of the train.py inner loop on one clip: G forward over the chunk, the image-D / VGG / warp /
      flow losses, the temporal D, then the G, D and D_T updates (Adam). Ours: ``Trainer.train_item``; theirs: their
      Vid2VidModelG / Vid2VidModelD wrapped in their ``myModel`` exactly as train.py does, driven by this script in
      train.py's order. Per-frame = per step / generated frames.
      FLOW IS GIVEN TO BOTH: their step computes the reference flow with FlowNet2 (CUDA extensions, 650 MB of
      weights we do not have), ours with a backend of our choice. Both sides here get the same synthetic smooth
      flow field and 0/1 confidence (``given_flow``), so the comparison is the generator + discriminator step alone;
      the frozen flow network (no_grad, 1.3 s of the reference's 73.5 s step at 256x128) is benchmarked separately
      by bench/flow.py.

Identical on both sides: inputs (synthetic Cityscapes-like labels with moving fg cars, instance maps, smooth real
frames), weights (NVIDIA's networks built with ``--seed`` by their own ``weights_init``, BatchNorm biases then
re-drawn from N(0, 0.1) as in the reference data so that a dropped bias shows, saved in the reference checkpoint
format ``<name>/latest_net_<label>.pth``; ours load those files strictly through ``models.inference.load_test_model``
/ ``Trainer.load_networks``, theirs strictly with ``load_state_dict``), ``torch.set_num_threads`` and
OMP/MKL_NUM_THREADS, the glibc allocator setting (``util/allocator.py`` ``keep_freed_memory()``, what our test.py and
train.py apply, for BOTH with ``--allocator keep``, for NEITHER with ``--allocator default``, the setting of the
reference's own timing files), autocast (fp32, or bf16/fp16 autocast around each side's forward work; training:
fp32 or bf16, since their fp16 path needs apex), ``torch.backends.cudnn.benchmark`` (their model turns it on; set to
the same value in both processes), the device, and with ``--channels_last`` the memory layout (every network of
both sides converted to channels-last after its weights are loaded).

On a GPU one command gives inference frames/s at 1024x512 and 2048x1024, the training step's throughput and each
side's peak memory: ``python bench/compare_reference.py --nvidia_dir PATH --device cuda`` (add ``--dtype bf16`` or,
inference only, ``--dtype fp16`` for mixed precision).

Alternation and isolation. Each side runs in its OWN process (``--worker``): the two codebases both have top-level
packages named models/options/util/data, and per-process peak memory (RSS on CPU, ``torch.cuda.max_memory_allocated``
on CUDA) must be measured separately. Calls alternate between the sides, the order swapped every pair (ours, theirs,
theirs, ours, ...), so slow drift of a shared machine's load hits both equally; each pair gives one ratio ours/theirs
and the spread of those ratios (min / median / max) shows the noise. Every process makes one untimed warm-up call
first. ``--isolation workers`` (inference default) keeps one long-lived process per side, both alive, answering the
calls in turn: cheap, and both see the same machine state. ``--isolation fresh`` (training default) starts a new
process for every timed call (warm-up + 1 timed call, then it exits) and never runs both at once: a training step of
the full recipe holds about 13 GB, two of them would not fit a 24 GB machine, and with ``keep_freed_memory`` a
process never returns its peak. Timing: ``time.perf_counter`` around the call on CPU; CUDA events around it, after
a ``torch.cuda.synchronize``, on CUDA.

Parity: the max abs difference of the frames generated by each side's FIRST call (identical weights; a training step
then updates the weights, so later calls are not compared); for training also the largest relative difference of
the named losses both sides report and of every network's parameter gradients of that step (G, D, D_T; per network
max abs difference / its largest gradient). Gradients, not the updated weights: Adam's first step moves every weight
by about +-lr whatever the gradient's size, so weights would only show sign agreement. With fp32 the frame difference
must be <= --tolerance (1e-4) and the gradient one <= --grad_tolerance (1e-3); the exit status is 1 otherwise.

Runtime adaptations of NVIDIA's code (REFERENCE_README.md section 5), installed in their process at import time:
P1 their BaseModel / BaseNetwork ``grid_sample`` helpers get ``align_corners=True`` (PyTorch <= 1.2 behaviour);
P3 torchvision's ``vgg19(pretrained=True)`` returns the shared random VGG19 weights; P4 their checkpoint loading in
``initialize`` is disabled (this script loads every network strictly itself); P5 ``fractions.gcd = math.gcd``;
S on CPU only: ``Tensor.cuda`` / ``Module.cuda`` / ``torch.cuda.set_device`` are no-ops, ``torch.cuda.is_available``
is False (so their DataParallel wrapper is a pass-through), ``torch.cuda.FloatTensor`` etc. build CPU tensors.
Their FlowNet2 is not used (flow is given), so no CUDA-extension replacement is needed.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import importlib.util
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F

REPO_ROOT = Path(__file__).resolve().parents[1]
SIDES = ("ours", "theirs")
CLASHING_PACKAGES = ("models", "options", "util", "data")  # top-level names both codebases use
REFERENCE_FILES = ("models/vid2vid_model_G.py", "models/networks.py", "options/train_options.py")
CONFIGS = {
    "label2city_1024_g1": {"mode": "inference", "size": (1024, 512),
                           "flags": ["--label_nc", "35", "--loadSize", "1024", "--n_scales_spatial", "3",
                                     "--use_instance", "--fg", "--n_downsample_G", "2"]},
    "label2city_2048": {"mode": "inference", "size": (2048, 1024),
                        "flags": ["--label_nc", "35", "--loadSize", "2048", "--n_scales_spatial", "3",
                                  "--use_instance", "--fg"]},
    "label2city_256_g1": {"mode": "training", "size": (256, 128),
                          "flags": ["--label_nc", "35", "--loadSize", "256", "--use_instance", "--fg",
                                    "--n_downsample_G", "2", "--num_D", "1", "--max_frames_per_gpu", "6",
                                    "--n_frames_total", "6"]},
}
BN_BIAS_STD = 0.1  # as the reference data: BatchNorm biases re-drawn so that a reimplementation dropping them fails
HISTORY_SEED, DATA_SEED, FLOW_SEED = 1, 2, 3


class UsageError(Exception):
    """A bad flag or path: reported as one line, exit status 2."""


# ---------------------------------------------------------------------------------------------- flags and specs
def flag_value(flags: list[str], name: str, default: str) -> str:
    """The value of the last ``name VALUE`` in ``flags`` (argparse's rule), else ``default``."""
    value = default
    for i, flag in enumerate(flags[:-1]):
        if flag == name:
            value = flags[i + 1]
    return value


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--sizes: '{text}' is not WIDTHxHEIGHT, e.g. 256x128") from None
    return width, height


def size_multiple(flags: list[str]) -> int:
    """Frame sides must be multiples of this: every spatial scale halves, then G downsamples n_downsample_G times."""
    scales = int(flag_value(flags, "--n_scales_spatial", "1"))
    return 2 ** (scales - 1 + int(flag_value(flags, "--n_downsample_G", "3")))


def run_flags(config: str, size: tuple[int, int], extra: str) -> list[str]:
    """Both sides' model flags: the config's, the frame width as --loadSize, then --flags. UsageError when the frame
    size does not fit the network."""
    width, height = size
    flags = [*CONFIGS[config]["flags"], "--loadSize", str(width), *shlex.split(extra)]
    multiple = size_multiple(flags)
    if width % multiple or height % multiple:
        raise UsageError(f"--sizes {width}x{height}: {config} needs both sides to be multiples of {multiple}")
    return flags


def make_spec(args: argparse.Namespace, config: str, size: tuple[int, int], tmp: str) -> dict:
    """Everything a worker needs, JSON-serialisable."""
    width, height = size
    flags = run_flags(config, size, args.flags)
    n_frames_g = int(flag_value(flags, "--n_frames_G", "3"))
    return {
        "config": config, "mode": CONFIGS[config]["mode"], "width": width, "height": height, "flags": flags,
        "n_frames": int(flag_value(flags, "--n_frames_total", "6")) + n_frames_g - 1, "n_frames_G": n_frames_g,
        "device": args.device, "dtype": args.dtype, "threads": args.threads, "allocator": args.allocator,
        "cudnn_benchmark": not args.no_cudnn_benchmark, "seed": args.seed, "no_vgg": args.no_vgg,
        "channels_last": args.channels_last,
        "nvidia_dir": args.nvidia_dir, "checkpoints_dir": os.path.join(tmp, "checkpoints"),
        "vgg_path": os.path.join(tmp, "vgg19_random.pth"), "tmp": tmp,
    }


def run_name(spec: dict) -> str:
    return spec["config"]


# ---------------------------------------------------------------------------------------------- shared inputs
def synthetic_labels(width: int, height: int, n_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cityscapes-like label ids (building, sky, road, vegetation, 6 cars = fg label 26 moving right, a person) and
    instance ids: each (1, T, 1, H, W) float."""
    label = torch.full((n_frames, height, width), 11.0)
    label[:, : height // 4] = 23
    label[:, height // 2:] = 7
    label[:, height // 3: height // 2, : width // 6] = 21
    instances = label.clone()
    car_h, car_w, step = max(1, height // 12), max(1, width // 10), max(1, width // 128)
    for t in range(n_frames):
        for k in range(6):
            x0 = (k * width // 7 + 2 * step * t) % max(1, width - car_w)
            y0 = height // 2 + (k % 2) * height // 10
            label[t, y0: y0 + car_h, x0: x0 + car_w] = 26
            instances[t, y0: y0 + car_h, x0: x0 + car_w] = 26000 + k
        x0, y0 = width // 2 + step * t, height // 3
        label[t, y0: y0 + max(1, height // 8), x0: x0 + max(1, width // 60)] = 24
        instances[t, y0: y0 + max(1, height // 8), x0: x0 + max(1, width // 60)] = 24000
    return label[None, :, None], instances[None, :, None]


def smooth_noise(shape: tuple[int, ...], height: int, width: int, seed: int) -> torch.Tensor:
    """(N, C, H, W) smooth random field: N(0, 1) on a grid 8x coarser, bilinearly upsampled."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randn(*shape, max(1, height // 8), max(1, width // 8), generator=generator)
    return F.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)


def synthetic_frames(width: int, height: int, n_frames: int) -> torch.Tensor:
    """(1, T, 3, H, W) smooth real frames in [-1, 1]."""
    return torch.tanh(smooth_noise((n_frames, 3), height, width, DATA_SEED))[None]


def preset_history(width: int, height: int, n_scales: int, n_frames_g: int) -> list[torch.Tensor]:
    """Per-scale previous outputs, finest first: (1, tG-1, 3, H/2^s, W/2^s) random images in [-1, 1]."""
    generator = torch.Generator().manual_seed(HISTORY_SEED)
    return [torch.rand(1, n_frames_g - 1, 3, height >> s, width >> s, generator=generator) * 2 - 1
            for s in range(n_scales)]


def given_flow(current: torch.Tensor, previous: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference flow (pixels, current -> previous) and 0/1 confidence given to BOTH sides' training step instead
    of a flow network: a smooth random field of a few pixels, a function of the input shape only.
    current, previous: (B[, N], 3, H, W) -> flow (B[, N], 2, H, W), conf (B[, N], 1, H, W)."""
    leading, (height, width) = current.shape[:-3], current.shape[-2:]
    n = math.prod(leading)
    seed = FLOW_SEED + 1000003 * n + height * 1009 + width
    flow = 2.0 * smooth_noise((n, 2), height, width, seed)
    conf = (smooth_noise((n, 1), height, width, seed + 1) > -0.5).float()
    return (flow.view(*leading, 2, height, width).to(current.device),
            conf.view(*leading, 1, height, width).to(current.device))


def redraw_bn_biases(networks: dict[str, torch.nn.Module], seed: int) -> None:
    generator = torch.Generator().manual_seed(seed + 1)
    for network in networks.values():
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm2d) and module.bias is not None:
                with torch.no_grad():
                    module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * BN_BIAS_STD)


def save_reference_format(networks: dict[str, torch.nn.Module], spec: dict) -> None:
    """``<checkpoints_dir>/<name>/latest_net_<label>.pth``: the bare state_dict of each network, CPU tensors."""
    folder = Path(spec["checkpoints_dir"]) / run_name(spec)
    folder.mkdir(parents=True, exist_ok=True)
    for label, network in networks.items():
        torch.save({k: v.detach().cpu() for k, v in network.state_dict().items()}, folder / f"latest_net_{label}.pth")


def write_vgg(spec: dict) -> None:
    """The random VGG19 both sides' VGG loss use (the cost does not depend on the values)."""
    if spec["mode"] != "training" or spec["no_vgg"]:
        return
    import torchvision

    torch.manual_seed(spec["seed"])
    torch.save(torchvision.models.vgg19(weights=None).state_dict(), spec["vgg_path"])


def device_of(spec: dict) -> torch.device:
    return torch.device(spec["device"])


def autocast(spec: dict) -> contextlib.AbstractContextManager:
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(spec["dtype"])
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=spec["device"], dtype=dtype)


# ---------------------------------------------------------------------------------------------- our side
def import_ours() -> None:
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def our_options(spec: dict, training: bool) -> argparse.Namespace:
    import_ours()
    from options import TestOptions, TrainOptions

    argv = ["--name", run_name(spec), "--checkpoints_dir", spec["checkpoints_dir"], "--gpu_ids", "-1"]
    if not training:  # (--no_first_img: a first-frame source the loader accepts; the history is given anyway)
        return TestOptions().parse(argv + ["--no_first_img"] + spec["flags"], save=False, verbose=False)
    argv += ["--dataroot", spec["tmp"], "--nThreads", "0", "--no_vgg", "--flow_net", "dis", "--seed",
             str(spec["seed"])]
    argv += {"bf16": ["--bf16"], "fp16": ["--fp16"]}.get(spec["dtype"], [])
    return TrainOptions().parse(argv + spec["flags"], save=False, verbose=False)


def write_ours(spec: dict) -> None:
    """Our networks for the spec, seeded, saved in the reference format (the --self_check writer)."""
    import_ours()
    from models.networks.factory import build_networks

    torch.manual_seed(spec["seed"])
    opt = our_options(spec, spec["mode"] == "training")
    networks = {k: v for k, v in build_networks(opt).items() if k not in ("G_single", "E_single")}
    redraw_bn_biases(networks, spec["seed"])
    save_reference_format(networks, spec)
    write_vgg(spec)


class OursInference:
    """Our test-time model loaded from the files; one ``GeneratorModel.inference`` call per run."""

    def __init__(self, spec: dict) -> None:
        import_ours()
        from models.inference import load_test_model

        self.spec, device = spec, device_of(spec)
        self.model = load_test_model(our_options(spec, training=False), device)
        label, instances = synthetic_labels(spec["width"], spec["height"], spec["n_frames_G"])
        self.label, self.instances = label.to(device), instances.to(device)
        self.history = [h.to(device) for h in preset_history(spec["width"], spec["height"], self.model.n_scales,
                                                             spec["n_frames_G"])]

    def prepare(self) -> None:
        pass

    def run(self) -> tuple[torch.Tensor, dict[str, float]]:
        with autocast(self.spec):
            out = self.model.inference(self.label, None, self.instances, self.history)
        return out["fake_image"], {}

    def trained_networks(self) -> dict[str, torch.nn.Module]:
        return {}


class OursTraining:
    """Our Trainer, networks loaded from the files, flow given; one ``train_item`` per run."""

    def __init__(self, spec: dict) -> None:
        import_ours()
        from data.clip import Clip
        from models.flow import FlowResult
        from models.trainer import Trainer

        device = device_of(spec)
        self.trainer = Trainer(our_options(spec, training=True), device)
        self.trainer.load_networks("latest")
        if not spec["no_vgg"]:
            from models.networks.vgg import VGGLoss

            self.trainer.model_d.criterion_vgg = VGGLoss(spec["vgg_path"]).to(device)
        self.trainer.flow = lambda current, previous: FlowResult(*given_flow(current, previous))
        self.trainer.set_epoch(1)
        label, instances = synthetic_labels(spec["width"], spec["height"], spec["n_frames"])
        self.clip = Clip(label=label, real=synthetic_frames(spec["width"], spec["height"], spec["n_frames"]),
                         instance=instances, sequence=["synthetic"], frame_paths=[[""] * spec["n_frames"]]).to(device)

    def prepare(self) -> None:
        pass

    def run(self) -> tuple[torch.Tensor, dict[str, float]]:
        result = self.trainer.train_item(self.clip)
        return result["visuals"]["fake_image"], {k: float(v) for k, v in result["losses"].items()}

    def trained_networks(self) -> dict[str, torch.nn.Module]:
        return self.trainer.networks()


# ---------------------------------------------------------------------------------------------- their side
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


def import_reference(spec: dict) -> dict:
    """Their modules, imported from --nvidia_dir with the runtime adaptations (module docstring) installed."""
    import fractions

    folder = check_checkout(spec["nvidia_dir"])
    sys.dont_write_bytecode = True  # no __pycache__ in their checkout
    fractions.gcd = math.gcd  # P5
    if spec["device"] == "cpu":
        install_cpu_shims()
    if any(name in sys.modules for name in CLASHING_PACKAGES):
        raise RuntimeError("our packages are already imported in the process meant for NVIDIA's code")
    sys.path.insert(0, str(folder))
    names = {"train_options": "options.train_options", "test_options": "options.test_options",
             "base_model": "models.base_model", "networks": "models.networks", "models": "models.models",
             "model_G": "models.vid2vid_model_G", "model_D": "models.vid2vid_model_D"}
    modules = {key: importlib.import_module(name) for key, name in names.items()}
    modules["base_model"].BaseModel.grid_sample = aligned_grid_sample
    modules["networks"].BaseNetwork.grid_sample = aligned_grid_sample
    modules["base_model"].BaseModel.load_network = lambda *args, **kwargs: None  # P4: loaded strictly below
    if spec["mode"] == "training" and not spec["no_vgg"]:
        install_random_vgg(spec["vgg_path"])
    return modules


def install_random_vgg(path: str) -> None:
    """P3: their VGG loss asks torchvision for ImageNet weights; give it the shared random ones."""
    import torchvision

    build = torchvision.models.vgg19

    def vgg19_shared(*args, **kwargs) -> torch.nn.Module:  # noqa: ANN002, ANN003
        del args, kwargs
        net = build(weights=None)
        net.load_state_dict(torch.load(path, weights_only=True))
        return net

    torchvision.models.vgg19 = vgg19_shared


def reference_options(modules: dict, spec: dict, training: bool) -> argparse.Namespace:
    """Their option parser reads sys.argv; give it our flags for the run."""
    argv = ["--name", run_name(spec), "--checkpoints_dir", spec["checkpoints_dir"], "--gpu_ids", "0"]
    argv += ([] if training else ["--no_first_img"]) + spec["flags"]
    if training and spec["no_vgg"]:
        argv.append("--no_vgg")
    parser = modules["train_options"].TrainOptions() if training else modules["test_options"].TestOptions()
    saved, sys.argv = sys.argv, ["vid2vid", *argv]
    try:
        return parser.parse(save=False)
    finally:
        sys.argv = saved


def reference_networks(model_g: torch.nn.Module, model_d: torch.nn.Module | None, opt: argparse.Namespace
                       ) -> dict[str, torch.nn.Module]:
    """Their networks by checkpoint label (G0.., D, D_T0.., D_f)."""
    nets = {f"G{s}": getattr(model_g, f"netG{s}") for s in range(opt.n_scales_spatial)}
    if model_d is not None:
        nets["D"] = model_d.netD
        nets.update({f"D_T{s}": getattr(model_d, f"netD_T{s}") for s in range(opt.n_scales_temporal)})
        if opt.add_face_disc:
            nets["D_f"] = model_d.netD_f
    return nets


def build_reference(spec: dict) -> tuple[dict, argparse.Namespace, torch.nn.Module, torch.nn.Module | None]:
    """Their option parse and models (their own initialize, seeded): (modules, opt, model G, model D or None)."""
    modules = import_reference(spec)
    training = spec["mode"] == "training"
    opt = reference_options(modules, spec, training)
    torch.manual_seed(spec["seed"])
    model_g = modules["model_G"].Vid2VidModelG()
    model_g.initialize(opt)
    model_d = None
    if training:
        model_d = modules["model_D"].Vid2VidModelD()
        model_d.initialize(opt)
    return modules, opt, model_g, model_d


def write_theirs(spec: dict) -> None:
    """NVIDIA's networks for the spec, seeded with their weights_init, BN biases re-drawn, saved in their format."""
    write_vgg(spec)  # before their VGG loss is built
    _, opt, model_g, model_d = build_reference(spec)
    networks = reference_networks(model_g, model_d, opt)
    redraw_bn_biases(networks, spec["seed"])
    save_reference_format(networks, spec)


def load_reference_weights(networks: dict[str, torch.nn.Module], spec: dict) -> None:
    folder = Path(spec["checkpoints_dir"]) / run_name(spec)
    for label, network in networks.items():
        network.load_state_dict(torch.load(folder / f"latest_net_{label}.pth", weights_only=True))


class TheirsInference:
    """Their Vid2VidModelG (test options), weights from the files; one ``inference`` call per run."""

    def __init__(self, spec: dict) -> None:
        _, opt, self.model, _ = build_reference(spec)
        load_reference_weights(reference_networks(self.model, None, opt), spec)
        device = device_of(spec)
        self.spec = spec
        label, instances = synthetic_labels(spec["width"], spec["height"], spec["n_frames_G"])
        self.label, self.instances = label.to(device), instances.to(device)
        history = preset_history(spec["width"], spec["height"], opt.n_scales_spatial, spec["n_frames_G"])
        self.history = [h[0].to(device) for h in history]  # their test-time history has no batch axis

    def prepare(self) -> None:
        self.model.fake_B_prev = [h.clone() for h in self.history]  # steady state: a history is given

    def run(self) -> tuple[torch.Tensor, dict[str, float]]:
        with autocast(self.spec):
            fake, _ = self.model.inference(self.label, None, self.instances)
        return fake, {}

    def trained_networks(self) -> dict[str, torch.nn.Module]:
        return {}


def frames_as_batch(tensor: torch.Tensor | None) -> torch.Tensor | None:
    """(B, N, C, H, W) -> (B*N, C, H, W), as their discriminator model takes its inputs."""
    return None if tensor is None else tensor.contiguous().view(-1, *tensor.shape[2:])


def mean_or_zero(value: torch.Tensor | int | None) -> torch.Tensor | int:
    return value.mean() if isinstance(value, torch.Tensor) else 0


class TheirsTraining:
    """Their Vid2VidModelG / Vid2VidModelD in their myModel wrapper, weights from the files, flow given; one step of
    train.py's inner loop per run (the chunks of one clip, each: G, D losses, temporal D, then G, D, D_T updates)."""

    def __init__(self, spec: dict) -> None:
        modules, self.opt, self.model_g, self.model_d = build_reference(spec)
        load_reference_weights(reference_networks(self.model_g, self.model_d, self.opt), spec)
        self.spec = spec
        self.wrapped_g = modules["models"].myModel(self.opt, self.model_g)
        self.wrapped_d = modules["models"].myModel(self.opt, self.model_d)
        self.optimizers_d_t = [getattr(self.model_d, f"optimizer_D_T{s}") for s in range(self.opt.n_scales_temporal)]
        device = device_of(spec)
        label, instances = synthetic_labels(spec["width"], spec["height"], spec["n_frames"])
        real = synthetic_frames(spec["width"], spec["height"], spec["n_frames"])
        self.label, self.real, self.instances = label.to(device), real.to(device), instances.to(device)

    def prepare(self) -> None:
        pass

    def run(self) -> tuple[torch.Tensor, dict[str, float]]:
        opt, t_g = self.opt, self.opt.n_frames_G
        n_frames = self.label.size(1)
        n_load = min(opt.max_frames_per_gpu * opt.n_gpus_gen, n_frames - t_g + 1)
        t_len = n_load + t_g - 1
        prev_last, frames_all, named = None, (None, None, None, None), {}
        for i in range(0, n_frames - t_len + 1, n_load):
            window = slice(i, i + t_len)
            with autocast(self.spec):
                fake, fake_raw, flow, weight, real_a, real_bp, last = self.wrapped_g(
                    self.label[:, window], self.real[:, window], self.instances[:, window], prev_last)
            real_prev, real = real_bp[:, :-1], real_bp[:, 1:]
            flow_ref, conf_ref = given_flow(real, real_prev)
            fake_prev = self.model_g.compute_fake_B_prev(real_prev, prev_last, fake)
            prev_last = last
            named, frames_all = self.chunk_losses_and_updates(i, n_load, frames_all, [
                real, fake, fake_raw, real_a, real_prev, fake_prev, flow, weight, flow_ref, conf_ref])
        return fake, named

    def trained_networks(self) -> dict[str, torch.nn.Module]:
        return reference_networks(self.model_g, self.model_d, self.opt)

    def chunk_losses_and_updates(self, i: int, n_load: int, frames_all: tuple, tensors: list
                                 ) -> tuple[dict[str, float], tuple]:
        """Image and temporal D losses of one chunk, then their G, D and D_T updates; returns the named losses
        and the frames kept for the next chunk's temporal D."""
        model_d, opt = self.model_d, self.opt
        real, fake, flow_ref, conf_ref = tensors[0], tensors[1], tensors[8], tensors[9]
        with autocast(self.spec):
            losses = self.wrapped_d(0, [frames_as_batch(t) for t in tensors])
            image = dict(zip(model_d.loss_names, (mean_or_zero(x) for x in losses), strict=True))
            frames_all, skipped = model_d.get_all_skipped_frames(frames_all, real, fake, flow_ref, conf_ref,
                                                                 opt.n_scales_temporal, opt.n_frames_D, n_load, i,
                                                                 given_flow)
            temporal = []
            for s in range(opt.n_scales_temporal):
                if skipped[0][s] is not None:
                    out = self.wrapped_d(s + 1, [group[s] for group in skipped])
                    temporal.append(dict(zip(model_d.loss_names_T, (mean_or_zero(x) for x in out), strict=True)))
        loss_g, loss_d, loss_d_t, n_scales_run = model_d.get_losses(image, temporal, opt.n_scales_temporal)
        for loss, optimizer in [(loss_g, self.model_g.optimizer_G), (loss_d, model_d.optimizer_D),
                                *zip(loss_d_t[:n_scales_run], self.optimizers_d_t, strict=False)]:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        named = {k: float(v) for k, v in image.items()}
        for s, scale_losses in enumerate(temporal):
            named.update({f"{k}{s}": float(v) for k, v in scale_losses.items()})
        named.update(loss_G=float(loss_g), loss_D=float(loss_d))
        named.update({f"loss_D_T{s}": float(v) for s, v in enumerate(loss_d_t)})
        return named, frames_all


RUNNERS = {("ours", "inference"): OursInference, ("ours", "training"): OursTraining,
           ("theirs", "inference"): TheirsInference, ("theirs", "training"): TheirsTraining}
WRITERS = {"ours": write_ours, "theirs": write_theirs}


# ---------------------------------------------------------------------------------------------- one timed call
@dataclass
class CallResult:
    seconds: float
    peak_gib: float
    output: torch.Tensor | None = None  # the generated frame(s), fp32 on the CPU, when asked for
    losses: dict[str, float] = field(default_factory=dict)
    grads: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)  # training, when asked (see `alternate`)


class Runner(Protocol):
    def prepare(self) -> None: ...
    def run(self) -> tuple[torch.Tensor, dict[str, float]]: ...
    def trained_networks(self) -> dict[str, torch.nn.Module]: ...


def timed_call(runner: Runner, device: torch.device, keep_output: bool) -> CallResult:
    """One call of ``runner.run`` (``prepare`` untimed), timed and its peak memory read by bench/common.py: CUDA
    events and max_memory_allocated on CUDA, perf_counter and the process's peak RSS on the CPU."""
    runner.prepare()
    common = load_bench_common()
    common.reset_peak_memory(device)
    seconds, (output, losses) = common.timed(runner.run, device)
    peak = common.peak_memory_gib(device)
    if not keep_output:
        return CallResult(seconds, peak, None, losses)
    grads = {label: {k: p.grad.detach().float().cpu().clone() for k, p in net.named_parameters() if p.grad is not None}
             for label, net in runner.trained_networks().items()}
    return CallResult(seconds, peak, output.detach().float().cpu().clone(), losses, grads)


class Session(Protocol):
    """One side's model, ready to be called (a worker process or an in-process runner)."""

    def call(self, keep_output: bool) -> CallResult: ...
    def close(self) -> None: ...


class InProcessSession:
    """A runner in this process (tests, and how a worker serves its calls)."""

    def __init__(self, runner: Runner, device: torch.device | str = "cpu") -> None:
        self.runner, self.device = runner, torch.device(device)

    def call(self, keep_output: bool) -> CallResult:
        return timed_call(self.runner, self.device, keep_output)

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------- worker processes
def load_by_path(name: str, relative: str):  # noqa: ANN201 - a module of this repository, loaded by its path
    """Our module at ``relative`` without putting the repository on sys.path (their packages share our names)."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_allocator_module():  # noqa: ANN201 - util/allocator.py
    return load_by_path("_compare_allocator", "util/allocator.py")


@functools.cache
def load_bench_common():  # noqa: ANN201 - bench/common.py (torch and the standard library only)
    return load_by_path("_compare_bench_common", "bench/common.py")


def setup_process(spec: dict) -> None:
    """Threads and the allocator setting, identical in every worker."""
    torch.set_num_threads(spec["threads"])
    if spec["allocator"] == "keep":
        load_allocator_module().keep_freed_memory()


def worker_env(threads: int) -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONUNBUFFERED="1")


def worker_command(side: str, spec_path: str, write: bool = False) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--worker", side, "--spec", spec_path] + (
        ["--write"] if write else [])


def protocol_channel():  # noqa: ANN201 - a text file on the original stdout
    """Keep stdout for the protocol and send everything else printed (their option dumps, C-level prints) to
    stderr, which the parent logs."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stdout.flush()
    os.dup2(2, 1)
    return channel


def to_channels_last(runner: Runner) -> None:
    """Every network a runner holds (its nn.Module attributes, and a trainer's networks) in the channels-last
    layout."""
    modules = [v for v in vars(runner).values() if isinstance(v, torch.nn.Module)]
    trainer = getattr(runner, "trainer", None)
    modules += list(trainer.networks().values()) if trainer is not None else []
    for module in modules:
        load_bench_common().channels_last(module)


def worker_main(side: str, spec_path: str, write: bool) -> int:
    spec = json.loads(Path(spec_path).read_text())
    channel = protocol_channel()
    setup_process(spec)
    if write:
        WRITERS[side](spec)
        print(json.dumps({"written": True}), file=channel)
        return 0
    runner = RUNNERS[(side, spec["mode"])](spec)
    if spec.get("channels_last"):
        to_channels_last(runner)
    torch.backends.cudnn.benchmark = spec["cudnn_benchmark"]  # after their initialize, which sets it
    device = device_of(spec)
    print(json.dumps({"ready": True, "rss_gib": load_bench_common().peak_rss_gib()}), file=channel)
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("quit"):
            break
        result = timed_call(runner, device, command.get("output") is not None)
        if result.output is not None:
            torch.save({"output": result.output, "grads": result.grads}, command["output"])
        print(json.dumps({"seconds": result.seconds, "peak_gib": result.peak_gib, "losses": result.losses}),
              file=channel)
    return 0


class WorkerError(RuntimeError):
    pass


def log_tail(path: str, n: int = 15) -> str:
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


class WorkerSession:
    """A worker process for one side; calls go over its stdin/stdout, its stderr goes to ``log_path``."""

    def __init__(self, side: str, spec_path: str, log_path: str, threads: int) -> None:
        self.side, self.log_path, self.tmp = side, log_path, str(Path(spec_path).parent)
        self.count = 0
        with open(log_path, "a") as log:
            self.process = subprocess.Popen(worker_command(side, spec_path), stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=log, text=True, env=worker_env(threads))
        self.receive()

    def receive(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            raise WorkerError(f"the {self.side} worker exited (status {self.process.returncode}); its log "
                              f"{self.log_path} ends:\n{log_tail(self.log_path)}")
        return json.loads(line)

    def call(self, keep_output: bool) -> CallResult:
        self.count += 1
        path = os.path.join(self.tmp, f"{self.side}_{id(self)}_{self.count}.pt") if keep_output else None
        self.process.stdin.write(json.dumps({"output": path}) + "\n")
        self.process.stdin.flush()
        reply = self.receive()
        kept = torch.load(path, weights_only=True) if path else {"output": None, "grads": {}}
        if path:
            os.remove(path)
        return CallResult(reply["seconds"], reply["peak_gib"], kept["output"], reply["losses"], kept["grads"])

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self.process.stdin.write(json.dumps({"quit": True}) + "\n")
                self.process.stdin.flush()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run_writer(side: str, spec_path: str, log_path: str, threads: int) -> None:
    with open(log_path, "a") as log:
        done = subprocess.run(worker_command(side, spec_path, write=True), stdout=subprocess.PIPE, stderr=log,
                              text=True, env=worker_env(threads), check=False)
    if done.returncode != 0:
        raise WorkerError(f"building {side} networks failed (status {done.returncode}); its log {log_path} ends:\n"
                          f"{log_tail(log_path)}")


# ---------------------------------------------------------------------------------------------- comparison core
def alternate(start: dict[str, Callable[[], Session]], repeats: int, fresh: bool) -> dict[str, dict]:
    """Alternate timed calls between the sides, the order swapped every pair (ours, theirs, theirs, ours, ...).

    ``start[side]()`` gives a ready Session. Each session's first call is an untimed warm-up; the first warm-up
    output of each side is kept for the parity check. ``fresh``: a new session for every timed call, closed right
    after it (never two alive); else one session per side for the whole run. Returns per side: ``seconds`` (timed
    calls in order), ``warmup_s``, ``peak_gib`` (max over calls), ``output``, ``losses`` and ``grads`` of the first
    call (training: every trained network's parameter gradients as the step left them: G's from loss_G, D's from
    loss_D, each D_T's from its own loss, since every update clears its network's gradients first).
    """
    record = {side: {"seconds": [], "warmup_s": [], "peak_gib": 0.0, "output": None, "losses": {}, "grads": {}}
              for side in SIDES}
    live: dict[str, Session] = {}

    def note(side: str, result: CallResult) -> None:
        record[side]["peak_gib"] = max(record[side]["peak_gib"], result.peak_gib)

    def session(side: str) -> Session:
        if side not in live:
            live[side] = start[side]()
            first = record[side]["output"] is None
            warm = live[side].call(keep_output=first)
            if first:
                record[side].update(output=warm.output, losses=warm.losses, grads=warm.grads)
            record[side]["warmup_s"].append(warm.seconds)
            note(side, warm)
        return live[side]

    try:
        if not fresh:
            for side in SIDES:
                session(side)
        for pair in range(repeats):
            for side in SIDES if pair % 2 == 0 else SIDES[::-1]:
                result = session(side).call(keep_output=False)
                record[side]["seconds"].append(result.seconds)
                note(side, result)
                if fresh:
                    live.pop(side).close()
    finally:
        for opened in live.values():
            opened.close()
    return record


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def loss_difference(ours: dict[str, float], theirs: dict[str, float]) -> tuple[float | None, list[str]]:
    """Largest relative difference of the losses both sides name, and the names only one side has."""
    common = [k for k in ours if k in theirs]
    only = sorted(set(ours) ^ set(theirs))
    if not common:
        return None, only
    return max(abs(ours[k] - theirs[k]) / max(abs(theirs[k]), 1e-8) for k in common), only


def gradient_difference(ours: dict[str, dict[str, torch.Tensor]], theirs: dict[str, dict[str, torch.Tensor]]
                        ) -> float | None:
    """Per network, max abs gradient difference / max abs gradient of theirs; the worst network (inf when a network,
    parameter or shape differs, or a gradient exists on one side only). None for inference (no gradients)."""
    if not ours and not theirs:
        return None
    if ours.keys() != theirs.keys():
        return math.inf
    worst = 0.0
    for label, grads in ours.items():
        other = theirs[label]
        if grads.keys() != other.keys() or any(g.shape != other[k].shape for k, g in grads.items()):
            return math.inf
        if not grads:
            continue
        scale = max(max(g.abs().max().item() for g in other.values()), 1e-30)
        worst = max(worst, max((g - other[k]).abs().max().item() for k, g in grads.items()) / scale)
    return worst


def summarize(record: dict[str, dict], frames_per_call: int, dtype: str, tolerance: float,
              grad_tolerance: float = 1e-3) -> dict:
    """Per-frame seconds of each side, per-pair ratios ours/theirs, first-call output (and, training, loss and
    gradient) differences, verdict."""
    ours, theirs = record["ours"], record["theirs"]
    ratios = [o / t for o, t in zip(ours["seconds"], theirs["seconds"], strict=True)]
    a, b = ours["output"], theirs["output"]
    diff = (a - b).abs().max().item() if a is not None and b is not None and a.shape == b.shape else math.inf
    loss_rel, loss_only = loss_difference(ours["losses"], theirs["losses"])
    grads = gradient_difference(ours["grads"], theirs["grads"])
    row = {side: {"per_frame_s": spread([s / frames_per_call for s in record[side]["seconds"]]),
                  "seconds": record[side]["seconds"], "warmup_s": record[side]["warmup_s"],
                  "peak_gib": record[side]["peak_gib"]} for side in SIDES}
    row.update(ratio=spread(ratios), ratios=ratios, pairs=len(ratios), frames_per_call=frames_per_call,
               max_abs_diff=diff, loss_max_rel_diff=loss_rel, grad_max_rel_diff=grads,
               losses_one_side_only=loss_only, dtype=dtype, tolerance=tolerance, grad_tolerance=grad_tolerance)
    row["parity"] = "ok" if diff <= tolerance and (grads is None or grads <= grad_tolerance) else "FAIL"
    if dtype != "fp32":
        row["parity"] = "n/a (not fp32)"
    return row


def seconds_text(stats: dict[str, float]) -> str:
    digits = 2 if stats["median"] >= 1 else 4
    return f"{stats['median']:.{digits}f} ({stats['min']:.{digits}f}-{stats['max']:.{digits}f})"


TABLE_HEADER = ("| config | frame | mode | device | dtype | ours s/frame median (min-max) | theirs s/frame median "
                "(min-max) | frames/s ours / theirs | ours/theirs per pair median (min-max) | pairs | "
                "max abs diff (first call) | loss max rel diff | grad max rel diff | parity | "
                "peak GiB ours / theirs |")


def format_row(row: dict) -> str:
    ratio = row["ratio"]
    loss = "-" if row["loss_max_rel_diff"] is None else f"{row['loss_max_rel_diff']:.1e}"
    grads = "-" if row["grad_max_rel_diff"] is None else f"{row['grad_max_rel_diff']:.1e}"
    return (f"| {row['config']} | {row['frame']} | {row['mode']} | {row['device']} | {row['dtype']} | "
            f"{seconds_text(row['ours']['per_frame_s'])} | {seconds_text(row['theirs']['per_frame_s'])} | "
            f"{1 / row['ours']['per_frame_s']['median']:.3g} / {1 / row['theirs']['per_frame_s']['median']:.3g} | "
            f"{ratio['median']:.3f} ({ratio['min']:.3f}-{ratio['max']:.3f}) | {row['pairs']} | "
            f"{row['max_abs_diff']:.2e} | {loss} | {grads} | {row['parity']} | "
            f"{row['ours']['peak_gib']:.2f} / {row['theirs']['peak_gib']:.2f} |")


def format_table(rows: list[dict], settings: str) -> str:
    lines = [settings, "", TABLE_HEADER, "| " + " | ".join(["---"] * (TABLE_HEADER.count("|") - 1)) + " |"]
    lines += [format_row(row) for row in rows]
    notes = [f"* {r['config']}: losses on one side only: {', '.join(r['losses_one_side_only'])}"
             for r in rows if r["losses_one_side_only"]]
    return "\n".join(lines + ([""] + notes if notes else []))


# ---------------------------------------------------------------------------------------------- driver
def use_fresh(args: argparse.Namespace, mode: str) -> bool:
    return args.isolation == "fresh" or (args.isolation == "auto" and mode == "training")


def frames_per_call(spec: dict) -> int:
    return 1 if spec["mode"] == "inference" else spec["n_frames"] - spec["n_frames_G"] + 1


def compare_config(args: argparse.Namespace, config: str, size: tuple[int, int]) -> dict:
    """Write the weights, run both sides alternately, summarize one row."""
    with tempfile.TemporaryDirectory(prefix="compare_reference_") as tmp:
        spec = make_spec(args, config, size, tmp)
        spec_path = os.path.join(tmp, "spec.json")
        Path(spec_path).write_text(json.dumps(spec))
        impl = {"ours": "ours", "theirs": "ours" if args.self_check else "theirs"}
        logs = {side: os.path.join(args.log_dir or tmp, f"{config}_{size[0]}x{size[1]}_{side}.log") for side in SIDES}
        run_writer(impl["theirs"], spec_path, logs["theirs"], args.threads)
        start = {side: (lambda side=side: WorkerSession(impl[side], spec_path, logs[side], args.threads))
                 for side in SIDES}
        record = alternate(start, args.repeats, use_fresh(args, spec["mode"]))
        row = summarize(record, frames_per_call(spec), args.dtype, args.tolerance, args.grad_tolerance)
    row.update(config=config, frame=f"{size[0]}x{size[1]}", mode=spec["mode"], device=args.device,
               isolation="fresh" if use_fresh(args, spec["mode"]) else "workers")
    return row


def settings_line(args: argparse.Namespace) -> str:
    versus = "our code vs our code (--self_check)" if args.self_check else f"ours vs NVIDIA's ({args.nvidia_dir})"
    layout = ", channels_last (both)" if args.channels_last else ""
    return (f"{versus}; {load_bench_common().machine_line(args.device, args.threads)}; device {args.device}, "
            f"allocator {args.allocator} (both), cudnn.benchmark {not args.no_cudnn_benchmark} (both){layout}, "
            f"{args.repeats} alternating pairs after a warm-up per process, flags {args.flags or '-'}")


def default_configs(device: str) -> str:
    """Without --configs: all three on CUDA (minutes in all); on the CPU the 1024x512 inference alone (about 2 min on
    2 cores), since 2048x1024 takes about 6 min and the training step about 13 min there: name them to run them."""
    return ",".join(CONFIGS) if device == "cuda" else "label2city_1024_g1"


def check_args(args: argparse.Namespace) -> list[tuple[str, tuple[int, int]]]:
    """Validate flags (UsageError, one line) and return the (config, size) runs."""
    if not args.self_check:
        check_checkout(args.nvidia_dir)
    configs = [c for c in (args.configs or default_configs(args.device)).split(",") if c]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown or not configs:
        raise UsageError(f"--configs: unknown {', '.join(unknown) or '(none)'}; choose from {', '.join(CONFIGS)}")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is visible here; use --device cpu")
    if args.dtype == "fp16" and args.device != "cuda":
        raise UsageError("--dtype fp16 needs --device cuda; on the CPU use --dtype bf16")
    if args.dtype == "fp16" and any(CONFIGS[c]["mode"] == "training" for c in configs):
        raise UsageError("--dtype fp16: NVIDIA's fp16 training needs apex; compare training with fp32 or bf16")
    if args.repeats < 1 or args.threads < 1:
        raise UsageError("--repeats and --threads must be at least 1")
    sizes = [parse_size(s) for s in args.sizes.split(",") if s]
    runs = [(c, s) for c in configs for s in (sizes or [CONFIGS[c]["size"]])]
    for config, size in runs:
        run_flags(config, size, args.flags)
    return runs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nvidia_dir", default="", help="checkout of github.com/NVIDIA/vid2vid (yours; not copied)")
    parser.add_argument("--self_check", action="store_true", help="our code on both sides (tests the harness)")
    parser.add_argument("--configs", default="", help=f"comma list of {', '.join(CONFIGS)} (default: all three with "
                        "--device cuda, label2city_1024_g1 on the CPU)")
    parser.add_argument("--sizes", default="", help="comma list of WxH frame sizes (default: each config's own)")
    parser.add_argument("--flags", default="", help="extra model options for both sides, e.g. \"--ngf 8 --n_blocks 2\" "
                        "(a single option: --flags=--no_flow)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"], help="autocast dtype")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (and OMP/MKL) of both sides")
    parser.add_argument("--repeats", type=int, default=5, help="timed pairs (one call per side each)")
    parser.add_argument("--allocator", default="keep", choices=["keep", "default"],
                        help="keep: util/allocator.py keep_freed_memory() in both processes; default: in neither")
    parser.add_argument("--isolation", default="auto", choices=["auto", "workers", "fresh"],
                        help="workers: one process per side for all calls; fresh: a new process per timed call; "
                             "auto: workers for inference, fresh for training")
    parser.add_argument("--no_vgg", action="store_true", help="training: no VGG loss on either side")
    parser.add_argument("--no_cudnn_benchmark", action="store_true", help="cudnn.benchmark off on both sides")
    parser.add_argument("--channels_last", action="store_true", help="both sides' networks in channels-last layout")
    parser.add_argument("--seed", type=int, default=1234, help="seed of NVIDIA's weight initialisation")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="fp32 max abs frame difference allowed")
    parser.add_argument("--grad_tolerance", type=float, default=1e-3,
                        help="training, fp32: max gradient difference allowed, relative to a network's largest one")
    parser.add_argument("--log_dir", default="", help="keep the workers' logs here (default: a temp folder)")
    parser.add_argument("--json", default="", help="also write the rows as JSON to PATH")
    parser.add_argument("--worker", default="", choices=["", *SIDES], help=argparse.SUPPRESS)
    parser.add_argument("--spec", default="", help=argparse.SUPPRESS)
    parser.add_argument("--write", action="store_true", help=argparse.SUPPRESS)
    return parser


def json_row(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "output"}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.spec, args.write)
    try:
        runs = check_args(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)
    rows = []
    for config, size in runs:
        try:
            rows.append(compare_config(args, config, size))
        except (WorkerError, UsageError) as error:
            print(f"error: {config} {size[0]}x{size[1]}: {error}", file=sys.stderr)
            return 1
        print(format_row(rows[-1]), flush=True)
    print()
    print(format_table(rows, settings_line(args)))
    if args.json:
        Path(args.json).write_text(json.dumps({"settings": settings_line(args), "rows": [json_row(r) for r in rows]},
                                              indent=1) + "\n")
    return 0 if all(row["parity"] != "FAIL" for row in rows) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception:  # a worker's traceback goes to its log; the parent prints it too
        traceback.print_exc()
        sys.exit(1)
