"""VGG19 perceptual loss (relu1_1 .. relu5_1), ImageNet weights from the local torch hub cache."""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from ..checkpoint import check_state_dict, read_state_dict

VGG_LAYER_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)
VGG_SLICE_BOUNDS = (0, 2, 7, 12, 21, 30)  # torchvision vgg19.features indices ending at relu1_1..relu5_1
MAX_VGG_WIDTH = 1024


def vgg19_weights_path() -> str:
    weights = torchvision.models.VGG19_Weights.IMAGENET1K_V1
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(weights.url))


class VGG19Features(nn.Module):
    """Frozen VGG19 returning the five relu activations. Input (B, 3, H, W) as given (no ImageNet
    normalisation, as in the reference, which feeds [-1, 1] images)."""

    def __init__(self, weights_path: str | None = None) -> None:
        super().__init__()
        path = weights_path or vgg19_weights_path()
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"VGG19 ImageNet weights not found at {path}; download them once with "
                "`python -c \"import torchvision; torchvision.models.vgg19(weights='IMAGENET1K_V1')\"` "
                "(or copy vgg19-dcbb9e9d.pth there), or pass --no_vgg"
            )
        vgg = torchvision.models.vgg19(weights=None)
        vgg.load_state_dict(check_state_dict(vgg, read_state_dict(path, "VGG19 weights", "pass --no_vgg"), path))
        features = vgg.features
        self.slices = nn.ModuleList(
            nn.Sequential(*[features[k] for k in range(start, end)])
            for start, end in zip(VGG_SLICE_BOUNDS[:-1], VGG_SLICE_BOUNDS[1:], strict=True)
        )
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for block in self.slices:
            x = block(x)
            outputs.append(x)
        return outputs


class VGGLoss(nn.Module):
    """sum_k w_k * L1(vgg_k(x), vgg_k(y).detach()); images are halved (2x2 average) while wider than 1024."""

    def __init__(self, weights_path: str | None = None) -> None:
        super().__init__()
        self.vgg = VGG19Features(weights_path)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        while x.size(3) > MAX_VGG_WIDTH:
            x, y = F.avg_pool2d(x, 2, stride=2), F.avg_pool2d(y, 2, stride=2)
        loss = x.new_zeros(())
        for weight, fx, fy in zip(VGG_LAYER_WEIGHTS, self.vgg(x), self.vgg(y), strict=True):
            loss = loss + weight * F.l1_loss(fx, fy.detach())
        return loss
