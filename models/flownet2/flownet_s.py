"""FlowNetS: plain encoder-decoder on stacked inputs (second and third stages of FlowNet2)."""
from __future__ import annotations

import torch
from torch import nn

from .submodules import add_decoder_modules, add_encoder_tail, conv_block, decode_flow, encode_tail


class FlowNetS(nn.Module):
    """FlowNetS with the official checkpoint's module names (batch norm off, flow upsamplers without bias).

    Args:
        input_channels: 12 inside FlowNet2 (img0, img1, warped img1, flow, brightness error).
    """

    def __init__(self, input_channels: int = 12) -> None:
        super().__init__()
        self.conv1 = conv_block(input_channels, 64, kernel_size=7, stride=2)
        self.conv2 = conv_block(64, 128, kernel_size=5, stride=2)
        self.conv3 = conv_block(128, 256, kernel_size=5, stride=2)
        self.conv3_1 = conv_block(256, 256)
        add_encoder_tail(self)
        add_decoder_modules(self, with_inter_conv=False, upsampler_bias=False)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, input_channels, H, W) -> (B, 2, H/4, W/4) flow in pixels / div_flow; H, W multiples of 64."""
        conv2 = self.conv2(self.conv1(inputs))
        conv3 = self.conv3_1(self.conv3(conv2))
        skips = {**encode_tail(self, conv3), 3: conv3, 2: conv2}
        return decode_flow(self, skips, with_inter_conv=False)
