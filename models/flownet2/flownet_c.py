"""FlowNetC: siamese encoder, correlation cost volume, coarse-to-fine decoder (first stage of FlowNet2)."""
from __future__ import annotations

import torch
from torch import nn

from .ops import correlation
from .submodules import LEAKY_SLOPE, add_decoder_modules, add_encoder_tail, conv_block, decode_flow, encode_tail


class FlowNetC(nn.Module):
    """FlowNetC with the official checkpoint's module names (batch norm off).

    Args:
        correlation_method: ``"banded"`` (default) or ``"shifts"``, see ``ops.correlation``.
    """

    MAX_DISPLACEMENT = 20
    DISPLACEMENT_STRIDE = 2

    def __init__(self, correlation_method: str = "banded") -> None:
        super().__init__()
        self.correlation_method = correlation_method
        self.conv1 = conv_block(3, 64, kernel_size=7, stride=2)
        self.conv2 = conv_block(64, 128, kernel_size=5, stride=2)
        self.conv3 = conv_block(128, 256, kernel_size=5, stride=2)
        self.conv_redir = conv_block(256, 32, kernel_size=1)
        self.corr_activation = nn.LeakyReLU(LEAKY_SLOPE, inplace=True)
        self.conv3_1 = conv_block(32 + 441, 256)
        add_encoder_tail(self)
        add_decoder_modules(self, with_inter_conv=False, upsampler_bias=True)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Flow from the first to the second image.

        Args:
            images: (B, 6, H, W), both (mean-subtracted) images stacked on channels; H, W multiples of 64.

        Returns:
            (B, 2, H/4, W/4) flow in pixels / div_flow at 1/4 resolution.
        """
        # Both images share the first three convolutions; one batched pass is cheaper than two.
        batch = images.shape[0]
        pair = torch.cat((images[:, :3], images[:, 3:]), dim=0)  # (2B, 3, H, W)
        conv1 = self.conv1(pair)
        conv2 = self.conv2(conv1)  # (2B, 128, H/4, W/4)
        conv3 = self.conv3(conv2)  # (2B, 256, H/8, W/8)
        conv2_a, conv3_a, conv3_b = conv2[:batch], conv3[:batch], conv3[batch:]

        cost = correlation(conv3_a, conv3_b, self.MAX_DISPLACEMENT, self.DISPLACEMENT_STRIDE,
                           method=self.correlation_method)  # (B, 441, H/8, W/8)
        cost = self.corr_activation(cost)
        conv3_1 = self.conv3_1(torch.cat((self.conv_redir(conv3_a), cost), dim=1))
        skips = {**encode_tail(self, conv3_1), 3: conv3_1, 2: conv2_a}
        return decode_flow(self, skips, with_inter_conv=False)
