"""pix2pixHD single-frame generators, used at test time (``--use_single_G``) to synthesise the first
n_frames_G - 1 frames of a sequence: GlobalGenerator, LocalEnhancer, the face GlobalWithZ (the reference's
``Global_with_z``) and its feature encoder (the reference's ``Encoder``).
"""

from __future__ import annotations

import torch
from torch import nn

from ..checkpoint import CheckpointHints
from .blocks import NormLayer, downsample_convs, input_conv7, output_conv7, resnet_blocks, upsample_convs

MAX_CHANNELS = 1024


def global_generator_layers(
    input_nc: int, output_nc: int, ngf: int, n_downsampling: int, n_blocks: int, norm_layer: NormLayer
) -> list[nn.Module]:
    bottleneck = min(MAX_CHANNELS, ngf * 2**n_downsampling)
    return [
        *input_conv7(input_nc, ngf, norm_layer),
        *downsample_convs(ngf, n_downsampling, norm_layer, MAX_CHANNELS),
        *resnet_blocks(bottleneck, n_blocks, norm_layer),
        *upsample_convs(ngf, n_downsampling, norm_layer, MAX_CHANNELS),
        *output_conv7(ngf, output_nc, nn.Tanh()),
    ]


class GlobalGenerator(nn.Module):
    """Encoder / ResnetBlocks / decoder: (B, input_nc, H, W) -> (B, output_nc, H, W) in [-1, 1]."""

    checkpoint_hints = CheckpointHints(
        depth="--loadSize (picks latest_net_G_{512,1024,2048}.pth) / --n_blocks / --n_local_enhancers / "
        "--n_blocks_local / --label_nc",
        width="--loadSize (picks latest_net_G_{512,1024,2048}.pth) / --label_nc",
    )

    def __init__(
        self, input_nc: int, output_nc: int, ngf: int, n_downsampling: int, n_blocks: int, norm_layer: NormLayer
    ) -> None:
        super().__init__()
        self.model = nn.Sequential(
            *global_generator_layers(input_nc, output_nc, ngf, n_downsampling, n_blocks, norm_layer)
        )

    def forward(self, label: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        if features is not None:
            label = torch.cat([label, features], dim=1)
        return self.model(label)


class LocalEnhancer(nn.Module):
    """A GlobalGenerator (without its output head) at 1/2**n_local_enhancers resolution refined by
    ``n_local_enhancers`` enhancer stages ``model{n}_1`` (encoder) / ``model{n}_2`` (blocks + decoder)."""

    checkpoint_hints = GlobalGenerator.checkpoint_hints

    def __init__(
        self,
        input_nc: int,
        output_nc: int,
        ngf: int,
        n_downsample_global: int,
        n_blocks_global: int,
        n_local_enhancers: int,
        n_blocks_local: int,
        norm_layer: NormLayer,
    ) -> None:
        super().__init__()
        self.n_local_enhancers = n_local_enhancers
        ngf_global = ngf * 2**n_local_enhancers
        global_layers = global_generator_layers(
            input_nc, output_nc, ngf_global, n_downsample_global, n_blocks_global, norm_layer
        )
        self.model = nn.Sequential(*global_layers[:-3])  # drop the output head
        for n in range(1, n_local_enhancers + 1):
            width = ngf * 2 ** (n_local_enhancers - n)
            down = [*input_conv7(input_nc, width, norm_layer), *downsample_convs(width, 1, norm_layer)]
            up = [*resnet_blocks(width * 2, n_blocks_local, norm_layer), *upsample_convs(width, 1, norm_layer)]
            if n == n_local_enhancers:
                up += output_conv7(ngf, output_nc, nn.Tanh())
            self.add_module(f"model{n}_1", nn.Sequential(*down))
            self.add_module(f"model{n}_2", nn.Sequential(*up))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=[1, 1], count_include_pad=False)

    def forward(self, label: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        if features is not None:
            label = torch.cat([label, features], dim=1)
        pyramid = [label]
        for _ in range(self.n_local_enhancers):
            pyramid.append(self.downsample(pyramid[-1]))
        out = self.model(pyramid[-1])
        for n in range(1, self.n_local_enhancers + 1):
            level_input = pyramid[self.n_local_enhancers - n]
            out = getattr(self, f"model{n}_2")(getattr(self, f"model{n}_1")(level_input) + out)
        return out


class GlobalWithZ(nn.Module):
    """Face single-frame generator conditioned on a per-part feature map z (``nz`` channels), which is
    concatenated at the input, before the ResnetBlocks, before the decoder and before the output conv."""

    checkpoint_hints = CheckpointHints(width="--label_nc / the face input channels", depth="--n_blocks")

    def __init__(
        self,
        input_nc: int,
        output_nc: int,
        nz: int,
        ngf: int,
        n_downsampling: int,
        n_blocks: int,
        norm_layer: NormLayer,
    ) -> None:
        super().__init__()
        self.n_downsampling = n_downsampling
        bottleneck = min(ngf * 2**n_downsampling, MAX_CHANNELS)
        self.model_downsample = nn.Sequential(
            *input_conv7(input_nc + nz, ngf, norm_layer),
            *downsample_convs(ngf, n_downsampling, norm_layer, MAX_CHANNELS),
        )
        self.model_resnet = nn.Sequential(*resnet_blocks(bottleneck + nz, n_blocks, norm_layer))
        upsample: list[nn.Module] = []
        for i in range(n_downsampling):
            mult = 2 ** (n_downsampling - i)
            c_in = min(ngf * mult, MAX_CHANNELS) + (2 * nz if i == 0 else 0)
            c_out = min(ngf * mult // 2, MAX_CHANNELS)
            upsample += [
                nn.ConvTranspose2d(c_in, c_out, kernel_size=3, stride=2, padding=1, output_padding=1),
                norm_layer(c_out),
                nn.ReLU(True),
            ]
        self.model_upsample = nn.Sequential(*upsample)
        self.model_upsample_conv = nn.Sequential(*output_conv7(ngf + nz, output_nc, nn.Tanh()))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=[1, 1], count_include_pad=False)

    def forward(self, label: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """label (B, input_nc, H, W), z (B, nz, H, W) -> (B, output_nc, H, W)."""
        z_small = z
        for _ in range(self.n_downsampling):
            z_small = self.downsample(z_small)
        h = self.model_downsample(torch.cat([label, z], dim=1))
        h = self.model_resnet(torch.cat([h, z_small], dim=1))
        h = self.model_upsample(torch.cat([h, z_small], dim=1))
        return self.model_upsample_conv(torch.cat([h, z], dim=1))


class FeatureEncoder(nn.Module):
    """Image encoder-decoder whose output is averaged inside every instance region.

    forward(image (B, input_nc, H, W), instances (B, 1, H, W) integer ids) -> (B, output_nc, H, W), constant
    per (instance, channel).
    """

    checkpoint_hints = CheckpointHints(width="--output_nc (the face feature encoder takes the real frames)",
                                       depth="--output_nc (the face feature encoder takes the real frames)")

    def __init__(self, input_nc: int, output_nc: int, ngf: int, n_downsampling: int, norm_layer: NormLayer) -> None:
        super().__init__()
        self.output_nc = output_nc
        self.model = nn.Sequential(
            *input_conv7(input_nc, ngf, norm_layer),
            *downsample_convs(ngf, n_downsampling, norm_layer),
            *upsample_convs(ngf, n_downsampling, norm_layer),
            *output_conv7(ngf, output_nc, nn.Tanh()),
        )

    def forward(self, image: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
        features = self.model(image)
        pooled = features.clone()
        ids = instances[:, 0].long()  # (B, H, W)
        for b in range(features.size(0)):
            for region_id in torch.unique(ids[b]).tolist():
                region = ids[b] == region_id  # (H, W)
                mean = features[b][:, region].mean(dim=1)  # (C,)
                pooled[b][:, region] = mean[:, None].expand(-1, int(region.sum()))
        return pooled
