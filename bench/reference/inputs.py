"""What both sides get identically: synthetic inputs (labels, instance maps, real frames, a preset history), the
given flow of the training step, the weight files in the reference checkpoint format, the shared random VGG19, and
the autocast context. Torch and torchvision only: NVIDIA's process uses it too."""
from __future__ import annotations

import contextlib
import math
from pathlib import Path

import torch
import torch.nn.functional as F

from bench import common

from .spec import run_name

BN_BIAS_STD = 0.1  # as the reference data: BatchNorm biases re-drawn so that a reimplementation dropping them fails
HISTORY_SEED, DATA_SEED, FLOW_SEED = 1, 2, 3


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


def weights_path(spec: dict, label: str) -> Path:
    """``<checkpoints_dir>/<name>/latest_net_<label>.pth``, the reference's file of network ``label`` (the name
    `options.run_folder.RunFolder.network_file` gives our side). Built here, not with RunFolder: NVIDIA's process
    reads these files too, and there `options` is their package (tests/bench: no module of that name is loaded)."""
    return Path(spec["checkpoints_dir"]) / run_name(spec) / f"latest_net_{label}.pth"


def save_reference_format(networks: dict[str, torch.nn.Module], spec: dict) -> None:
    """The bare state_dict of each network, CPU tensors, in its `weights_path`."""
    for label, network in networks.items():
        path = weights_path(spec, label)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({k: v.detach().cpu() for k, v in network.state_dict().items()}, path)


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
    """The spec's autocast (fp32: none) around each side's forward work."""
    return common.autocast(spec["device"], spec["dtype"])
