"""Building blocks shared by every generator and discriminator: norm selection, ResnetBlock,
down/up-sampling stacks and the reference weight initialisation.

Layer order inside every ``nn.Sequential`` here is part of the checkpoint format (state_dict keys are
``<sequential>.<index>.<param>``), so do not insert or reorder layers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import nn

from options.choices import NORM_TYPES

NormLayer = Callable[[int], nn.Module]


def get_norm_layer(norm_type: str = "batch") -> NormLayer:
    """Return a constructor ``norm(num_channels)`` for ``--norm``.

    ``batch``: BatchNorm2d with affine parameters (the vid2vid default).
    ``instance``: InstanceNorm2d(affine=False, track_running_stats=True), as the pix2pixHD single-frame
    generators use it (the running stats only exist for checkpoint compatibility; the nets run in train mode).
    """
    if norm_type == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True)
    if norm_type == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=True)
    raise ValueError(f"--norm {norm_type!r} is not supported; use one of {', '.join(NORM_TYPES)}")


class ResnetBlock(nn.Module):
    """``x + F(x)`` with F = [pad1, conv3, norm, ReLU, pad1, conv3, norm] (keys ``conv_block.{1,2,5,6}``).

    Shape: (B, dim, H, W) -> (B, dim, H, W).
    """

    def __init__(self, dim: int, norm_layer: NormLayer, padding_type: str = "reflect") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for second in (False, True):
            conv_padding = 0
            if padding_type == "reflect":
                layers.append(nn.ReflectionPad2d(1))
            elif padding_type == "replicate":
                layers.append(nn.ReplicationPad2d(1))
            elif padding_type == "zero":
                conv_padding = 1
            else:
                raise ValueError(f"padding type {padding_type!r} is not one of reflect|replicate|zero")
            layers += [nn.Conv2d(dim, dim, kernel_size=3, padding=conv_padding), norm_layer(dim)]
            if not second:
                layers.append(nn.ReLU(True))
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


def input_conv7(in_channels: int, out_channels: int, norm_layer: NormLayer) -> list[nn.Module]:
    """[ReflectionPad(3), Conv7, norm, ReLU]: the first stage of every encoder."""
    return [
        nn.ReflectionPad2d(3),
        nn.Conv2d(in_channels, out_channels, kernel_size=7, padding=0),
        norm_layer(out_channels),
        nn.ReLU(True),
    ]


def downsample_convs(
    ngf: int, n_downsampling: int, norm_layer: NormLayer, max_channels: int | None = None
) -> list[nn.Module]:
    """n_downsampling x [Conv3 stride 2 (channels double, optionally capped), norm, ReLU]."""
    layers: list[nn.Module] = []
    for i in range(n_downsampling):
        c_in, c_out = ngf * 2**i, ngf * 2 ** (i + 1)
        if max_channels is not None:
            c_in, c_out = min(c_in, max_channels), min(c_out, max_channels)
        layers += [nn.Conv2d(c_in, c_out, kernel_size=3, stride=2, padding=1), norm_layer(c_out), nn.ReLU(True)]
    return layers


def upsample_convs(
    ngf: int, n_downsampling: int, norm_layer: NormLayer, max_channels: int | None = None
) -> list[nn.Module]:
    """n_downsampling x [ConvTranspose3 stride 2 (channels halve), norm, ReLU]; inverse of `downsample_convs`."""
    layers: list[nn.Module] = []
    for i in range(n_downsampling):
        mult = 2 ** (n_downsampling - i)
        c_in, c_out = ngf * mult, ngf * mult // 2
        if max_channels is not None:
            c_in, c_out = min(c_in, max_channels), min(c_out, max_channels)
        layers += [
            nn.ConvTranspose2d(c_in, c_out, kernel_size=3, stride=2, padding=1, output_padding=1),
            norm_layer(c_out),
            nn.ReLU(True),
        ]
    return layers


def output_conv7(in_channels: int, out_channels: int, activation: nn.Module | None) -> list[nn.Module]:
    """[ReflectionPad(3), Conv7, activation?]: the output head of every generator branch."""
    layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, out_channels, kernel_size=7, padding=0)]
    if activation is not None:
        layers.append(activation)
    return layers


def resnet_blocks(dim: int, n_blocks: int, norm_layer: NormLayer) -> list[nn.Module]:
    return [ResnetBlock(dim, norm_layer) for _ in range(n_blocks)]


@torch.no_grad()
def init_weights(module: nn.Module) -> None:
    """Reference initialisation: conv / conv-transpose weights N(0, 0.02), BatchNorm weight N(1, 0.02), bias 0.

    Conv biases keep PyTorch's default init, as in the reference. Use as ``net.apply(init_weights)``.
    """
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        module.weight.normal_(0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        module.weight.normal_(1.0, 0.02)
        module.bias.zero_()
