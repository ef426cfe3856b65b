"""Layer builders shared by the FlowNet sub-networks.

The returned containers are ``nn.Sequential`` so that parameter names match the official checkpoint
(``conv1.0.weight`` for the convolution inside ``conv1``). FlowNet2 is always built without batch norm, so every
convolution carries a bias.
"""
from __future__ import annotations

import torch
from torch import nn

LEAKY_SLOPE = 0.1


def conv_block(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1) -> nn.Sequential:
    """Convolution with 'same'-style padding followed by LeakyReLU(0.1)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=(kernel_size - 1) // 2),
        nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
    )


def linear_conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 convolution without activation (FlowNetSD / Fusion 'inter_conv'), wrapped to keep the '.0.' key."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride=1, padding=1))


def deconv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """x2 transposed convolution (kernel 4, stride 2, padding 1) followed by LeakyReLU(0.1)."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1),
        nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
    )


def flow_head(in_channels: int) -> nn.Conv2d:
    """3x3 convolution predicting a 2-channel flow."""
    return nn.Conv2d(in_channels, 2, 3, stride=1, padding=1)


def flow_upsampler(bias: bool) -> nn.ConvTranspose2d:
    """Learned x2 upsampling of a 2-channel flow (FlowNetS's checkpoint has no bias here, the others do)."""
    return nn.ConvTranspose2d(2, 2, 4, stride=2, padding=1, bias=bias)


def decode_flow(net: nn.Module, skips: dict[int, torch.Tensor], with_inter_conv: bool) -> torch.Tensor:
    """Coarse-to-fine decoder shared by FlowNetC, FlowNetS and FlowNetSD (levels 6 -> 2).

    At each level l (6 = coarsest) a flow is predicted, upsampled x2 by ``upsampled_flow{l}_to_{l-1}`` and
    concatenated with the deconvolved features and the encoder skip of level l-1. For FlowNetSD
    (``with_inter_conv``) the flows of levels 5..2 are predicted from an extra linear 3x3 conv of the
    concatenation. The modules live directly on ``net`` (created by ``add_decoder_modules``) so that checkpoint
    keys stay flat, e.g. ``flownetc.deconv5.0.weight``.

    Args:
        net: module owning ``deconv{5..2}``, ``predict_flow{6..2}``, ``upsampled_flow{l}_to_{l-1}`` and, with
            ``with_inter_conv``, ``inter_conv{5..2}``.
        skips: encoder features by level: 6 -> (B, 1024, H/64, W/64), 5 -> (B, 512, H/32, W/32),
            4 -> (B, 512, H/16, W/16), 3 -> (B, 256, H/8, W/8), 2 -> (B, 128, H/4, W/4).
        with_inter_conv: FlowNetSD variant.

    Returns:
        (B, 2, H/4, W/4) flow of level 2, in the network's training units (pixels / div_flow).
    """
    features = skips[6]
    flow = net.predict_flow6(features)
    for level in (5, 4, 3, 2):
        flow_up = getattr(net, f"upsampled_flow{level + 1}_to_{level}")(flow)
        deconv = getattr(net, f"deconv{level}")(features)
        features = torch.cat((skips[level], deconv, flow_up), dim=1)
        head_input = getattr(net, f"inter_conv{level}")(features) if with_inter_conv else features
        flow = getattr(net, f"predict_flow{level}")(head_input)
    return flow


# Encoder feature channels at levels 5, 4, 3, 2 (identical for FlowNetC, FlowNetS and FlowNetSD).
SKIP_CHANNELS = {5: 512, 4: 512, 3: 256, 2: 128}


def add_encoder_tail(net: nn.Module) -> None:
    """Create ``conv4 .. conv6_1``, the part of the encoder FlowNetC, FlowNetS and FlowNetSD share (256 -> 1024
    channels, 1/8 -> 1/64 resolution), on ``net`` in checkpoint order."""
    net.conv4 = conv_block(256, 512, stride=2)
    net.conv4_1 = conv_block(512, 512)
    net.conv5 = conv_block(512, 512, stride=2)
    net.conv5_1 = conv_block(512, 512)
    net.conv6 = conv_block(512, 1024, stride=2)
    net.conv6_1 = conv_block(1024, 1024)


def encode_tail(net: nn.Module, conv3: torch.Tensor) -> dict[int, torch.Tensor]:
    """Run the shared encoder tail on the (B, 256, H/8, W/8) features; returns the skips of levels 4, 5, 6."""
    conv4 = net.conv4_1(net.conv4(conv3))
    conv5 = net.conv5_1(net.conv5(conv4))
    conv6 = net.conv6_1(net.conv6(conv5))
    return {6: conv6, 5: conv5, 4: conv4}


def add_decoder_modules(net: nn.Module, with_inter_conv: bool, upsampler_bias: bool) -> None:
    """Create the decoder modules of a FlowNet{C,S,SD} on ``net`` in checkpoint order.

    Args:
        net: the network to add ``deconv*``, ``inter_conv*``, ``predict_flow*``, ``upsampled_flow*`` to.
        with_inter_conv: FlowNetSD variant (flow heads read a 3x3 linear conv of the concatenation).
        upsampler_bias: whether the flow upsamplers have a bias (False only for FlowNetS).
    """
    deconv_out = {5: 512, 4: 256, 3: 128, 2: 64}
    in_channels = 1024
    concat_channels = {}
    for level in (5, 4, 3, 2):
        net.add_module(f"deconv{level}", deconv_block(in_channels, deconv_out[level]))
        in_channels = SKIP_CHANNELS[level] + deconv_out[level] + 2
        concat_channels[level] = in_channels
    if with_inter_conv:
        for level in (5, 4, 3, 2):
            net.add_module(f"inter_conv{level}", linear_conv_block(concat_channels[level], deconv_out[level]))
    net.add_module("predict_flow6", flow_head(1024))
    for level in (5, 4, 3, 2):
        head_in = deconv_out[level] if with_inter_conv else concat_channels[level]
        net.add_module(f"predict_flow{level}", flow_head(head_in))
    for level in (6, 5, 4, 3):
        net.add_module(f"upsampled_flow{level}_to_{level - 1}", flow_upsampler(upsampler_bias))
