"""FlowNetFusion: small full-resolution network merging the FlowNetSD and FlowNetS2 flows."""
from __future__ import annotations

import torch
from torch import nn

from .submodules import conv_block, deconv_block, flow_head, flow_upsampler, linear_conv_block


class FlowNetFusion(nn.Module):
    """FlowNetFusion with the official checkpoint's module names (batch norm off).

    Input (11 channels): img0 (3), FlowNetSD flow (2), FlowNetS2 flow (2), their norms (1 + 1) and the
    brightness errors of both warps (1 + 1).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv0 = conv_block(11, 64)
        self.conv1 = conv_block(64, 64, stride=2)
        self.conv1_1 = conv_block(64, 128)
        self.conv2 = conv_block(128, 128, stride=2)
        self.conv2_1 = conv_block(128, 128)
        self.deconv1 = deconv_block(128, 32)
        self.deconv0 = deconv_block(128 + 32 + 2, 16)
        self.inter_conv1 = linear_conv_block(128 + 32 + 2, 32)
        self.inter_conv0 = linear_conv_block(64 + 16 + 2, 16)
        self.predict_flow2 = flow_head(128)
        self.predict_flow1 = flow_head(32)
        self.predict_flow0 = flow_head(16)
        self.upsampled_flow2_to_1 = flow_upsampler(bias=True)
        self.upsampled_flow1_to_0 = flow_upsampler(bias=True)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, 11, H, W) -> (B, 2, H, W) fused flow in pixels; H, W multiples of 4."""
        conv0 = self.conv0(inputs)  # (B, 64, H, W)
        conv1 = self.conv1_1(self.conv1(conv0))  # (B, 128, H/2, W/2)
        conv2 = self.conv2_1(self.conv2(conv1))  # (B, 128, H/4, W/4)

        flow2 = self.predict_flow2(conv2)
        concat1 = torch.cat((conv1, self.deconv1(conv2), self.upsampled_flow2_to_1(flow2)), dim=1)
        flow1 = self.predict_flow1(self.inter_conv1(concat1))
        concat0 = torch.cat((conv0, self.deconv0(concat1), self.upsampled_flow1_to_0(flow1)), dim=1)
        return self.predict_flow0(self.inter_conv0(concat0))
