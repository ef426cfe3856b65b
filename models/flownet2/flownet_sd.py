"""FlowNetSD: FlowNetS variant for small displacements (3x3 kernels, full-resolution first conv)."""
from __future__ import annotations

import torch
from torch import nn

from .submodules import add_decoder_modules, add_encoder_tail, conv_block, decode_flow, encode_tail


class FlowNetSD(nn.Module):
    """FlowNetSD with the official checkpoint's module names (batch norm off)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv0 = conv_block(6, 64)
        self.conv1 = conv_block(64, 64, stride=2)
        self.conv1_1 = conv_block(64, 128)
        self.conv2 = conv_block(128, 128, stride=2)
        self.conv2_1 = conv_block(128, 128)
        self.conv3 = conv_block(128, 256, stride=2)
        self.conv3_1 = conv_block(256, 256)
        add_encoder_tail(self)
        add_decoder_modules(self, with_inter_conv=True, upsampler_bias=True)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 6, H, W) image pair -> (B, 2, H/4, W/4) flow in the network's units; H, W multiples of 64."""
        conv1 = self.conv1_1(self.conv1(self.conv0(images)))
        conv2 = self.conv2_1(self.conv2(conv1))
        conv3 = self.conv3_1(self.conv3(conv2))
        skips = {**encode_tail(self, conv3), 3: conv3, 2: conv2}
        return decode_flow(self, skips, with_inter_conv=True)
