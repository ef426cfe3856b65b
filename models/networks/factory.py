"""Build every network from a parsed option namespace (the reference's flag names), with the reference's
checkpoint labels: ``G0..G{S-1}``, ``D``, ``D_T0..D_T{n_scales_temporal-1}``, ``D_f`` and, at test time
with ``--use_single_G``, ``G_single`` (+ ``E_single`` for faces)."""

from __future__ import annotations

from argparse import Namespace

from torch import nn

from data.clip import encoded_label_channels as label_channels
from data.clip import history_length
from options.choices import NETG_CHOICES

from .blocks import get_norm_layer, init_weights
from .discriminator import MultiscaleDiscriminator
from .generator import CompositeGenerator
from .local_generator import CompositeLocalGenerator
from .single_frame import FeatureEncoder, GlobalGenerator, GlobalWithZ, LocalEnhancer

FACE_FEATURE_CHANNELS = 16  # feat_num of the face single-frame G (the reference overwrites opt.feat_num)
FACE_LABEL_CHANNELS = 15


def uses_flow(opt: Namespace) -> bool:
    """``--openpose_only`` implies ``--no_flow`` in the reference."""
    return not (opt.no_flow or opt.openpose_only)


def generator_ngf(opt: Namespace, scale: int) -> int:
    return opt.ngf // 2**scale


# --netG -> (generator of the coarsest scale, generator of each finer scale); the names are NETG_CHOICES
# (options/choices.py), which the option parser accepts. A new generator is a row here (docs/ARCHITECTURE.md).
GENERATORS: dict[str, tuple[type[nn.Module], type[nn.Module]]] = {
    "composite": (CompositeGenerator, CompositeLocalGenerator),
}


def build_generator(opt: Namespace, scale: int) -> nn.Module:
    """Sequential generator of spatial scale ``scale`` (0 = coarsest) of the ``--netG`` family."""
    if opt.netG not in GENERATORS:
        raise ValueError(f"--netG {opt.netG!r} is not supported; use one of {', '.join(NETG_CHOICES)}")
    coarsest, finer = GENERATORS[opt.netG]
    norm_layer = get_norm_layer(opt.norm)
    input_nc = label_channels(opt) * opt.n_frames_G
    prev_output_nc = history_length(opt) * opt.output_nc
    common = dict(
        input_nc=input_nc,
        output_nc=opt.output_nc,
        prev_output_nc=prev_output_nc,
        ngf=generator_ngf(opt, scale),
        n_downsampling=opt.n_downsample_G,
        norm_layer=norm_layer,
        use_fg=bool(opt.fg),
        no_flow=not uses_flow(opt),
    )
    if scale == 0:
        return coarsest(n_blocks=opt.n_blocks, **common)
    return finer(n_blocks_local=opt.n_blocks_local, scale=scale, **common)


def build_single_frame_networks(opt: Namespace) -> dict[str, nn.Module]:
    """``G_single`` (and ``E_single`` for faces): the pix2pixHD generators for the first frames at test time:
    a run of ``train.py --model single_frame`` (built from its saved flags) or a published one."""
    from ..single_frame_model import build_single_frame_generator, single_frame_kind, trained_single_frame_options

    norm_layer = get_norm_layer("instance")
    kind = single_frame_kind(opt)
    if kind == "trained":
        return {"G_single": build_single_frame_generator(trained_single_frame_options(opt))}
    if kind == "city":
        if opt.loadSize == 512:
            net: nn.Module = GlobalGenerator(opt.label_nc, opt.output_nc, 64, 3, opt.n_blocks, norm_layer)
        elif opt.loadSize == 1024:
            net = GlobalGenerator(opt.label_nc, opt.output_nc, 64, 4, opt.n_blocks, norm_layer)
        elif opt.loadSize == 2048:
            net = LocalEnhancer(
                opt.label_nc, opt.output_nc, 32, 4, opt.n_blocks, opt.n_local_enhancers, opt.n_blocks_local, norm_layer
            )
        else:
            raise ValueError(
                "--use_single_G: Cityscapes single-frame generators exist for --loadSize 512/1024/2048, "
                f"not {opt.loadSize}"
            )
        return {"G_single": net}
    return {
        "G_single": GlobalWithZ(
            FACE_LABEL_CHANNELS, opt.output_nc, FACE_FEATURE_CHANNELS, 64, 3, opt.n_blocks, norm_layer
        ),
        "E_single": FeatureEncoder(opt.output_nc, FACE_FEATURE_CHANNELS, 16, 4, norm_layer),
    }


def build_discriminators(opt: Namespace) -> dict[str, nn.Module]:
    """Image D, temporal D_T{s}, and face D_f (``--add_face_disc``)."""
    norm_layer = get_norm_layer(opt.norm)
    image_nc = label_channels(opt) + opt.output_nc
    feature_matching = not opt.no_ganFeat
    nets: dict[str, nn.Module] = {
        "D": MultiscaleDiscriminator(image_nc, opt.ndf, opt.n_layers_D, norm_layer, opt.num_D, feature_matching)
    }
    temporal_nc = opt.output_nc * opt.n_frames_D + 2 * (opt.n_frames_D - 1)
    for s in range(opt.n_scales_temporal):
        nets[f"D_T{s}"] = MultiscaleDiscriminator(
            temporal_nc, opt.ndf, opt.n_layers_D, norm_layer, opt.num_D, feature_matching
        )
    if opt.add_face_disc:
        nets["D_f"] = MultiscaleDiscriminator(
            image_nc, opt.ndf, opt.n_layers_D, norm_layer, max(1, opt.num_D - 2), feature_matching
        )
    return nets


def build_networks(opt: Namespace, initialize: bool = True) -> dict[str, nn.Module]:
    """All networks the reference builds for ``opt`` (training: G*, D, D_T*, [D_f]; test: G*, [G_single, E_single]),
    keyed by checkpoint label, in the reference's order. FlowNet2 and VGG are not included.

    Build under ``with torch.device('meta'):`` to inspect shapes without allocating memory.
    """
    nets: dict[str, nn.Module] = {f"G{s}": build_generator(opt, s) for s in range(opt.n_scales_spatial)}
    if opt.isTrain:
        nets.update(build_discriminators(opt))
    elif opt.use_single_G:
        nets.update(build_single_frame_networks(opt))
    if initialize:
        for net in nets.values():
            net.apply(init_weights)
    return nets
