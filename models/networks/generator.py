"""Scale-0 sequential generator (the reference's ``CompositeGenerator``).

Given the label maps of the last n_frames_G frames and the previous n_frames_G-1 output frames, it predicts a
raw image, a flow to the previous frame and an occlusion weight, and blends the raw image with the warped
previous frame. With ``--fg`` a separate label-only encoder-decoder paints the foreground classes.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..checkpoint import CheckpointHints
from .blocks import NormLayer, downsample_convs, input_conv7, output_conv7, resnet_blocks, upsample_convs
from .warp import warp

FLOW_SCALE = 20.0  # the flow head predicts flow / 20 px at scale 0
FLOW_HEADS = ("model_res_flow", "model_up_flow", "model_final_flow", "model_final_w")
INPUT_LAYERS = {
    "model_down_seg.1.": "--label_nc / --input_nc / --use_instance / --n_frames_G (label input channels)",
    "indv_down.1.": "--label_nc / --input_nc / --use_instance / --n_frames_G (label input channels)",
    "model_down_img.1.": "--n_frames_G / --output_nc (previous-frame input channels)",
}
BRANCHES = (("--fg", "foreground branch", ("indv_",)), ("--no_flow", "flow heads", FLOW_HEADS))


def compose_outputs(
    raw_image: torch.Tensor,
    prev_images: torch.Tensor,
    flow: torch.Tensor | None,
    weight: torch.Tensor | None,
    fg_image: torch.Tensor | None,
    fg_mask: torch.Tensor | None,
    use_raw_only: bool,
) -> dict[str, torch.Tensor | None]:
    """Blend raw image, warped previous frame and foreground image (shared by all scales).

    raw_image (B,3,H,W); prev_images (B,3*(tG-1),H,W) oldest first; flow (B,2,H,W); weight (B,1,H,W);
    fg_image (B,3,H,W); fg_mask (B,1,H,W) in [0,1]. Returns ``image`` and ``raw_image`` (both (B,3,H,W)).
    """
    if use_raw_only or flow is None:
        image = raw_image
    else:
        warped = warp(prev_images[:, -3:], flow)  # last previous frame, (B, 3, H, W)
        weight_rgb = weight.expand_as(raw_image)
        image = raw_image * weight_rgb + warped * (1 - weight_rgb)
    if fg_image is not None:
        if fg_mask is None:
            raise ValueError("the --fg generator needs the foreground mask of the current frame")
        mask = fg_mask.expand_as(raw_image)
        image = fg_image * mask + image * (1 - mask)
        raw_image = fg_image * mask + raw_image * (1 - mask)
    return {"image": image, "raw_image": raw_image}


class CompositeGenerator(nn.Module):
    """Coarsest-scale vid2vid generator.

    Args:
        input_nc: label channels of the whole window, n_frames_G * (C + use_instance).
        output_nc: image channels (3).
        prev_output_nc: channels of the previous frames, (n_frames_G - 1) * output_nc.
        ngf: width of the first layer; the bottleneck has ngf * 2**n_downsampling channels.
        n_downsampling: number of stride-2 convolutions (``--n_downsample_G``).
        n_blocks: ResnetBlocks (half before the sum of the two encoders, half after).
        use_fg: build the foreground branch (``--fg``).
        no_flow: drop the flow/weight heads (``--no_flow``).
    """

    checkpoint_hints = CheckpointHints(
        INPUT_LAYERS, BRANCHES, width="--ngf / --n_downsample_G",
        depth="--n_downsample_G / --n_blocks / --ngf / --fg / --no_flow",
    )  # fmt: skip

    def __init__(
        self,
        input_nc: int,
        output_nc: int,
        prev_output_nc: int,
        ngf: int,
        n_downsampling: int,
        n_blocks: int,
        norm_layer: NormLayer,
        use_fg: bool = False,
        no_flow: bool = False,
    ) -> None:
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"--n_blocks must be >= 0, got {n_blocks}")
        self.use_fg = use_fg
        self.no_flow = no_flow
        bottleneck = ngf * 2**n_downsampling

        if use_fg:
            ngf_fg = ngf // 2 if n_downsampling > 2 else ngf
            self.indv_down = nn.Sequential(
                *input_conv7(input_nc, ngf_fg, norm_layer), *downsample_convs(ngf_fg, n_downsampling, norm_layer)
            )
            self.indv_res = nn.Sequential(*resnet_blocks(ngf_fg * 2**n_downsampling, n_blocks, norm_layer))
            self.indv_up = nn.Sequential(*upsample_convs(ngf_fg, n_downsampling, norm_layer))
            self.indv_final = nn.Sequential(*output_conv7(ngf_fg, output_nc, nn.Tanh()))

        n_blocks_before = n_blocks - n_blocks // 2
        self.model_down_seg = nn.Sequential(
            *input_conv7(input_nc, ngf, norm_layer),
            *downsample_convs(ngf, n_downsampling, norm_layer),
            *resnet_blocks(bottleneck, n_blocks_before, norm_layer),
        )
        # same architecture after the first conv, own weights
        self.model_down_img = nn.Sequential(
            *input_conv7(prev_output_nc, ngf, norm_layer), *copy.deepcopy(list(self.model_down_seg)[4:])
        )
        self.model_res_img = nn.Sequential(*resnet_blocks(bottleneck, n_blocks // 2, norm_layer))
        self.model_up_img = nn.Sequential(*upsample_convs(ngf, n_downsampling, norm_layer))
        self.model_final_img = nn.Sequential(*output_conv7(ngf, output_nc, nn.Tanh()))

        if not no_flow:
            self.model_res_flow = copy.deepcopy(self.model_res_img)
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
        """One frame at the coarsest scale.

        Args:
            label: (B, input_nc, h, w) labels of frames t-tG+1..t, oldest first.
            prev_images: (B, prev_output_nc, h, w) previous outputs, oldest first.
            fg_mask: (B, 1, h, w) foreground mask of frame t (needed with ``use_fg``).
            coarse_features: ignored at scale 0 (accepted so all scales share one call signature).
            use_raw_only: output the raw image without blending in the warped previous frame.
        Returns:
            dict with ``image`` (B,3,h,w), ``raw_image``, ``flow`` (B,2,h,w) in pixels or None, ``weight``
            (B,1,h,w) or None, ``fg_image`` or None, and the features passed to the next finer scale
            ``image_feat`` (B,ngf,h,w), ``flow_feat``, ``fg_feat``.
        """
        del coarse_features
        encoding = self.model_down_seg(label) + self.model_down_img(prev_images)
        image_feat = self.model_up_img(self.model_res_img(encoding))
        raw_image = self.model_final_img(image_feat)

        flow = weight = flow_feat = None
        if not self.no_flow:
            flow_feat = self.model_up_flow(self.model_res_flow(encoding))
            flow = self.model_final_flow(flow_feat) * FLOW_SCALE
            weight = self.model_final_w(flow_feat)

        fg_image = fg_feat = None
        if self.use_fg:
            fg_feat = self.indv_up(self.indv_res(self.indv_down(label)))
            fg_image = self.indv_final(fg_feat)

        out = compose_outputs(raw_image, prev_images, flow, weight, fg_image, fg_mask, use_raw_only)
        out.update(
            flow=flow, weight=weight, fg_image=fg_image, image_feat=image_feat, flow_feat=flow_feat, fg_feat=fg_feat
        )
        return out
