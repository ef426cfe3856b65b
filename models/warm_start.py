"""Small-budget starts for the sequential generator (not in the reference; docs/RESULTS.md measured them).

``--warm_start_G FILE``: the scale-0 generator starts from a trained per-frame generator (``--model single_frame``,
a pix2pixHD GlobalGenerator of the same --ngf / --n_downsample_G / --n_blocks). The two share their layout: the
label encoder, the residual blocks and the image decoder of the sequential generator line up one to one with the
per-frame generator's layers, so those are copied (the first convolution only onto the current frame's label
channels; the older frames' channels start at zero). The flow branch's blocks and decoder start from the same
weights as the image branch. The previous-frame encoder starts *nearly silent*: the affine shift of its last
downsampling norm is 0 and its scale 1e-3 (a ReLU follows, whose gradient at exactly 0 is 0), and the last norm
inside each of its residual blocks starts at zero (the zero-initialised residual trick), so at step 0 the
sequential generator's raw image is the per-frame generator's image (to about 1e-3) and the previous frames enter
as training opens those gates. Needs ``--norm batch`` for the gate (with a batch of one clip,
batch statistics are the per-frame generator's instance statistics, so the copy is exact).

``--occlusion_init P``: the occlusion weight's output layer starts with the bias logit(P), so the generator begins
by trusting its own raw image with weight about P and the warped previous frame with 1 - P.
"""

from __future__ import annotations

import math
import os
from argparse import Namespace

import torch
from torch import nn

from .checkpoint import read_state_dict

ENCODER_GATE = 1e-3  # scale of the previous-frame encoder's last downsampling norm at a warm start


class WarmStartError(ValueError):
    """A --warm_start_G file or combination that cannot be used; the message names the flag and the fix."""


def occlusion_bias(probability: float) -> float:
    """The output bias whose sigmoid is ``probability`` (0 < probability < 1)."""
    if not 0.0 < probability < 1.0:
        raise WarmStartError(f"--occlusion_init must be in (0, 1), got {probability}")
    return math.log(probability / (1.0 - probability))


@torch.no_grad()
def apply_occlusion_init(generators: nn.ModuleList, probability: float) -> int:
    """Set every scale's occlusion-weight bias to logit(probability); returns how many layers were set."""
    bias = occlusion_bias(probability)
    count = 0
    for generator in generators:
        head = getattr(generator, "model_final_w", None)
        if head is None:
            continue
        conv = next(m for m in head if isinstance(m, nn.Conv2d))
        conv.bias.fill_(bias)
        count += 1
    if count == 0:
        raise WarmStartError("--occlusion_init: this generator has no occlusion weight (--no_flow); drop the flag")
    return count


def _norm_layers(modules: list[nn.Module]) -> list[nn.Module]:
    return [m for m in modules if isinstance(m, nn.BatchNorm2d | nn.InstanceNorm2d)]


def _copy_layer(source: nn.Module, target: nn.Module, where: str, label_slot: slice | None) -> None:
    if isinstance(target, nn.Conv2d | nn.ConvTranspose2d):
        if type(source) is not type(target):
            raise WarmStartError(f"--warm_start_G: layer {where} is a {type(source).__name__} in the per-frame "
                                 f"generator and a {type(target).__name__} here; same --ngf / --n_downsample_G / "
                                 "--n_blocks as the per-frame run?")
        if source.weight.shape == target.weight.shape:
            target.weight.copy_(source.weight)
        elif label_slot is not None and target.weight.shape[1] >= label_slot.stop and \
                source.weight.shape[1] == label_slot.stop - label_slot.start and \
                source.weight.shape[0] == target.weight.shape[0]:
            target.weight.zero_()
            target.weight[:, label_slot].copy_(source.weight)
        else:
            raise WarmStartError(f"--warm_start_G: layer {where} has weights {tuple(source.weight.shape)} in the "
                                 f"per-frame generator and {tuple(target.weight.shape)} here; train the per-frame "
                                 "run with this run's --ngf / --n_downsample_G / --n_blocks / --label_nc / --input_nc")
        if target.bias is not None and source.bias is not None:
            target.bias.copy_(source.bias)
    elif isinstance(target, nn.BatchNorm2d):
        if isinstance(source, nn.BatchNorm2d) and source.affine:
            target.weight.copy_(source.weight)
            target.bias.copy_(source.bias)
        else:  # an instance norm without affine parameters: scale 1, shift 0
            target.weight.fill_(1.0)
            target.bias.zero_()
    elif type(source) is not type(target):
        raise WarmStartError(f"--warm_start_G: layer {where} is a {type(source).__name__} in the per-frame "
                             f"generator and a {type(target).__name__} here; same --ngf / --n_downsample_G / "
                             "--n_blocks as the per-frame run?")


def _copy_sequence(sources: list[nn.Module], targets: list[nn.Module], where: str,
                   label_slot: slice | None = None) -> None:
    if len(sources) != len(targets):
        raise WarmStartError(f"--warm_start_G: the per-frame generator has {len(sources)} layers where this one's "
                             f"{where} has {len(targets)}; train the per-frame run with this run's --ngf / "
                             "--n_downsample_G / --n_blocks")
    for i, (source, target) in enumerate(zip(sources, targets, strict=True)):
        if list(target.children()):  # a ResnetBlock: its inner layers in order
            _copy_sequence(list(source.modules())[1:], list(target.modules())[1:], f"{where}.{i}")
        else:
            _copy_layer(source, target, f"{where}.{i}", label_slot if i == 1 else None)


@torch.no_grad()
def warm_start_generator(generator: nn.Module, single: nn.Module, opt: Namespace) -> str:
    """Copy the per-frame GlobalGenerator ``single`` into the scale-0 sequential ``generator``; one report line."""
    layers = list(single.model)
    n_down, n_blocks = opt.n_downsample_G, opt.n_blocks
    n_before = n_blocks - n_blocks // 2
    encoder_end = 4 + 3 * n_down + n_before
    blocks_end = 4 + 3 * n_down + n_blocks
    decoder_end = blocks_end + 3 * n_down
    per_frame = (opt.label_nc if opt.label_nc else opt.input_nc)
    channels = per_frame + (1 if opt.use_instance else 0)
    current = slice((opt.n_frames_G - 1) * channels, (opt.n_frames_G - 1) * channels + per_frame)
    _copy_sequence(layers[:encoder_end], list(generator.model_down_seg), "model_down_seg", current)
    _copy_sequence(layers[encoder_end:blocks_end], list(generator.model_res_img), "model_res_img")
    _copy_sequence(layers[blocks_end:decoder_end], list(generator.model_up_img), "model_up_img")
    _copy_sequence(layers[decoder_end:], list(generator.model_final_img), "model_final_img")
    if not generator.no_flow:
        _copy_sequence(layers[encoder_end:blocks_end], list(generator.model_res_flow), "model_res_flow")
        _copy_sequence(layers[blocks_end:decoder_end], list(generator.model_up_flow), "model_up_flow")
    # the previous-frame encoder: same layers as the label encoder after its first convolution, then gated shut
    _copy_sequence(layers[4:encoder_end], list(generator.model_down_img)[4:], "model_down_img")
    gates = []
    down_img = list(generator.model_down_img)
    last_down_norm = _norm_layers(down_img[: 4 + 3 * n_down])[-1]
    gates.append(last_down_norm)
    gates += [_norm_layers(list(block.modules()))[-1] for block in down_img[4 + 3 * n_down:]]
    if not all(isinstance(g, nn.BatchNorm2d) for g in gates):
        raise WarmStartError("--warm_start_G needs --norm batch (the previous-frame encoder is gated shut through "
                             "its norms' affine scales, which --norm instance does not have)")
    for gate in gates:
        gate.weight.zero_()
        gate.bias.zero_()
    gates[0].weight.fill_(ENCODER_GATE)  # a ReLU follows it: at exactly 0 no gradient would pass
    return (f"G0: warm start from the per-frame generator {opt.warm_start_G} (label encoder, blocks and decoders "
            f"copied; previous-frame encoder nearly shut through {len(gates)} norms)")


def warm_start(model_g: nn.Module, opt: Namespace) -> list[str]:
    """Apply ``--warm_start_G`` and ``--occlusion_init`` to a fresh generator model; report lines."""
    lines = []
    path = getattr(opt, "warm_start_G", "")
    if path:
        if opt.n_scales_spatial != 1 or opt.netG != "composite":
            raise WarmStartError("--warm_start_G maps the per-frame generator onto a single-scale composite G: "
                                 "use --n_scales_spatial 1 --netG composite (then --load_pretrain for more scales)")
        if not os.path.isfile(path):
            raise WarmStartError(f"--warm_start_G {path}: no such file; give a per-frame run's network file, e.g. "
                                 f"checkpoints/<run>_per_frame/latest_net_G_{opt.loadSize}.pth")
        from .single_frame_model import build_single_frame_generator

        single = build_single_frame_generator(opt)
        state = read_state_dict(path, "--warm_start_G file",
                                "give the latest_net_G_<loadSize>.pth of a --model single_frame run")
        try:
            single.load_state_dict(state)
        except RuntimeError as error:
            first = str(error).strip().splitlines()[1:2] or [str(error)]
            raise WarmStartError(f"--warm_start_G {path}: not a per-frame generator of this run's architecture "
                                 f"({first[0].strip()}); train it with --model single_frame and this run's --ngf "
                                 "/ --n_downsample_G / --n_blocks / --label_nc / --input_nc") from None
        lines.append(warm_start_generator(model_g.generators[0], single, opt))
    probability = getattr(opt, "occlusion_init", 0.0)
    if probability:
        count = apply_occlusion_init(model_g.generators, probability)
        lines.append(f"occlusion weight starts at {probability:g} on the raw image ({count} scale(s))")
    return lines
