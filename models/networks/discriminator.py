"""Multi-scale PatchGAN discriminator (image, temporal and face D all use it)."""

from __future__ import annotations

import torch
from torch import nn

from ..checkpoint import CheckpointHints
from .blocks import NormLayer

MAX_NDF_PER_SCALE = 64  # widest first layer of any sub-discriminator
MAX_CHANNELS = 512
KERNEL = 4
PADDING = 2  # ceil((KERNEL - 1) / 2)


def patch_discriminator_stages(input_nc: int, ndf: int, n_layers: int, norm_layer: NormLayer) -> list[list[nn.Module]]:
    """The n_layers + 2 stages of one PatchGAN: conv s2 + LReLU; (n_layers-1) x [conv s2, norm, LReLU];
    conv s1, norm, LReLU; conv s1 -> 1 channel (no sigmoid)."""
    stages = [[nn.Conv2d(input_nc, ndf, kernel_size=KERNEL, stride=2, padding=PADDING), nn.LeakyReLU(0.2, True)]]
    nf = ndf
    for _ in range(1, n_layers):
        nf_prev, nf = nf, min(nf * 2, MAX_CHANNELS)
        stages.append(
            [
                nn.Conv2d(nf_prev, nf, kernel_size=KERNEL, stride=2, padding=PADDING),
                norm_layer(nf),
                nn.LeakyReLU(0.2, True),
            ]
        )
    nf_prev, nf = nf, min(nf * 2, MAX_CHANNELS)
    stages.append(
        [nn.Conv2d(nf_prev, nf, kernel_size=KERNEL, stride=1, padding=PADDING), norm_layer(nf), nn.LeakyReLU(0.2, True)]
    )
    stages.append([nn.Conv2d(nf, 1, kernel_size=KERNEL, stride=1, padding=PADDING)])
    return stages


class MultiscaleDiscriminator(nn.Module):
    """``num_D`` PatchGANs on an average-pooled pyramid of the input.

    Checkpoint layout: with feature matching (``get_intermediate_features``) each stage is its own
    ``scale{i}_layer{j}`` Sequential; without it each sub-net is one flat ``layer{i}`` Sequential.
    Sub-net ``num_D-1`` (narrowest, width ndf) sees the full-resolution input and sub-net 0 (width
    min(64, ndf * 2**(num_D-1))) the coarsest, as in the reference.

    forward: (B, input_nc, H, W) -> list over scales (full resolution first) of lists of stage outputs
    (all n_layers+2 stages with feature matching, else only the final (B, 1, h, w) patch prediction).
    """

    checkpoint_hints = CheckpointHints(
        width="--ndf / --num_D / the input channels (--label_nc / --input_nc / --use_instance / --output_nc)",
        depth="--num_D / --n_layers_D / --no_ganFeat",
    )

    def __init__(
        self,
        input_nc: int,
        ndf: int,
        n_layers: int,
        norm_layer: NormLayer,
        num_D: int,
        get_intermediate_features: bool,
    ) -> None:
        super().__init__()
        if num_D < 1:
            raise ValueError(f"--num_D must be >= 1, got {num_D}")
        self.num_D = num_D
        self.n_layers = n_layers
        self.get_intermediate_features = get_intermediate_features
        for i in range(num_D):
            width = min(MAX_NDF_PER_SCALE, ndf * 2 ** (num_D - 1 - i))
            stages = patch_discriminator_stages(input_nc, width, n_layers, norm_layer)
            if get_intermediate_features:
                for j, stage in enumerate(stages):
                    self.add_module(f"scale{i}_layer{j}", nn.Sequential(*stage))
            else:
                self.add_module(f"layer{i}", nn.Sequential(*[m for stage in stages for m in stage]))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=[1, 1], count_include_pad=False)

    def subnet_stages(self, index: int) -> list[nn.Module]:
        if self.get_intermediate_features:
            return [getattr(self, f"scale{index}_layer{j}") for j in range(self.n_layers + 2)]
        return [getattr(self, f"layer{index}")]

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        results: list[list[torch.Tensor]] = []
        for i in range(self.num_D):
            outputs = []
            h = x
            for stage in self.subnet_stages(self.num_D - 1 - i):
                h = stage(h)
                outputs.append(h)
            results.append(outputs)
            if i != self.num_D - 1:
                x = self.downsample(x)
        return results
