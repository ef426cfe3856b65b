"""NVIDIA's side: their option parse and models built by their own code (imported through shims.py), the weights
written and loaded in their checkpoint format, and the two runners: one ``Vid2VidModelG.inference`` call, or one
step of their train.py inner loop driven here in train.py's order. Never imports our packages."""
from __future__ import annotations

import argparse
import sys

import torch

from .inputs import (
    autocast,
    device_of,
    given_flow,
    preset_history,
    redraw_bn_biases,
    save_reference_format,
    synthetic_frames,
    synthetic_labels,
    weights_path,
    write_vgg,
)
from .shims import import_reference, read_weights
from .spec import run_name


def reference_options(modules: dict, spec: dict, training: bool) -> argparse.Namespace:
    """Their option parser reads sys.argv; give it our flags for the run."""
    argv = ["--name", run_name(spec), "--checkpoints_dir", spec["checkpoints_dir"], "--gpu_ids", "0"]
    argv += ([] if training else ["--no_first_img"]) + spec["flags"]
    if training and spec["no_vgg"]:
        argv.append("--no_vgg")
    parser = modules["train_options"].TrainOptions() if training else modules["test_options"].TestOptions()
    saved, sys.argv = sys.argv, ["vid2vid", *argv]
    try:
        return parser.parse(save=False)
    finally:
        sys.argv = saved


def reference_networks(model_g: torch.nn.Module, model_d: torch.nn.Module | None, opt: argparse.Namespace
                       ) -> dict[str, torch.nn.Module]:
    """Their networks by checkpoint label (G0.., D, D_T0.., D_f)."""
    nets = {f"G{s}": getattr(model_g, f"netG{s}") for s in range(opt.n_scales_spatial)}
    if model_d is not None:
        nets["D"] = model_d.netD
        nets.update({f"D_T{s}": getattr(model_d, f"netD_T{s}") for s in range(opt.n_scales_temporal)})
        if opt.add_face_disc:
            nets["D_f"] = model_d.netD_f
    return nets


def build_reference(spec: dict) -> tuple[dict, argparse.Namespace, torch.nn.Module, torch.nn.Module | None]:
    """Their option parse and models (their own initialize, seeded): (modules, opt, model G, model D or None)."""
    modules = import_reference(spec)
    training = spec["mode"] == "training"
    opt = reference_options(modules, spec, training)
    torch.manual_seed(spec["seed"])
    model_g = modules["model_G"].Vid2VidModelG()
    model_g.initialize(opt)
    model_d = None
    if training:
        model_d = modules["model_D"].Vid2VidModelD()
        model_d.initialize(opt)
    return modules, opt, model_g, model_d


def write_theirs(spec: dict) -> None:
    """NVIDIA's networks for the spec, seeded with their weights_init, BN biases re-drawn, saved in their format."""
    write_vgg(spec)  # before their VGG loss is built
    _, opt, model_g, model_d = build_reference(spec)
    networks = reference_networks(model_g, model_d, opt)
    redraw_bn_biases(networks, spec["seed"])
    save_reference_format(networks, spec)


def load_reference_weights(networks: dict[str, torch.nn.Module], spec: dict) -> None:
    """Every network strictly from its file (their own checkpoint loading is switched off, shims P4)."""
    for label, network in networks.items():
        network.load_state_dict(read_weights(weights_path(spec, label), f"NVIDIA's {label} weights"))


class TheirsInference:
    """Their Vid2VidModelG (test options), weights from the files; one ``inference`` call per run."""

    def __init__(self, spec: dict) -> None:
        _, opt, self.model, _ = build_reference(spec)
        load_reference_weights(reference_networks(self.model, None, opt), spec)
        device = device_of(spec)
        self.spec = spec
        label, instances = synthetic_labels(spec["width"], spec["height"], spec["n_frames_G"])
        self.label, self.instances = label.to(device), instances.to(device)
        history = preset_history(spec["width"], spec["height"], opt.n_scales_spatial, spec["n_frames_G"])
        self.history = [h[0].to(device) for h in history]  # their test-time history has no batch axis

    def prepare(self) -> None:
        self.model.fake_B_prev = [h.clone() for h in self.history]  # steady state: a history is given

    def run(self) -> tuple[torch.Tensor, dict[str, float]]:
        with autocast(self.spec):
            fake, _ = self.model.inference(self.label, None, self.instances)
        return fake, {}

    def trained_networks(self) -> dict[str, torch.nn.Module]:
        return {}


def frames_as_batch(tensor: torch.Tensor | None) -> torch.Tensor | None:
    """(B, N, C, H, W) -> (B*N, C, H, W), as their discriminator model takes its inputs."""
    return None if tensor is None else tensor.contiguous().view(-1, *tensor.shape[2:])


def mean_or_zero(value: torch.Tensor | int | None) -> torch.Tensor | int:
    return value.mean() if isinstance(value, torch.Tensor) else 0


class TheirsTraining:
    """Their Vid2VidModelG / Vid2VidModelD in their myModel wrapper, weights from the files, flow given; one step of
    train.py's inner loop per run (the chunks of one clip, each: G, D losses, temporal D, then G, D, D_T updates)."""

    def __init__(self, spec: dict) -> None:
        modules, self.opt, self.model_g, self.model_d = build_reference(spec)
        load_reference_weights(reference_networks(self.model_g, self.model_d, self.opt), spec)
        self.spec = spec
        self.wrapped_g = modules["models"].myModel(self.opt, self.model_g)
        self.wrapped_d = modules["models"].myModel(self.opt, self.model_d)
        self.optimizers_d_t = [getattr(self.model_d, f"optimizer_D_T{s}") for s in range(self.opt.n_scales_temporal)]
        device = device_of(spec)
        label, instances = synthetic_labels(spec["width"], spec["height"], spec["n_frames"])
        real = synthetic_frames(spec["width"], spec["height"], spec["n_frames"])
        self.label, self.real, self.instances = label.to(device), real.to(device), instances.to(device)

    def prepare(self) -> None:
        pass

    def run(self) -> tuple[torch.Tensor, dict[str, float]]:
        opt, t_g = self.opt, self.opt.n_frames_G
        n_frames = self.label.size(1)
        n_load = min(opt.max_frames_per_gpu * opt.n_gpus_gen, n_frames - t_g + 1)
        t_len = n_load + t_g - 1
        prev_last, frames_all, named = None, (None, None, None, None), {}
        for i in range(0, n_frames - t_len + 1, n_load):
            window = slice(i, i + t_len)
            with autocast(self.spec):
                fake, fake_raw, flow, weight, real_a, real_bp, last = self.wrapped_g(
                    self.label[:, window], self.real[:, window], self.instances[:, window], prev_last)
            real_prev, real = real_bp[:, :-1], real_bp[:, 1:]
            flow_ref, conf_ref = given_flow(real, real_prev)
            fake_prev = self.model_g.compute_fake_B_prev(real_prev, prev_last, fake)
            prev_last = last
            named, frames_all = self.chunk_losses_and_updates(i, n_load, frames_all, [
                real, fake, fake_raw, real_a, real_prev, fake_prev, flow, weight, flow_ref, conf_ref])
        return fake, named

    def trained_networks(self) -> dict[str, torch.nn.Module]:
        return reference_networks(self.model_g, self.model_d, self.opt)

    def chunk_losses_and_updates(self, i: int, n_load: int, frames_all: tuple, tensors: list
                                 ) -> tuple[dict[str, float], tuple]:
        """Image and temporal D losses of one chunk, then their G, D and D_T updates; returns the named losses
        and the frames kept for the next chunk's temporal D."""
        model_d, opt = self.model_d, self.opt
        real, fake, flow_ref, conf_ref = tensors[0], tensors[1], tensors[8], tensors[9]
        with autocast(self.spec):
            losses = self.wrapped_d(0, [frames_as_batch(t) for t in tensors])
            image = dict(zip(model_d.loss_names, (mean_or_zero(x) for x in losses), strict=True))
            frames_all, skipped = model_d.get_all_skipped_frames(frames_all, real, fake, flow_ref, conf_ref,
                                                                 opt.n_scales_temporal, opt.n_frames_D, n_load, i,
                                                                 given_flow)
            temporal = []
            for s in range(opt.n_scales_temporal):
                if skipped[0][s] is not None:
                    out = self.wrapped_d(s + 1, [group[s] for group in skipped])
                    temporal.append(dict(zip(model_d.loss_names_T, (mean_or_zero(x) for x in out), strict=True)))
        loss_g, loss_d, loss_d_t, n_scales_run = model_d.get_losses(image, temporal, opt.n_scales_temporal)
        for loss, optimizer in [(loss_g, self.model_g.optimizer_G), (loss_d, model_d.optimizer_D),
                                *zip(loss_d_t[:n_scales_run], self.optimizers_d_t, strict=False)]:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        named = {k: float(v) for k, v in image.items()}
        for s, scale_losses in enumerate(temporal):
            named.update({f"{k}{s}": float(v) for k, v in scale_losses.items()})
        named.update(loss_G=float(loss_g), loss_D=float(loss_d))
        named.update({f"loss_D_T{s}": float(v) for s, v in enumerate(loss_d_t)})
        return named, frames_all
