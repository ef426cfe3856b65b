"""Finer-scale sequential generator (the reference's ``CompositeLocalGenerator``).

Scale s >= 1 runs at 2**s times the resolution of scale 0 with ``ngf / 2**s`` channels. It encodes its own
inputs with one stride-2 convolution, adds the features of the next coarser scale and decodes. Only features
travel from coarse to fine; each scale predicts its own image, flow and weight.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..checkpoint import CheckpointHints
from .blocks import NormLayer, downsample_convs, input_conv7, output_conv7, resnet_blocks, upsample_convs
from .generator import BRANCHES, FLOW_SCALE, INPUT_LAYERS, compose_outputs


class CompositeLocalGenerator(nn.Module):
    """Generator of spatial scale ``scale`` >= 1 (see `CompositeGenerator` for the argument meanings)."""

    checkpoint_hints = CheckpointHints(
        INPUT_LAYERS, BRANCHES, width="--ngf / --n_downsample_G / --n_scales_spatial (finer scales use ngf/2^s)",
        depth="--n_blocks_local / --ngf / --fg / --no_flow",
    )  # fmt: skip

    def __init__(
        self,
        input_nc: int,
        output_nc: int,
        prev_output_nc: int,
        ngf: int,
        n_downsampling: int,
        n_blocks_local: int,
        norm_layer: NormLayer,
        use_fg: bool = False,
        no_flow: bool = False,
        scale: int = 1,
    ) -> None:
        super().__init__()
        if scale < 1:
            raise ValueError(f"CompositeLocalGenerator is for spatial scales >= 1, got scale {scale}")
        self.use_fg = use_fg
        self.no_flow = no_flow
        self.scale = scale
        self.flow_multiplier = FLOW_SCALE * 2**scale

        if use_fg:
            ngf_fg = ngf // 2 if n_downsampling > 2 else ngf
            self.indv_down = nn.Sequential(
                *input_conv7(input_nc, ngf_fg, norm_layer), *downsample_convs(ngf_fg, 1, norm_layer)
            )
            self.indv_up = nn.Sequential(
                *resnet_blocks(ngf_fg * 2, n_blocks_local, norm_layer), *upsample_convs(ngf_fg, 1, norm_layer)
            )
            self.indv_final = nn.Sequential(*output_conv7(ngf_fg, output_nc, nn.Tanh()))

        self.model_down_seg = nn.Sequential(
            *input_conv7(input_nc, ngf, norm_layer), *downsample_convs(ngf, 1, norm_layer)
        )
        self.model_down_img = nn.Sequential(
            *input_conv7(prev_output_nc, ngf, norm_layer), *downsample_convs(ngf, 1, norm_layer)
        )
        self.model_up_img = nn.Sequential(
            *resnet_blocks(ngf * 2, n_blocks_local, norm_layer), *upsample_convs(ngf, 1, norm_layer)
        )
        self.model_final_img = nn.Sequential(*output_conv7(ngf, output_nc, nn.Tanh()))
        if not no_flow:
            self.model_up_flow = copy.deepcopy(self.model_up_img)
            self.model_final_flow = nn.Sequential(*output_conv7(ngf, 2, None))
            self.model_final_w = nn.Sequential(*output_conv7(ngf, 1, nn.Sigmoid()))

    def forward(
        self,
        label: torch.Tensor,
        prev_images: torch.Tensor,
        fg_mask: torch.Tensor | None = None,
        coarse_features: dict[str, torch.Tensor | None] | None = None,
        use_raw_only: bool = False,
    ) -> dict[str, torch.Tensor | None]:
        """One frame at this scale; inputs as in `CompositeGenerator.forward`.

        ``coarse_features`` holds the coarser scale's ``image_feat`` (B, 2*ngf, h/2, w/2), ``flow_feat`` and
        ``fg_feat``; flow comes out in pixels of this scale (head output x 20 x 2**scale).
        """
        if coarse_features is None or coarse_features.get("image_feat") is None:
            raise ValueError(f"the scale-{self.scale} generator needs the coarser scale's features")
        encoding = self.model_down_seg(label) + self.model_down_img(prev_images)
        image_feat = self.model_up_img(encoding + coarse_features["image_feat"])
        raw_image = self.model_final_img(image_feat)

        flow = weight = flow_feat = None
        if not self.no_flow:
            flow_feat = self.model_up_flow(encoding + coarse_features["flow_feat"])
            flow = self.model_final_flow(flow_feat) * self.flow_multiplier
            weight = self.model_final_w(flow_feat)

        fg_image = fg_feat = None
        if self.use_fg:
            fg_feat = self.indv_up(self.indv_down(label) + coarse_features["fg_feat"])
            fg_image = self.indv_final(fg_feat)

        out = compose_outputs(raw_image, prev_images, flow, weight, fg_image, fg_mask, use_raw_only)
        out.update(
            flow=flow, weight=weight, fg_image=fg_image, image_feat=image_feat, flow_feat=flow_feat, fg_feat=fg_feat
        )
        return out
