"""FlowNet2: FlowNetC -> FlowNetS -> FlowNetS stack plus FlowNetSD, merged by FlowNetFusion.

Module names follow the official ``FlowNet2_checkpoint.pth.tar`` (``flownetc``, ``flownets_1``, ``flownets_2``,
``flownets_d``, ``flownetfusion``) so it loads strictly. Behaviour follows the upstream forward pass as vid2vid
uses it (rgb_max 1, div_flow 20, eval mode); see tests/data/reference/REFERENCE_README.md §6.5.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .flownet_c import FlowNetC
from .flownet_fusion import FlowNetFusion
from .flownet_s import FlowNetS
from .flownet_sd import FlowNetSD
from .ops import channelnorm, resample2d


class FlowNet2(nn.Module):
    """Full FlowNet2 (162.5 M parameters).

    Args:
        rgb_max: divisor applied after mean subtraction (vid2vid: 1, with frames in [-1, 1]).
        div_flow: scale between the sub-networks' outputs and pixels (20).
        correlation_method: implementation of FlowNetC's correlation, see ``ops.correlation``.
    """

    def __init__(self, rgb_max: float = 1.0, div_flow: float = 20.0, correlation_method: str = "banded") -> None:
        super().__init__()
        self.rgb_max = rgb_max
        self.div_flow = div_flow
        self.flownetc = FlowNetC(correlation_method)
        self.flownets_1 = FlowNetS()
        self.flownets_2 = FlowNetS()
        self.flownets_d = FlowNetSD()
        self.flownetfusion = FlowNetFusion()

    def forward(
        self, images: torch.Tensor, return_subnet_outputs: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Estimate the flow from the first image to the second.

        Args:
            images: (B, 3, 2, H, W): image 0 at ``[:, :, 0]``, image 1 at ``[:, :, 1]``; H and W multiples of 64.
            return_subnet_outputs: also return the raw outputs of the sub-networks (for parity tests).

        Returns:
            (B, 2, H, W) flow in pixels such that ``image0(p) ~ image1(p + flow(p))`` (channel 0 = x);
            with ``return_subnet_outputs``, a tuple ``(flow, {name: tensor})`` where the FlowNetC/S/SD
            entries are (B, 2, H/4, W/4) and ``flownetfusion`` is the final flow.
        """
        if images.dim() != 5 or images.shape[1] != 3 or images.shape[2] != 2:
            raise ValueError(f"FlowNet2 expects (B, 3, 2, H, W) input, got {tuple(images.shape)}")
        height, width = images.shape[-2:]
        if height % 64 or width % 64:
            raise ValueError(f"FlowNet2 needs H and W multiples of 64, got {height}x{width}")

        # Per-sample, per-colour mean over both images and all pixels.
        rgb_mean = images.mean(dim=(2, 3, 4), keepdim=True)  # (B, 3, 1, 1, 1)
        normalized = (images - rgb_mean) / self.rgb_max
        image0, image1 = normalized[:, :, 0], normalized[:, :, 1]  # (B, 3, H, W) each
        pair = torch.cat((image0, image1), dim=1)  # (B, 6, H, W)

        flownetc_out = self.flownetc(pair)
        # Upstream upsamples the 1/4-resolution flows bilinearly (align_corners=False) after C and S1 ...
        flow_c = self._upsample(flownetc_out * self.div_flow, "bilinear")
        flownets1_out = self.flownets_1(self._refinement_input(pair, image0, image1, flow_c))
        flow_s1 = self._upsample(flownets1_out * self.div_flow, "bilinear")
        flownets2_out = self.flownets_2(self._refinement_input(pair, image0, image1, flow_s1))
        # ... but with nearest neighbour after S2 and SD.
        flow_s2 = self._upsample(flownets2_out * self.div_flow, "nearest")

        flownetsd_out = self.flownets_d(pair)
        # Upstream quirk kept for checkpoint compatibility: the SD flow is divided (not multiplied) by div_flow.
        flow_sd = self._upsample(flownetsd_out / self.div_flow, "nearest")

        error_sd = channelnorm(image0 - resample2d(image1, flow_sd))
        error_s2 = channelnorm(image0 - resample2d(image1, flow_s2))
        fusion_input = torch.cat(
            (image0, flow_sd, flow_s2, channelnorm(flow_sd), channelnorm(flow_s2), error_sd, error_s2), dim=1
        )  # (B, 11, H, W)
        flow = self.flownetfusion(fusion_input)
        if not return_subnet_outputs:
            return flow
        subnet_outputs = {
            "flownetc": flownetc_out,
            "flownets_1": flownets1_out,
            "flownets_2": flownets2_out,
            "flownets_d": flownetsd_out,
            "flownetfusion": flow,
        }
        return flow, subnet_outputs

    def _refinement_input(self, pair: torch.Tensor, image0: torch.Tensor, image1: torch.Tensor,
                          flow: torch.Tensor) -> torch.Tensor:
        """FlowNetS input: both images, image1 warped by ``flow``, flow / div_flow, brightness error.

        Shapes: pair (B, 6, H, W), images (B, 3, H, W), flow (B, 2, H, W) pixels -> (B, 12, H, W).
        """
        warped = resample2d(image1, flow)
        error = channelnorm(image0 - warped)
        return torch.cat((pair, warped, flow / self.div_flow, error), dim=1)

    @staticmethod
    def _upsample(flow: torch.Tensor, mode: str) -> torch.Tensor:
        """x4 upsampling of a (B, 2, h, w) flow; bilinear uses align_corners=False like nn.Upsample's default."""
        if mode == "bilinear":
            return F.interpolate(flow, scale_factor=4, mode="bilinear", align_corners=False)
        return F.interpolate(flow, scale_factor=4, mode="nearest")
