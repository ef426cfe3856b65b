"""The vid2vid trainer: optimizers, mixed precision, data parallelism and the chunk-by-chunk frame loop.

The models compute outputs and named losses (`GeneratorModel`, `DiscriminatorModel`); this file decides what
is updated, when and how. Per data item (a clip of T frames), frames are generated in chunks of
``--max_frames_per_gpu``; each chunk runs G, the frozen flow network on the real frames (fp32, outside autocast),
the image/face/temporal discriminator losses, and then the reference's three kinds of updates in its order:
G, then D (+ D_f), then each temporal D that saw frames.

Data parallelism (torchrun): the generator is wrapped in DistributedDataParallel. The discriminators are not:
they run several forward passes per chunk and receive gradients from two backward passes (loss_G flows through
them, then loss_D), which does not fit DDP's one-forward-one-backward contract, so their gradients are
averaged over ranks with one all-reduce per network right before their optimizer step. Every rank therefore
applies the same update and all parameters stay identical.
"""
from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.checkpoint import checkpoint

from data.clip import Clip
from options.run_folder import RunFolder

from .checkpoint import (
    checkpoint_writer,
    load_network,
    load_network_leniently,
    load_state_dict_strict,
    network_state,
)
from .discriminator_model import DiscriminatorModel
from .flow import build_flow_estimator
from .generator_model import GeneratorModel
from .networks.blocks import init_weights
from .schedule import adam_betas, frames_backpropagate, learning_rates, train_all_scales
from .temporal_sampling import TemporalFrameHistory

STATE_FORMAT = "vid2vid-training-state"
STATE_VERSION = 1


@dataclass(frozen=True)
class DistributedContext:
    """This process's place among the torchrun workers (world_size 1 without torchrun)."""

    rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


@dataclass(frozen=True)
class StepResult:
    """What `Trainer.train_item` reports of one loader batch to train.py's loop.

    losses: name -> 0-dim tensor of the LAST chunk (as the reference prints; temporal losses suffixed with their
        scale, e.g. G_T_GAN0; the totals loss_G, loss_D, loss_D_T<s>);
    visuals: name -> detached tensor of the last chunk for display ((B, n, C, H, W) or None), see
        `models.training_logger.visuals_to_images`;
    frames: frames generated; applied: False when a non-finite loss or gradient skipped an update of some chunk.
    """

    losses: dict[str, torch.Tensor]
    visuals: dict[str, torch.Tensor | None]
    frames: int
    applied: bool = True


def split_clip(data: Clip, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Loader batch -> label (B, T, c, H, W), real (B, T, 3, H, W), instances (B, T, 1, H, W) or None."""
    clip = data.as_batch().to(device)
    if clip.real is None:
        raise ValueError("training clips need the real frames (the dataset mode read none)")
    return clip.label, clip.real, clip.instance


def gradients_finite(optimizer: torch.optim.Optimizer) -> bool:
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    return not grads or bool(torch.stack(torch._foreach_norm(grads)).isfinite().all())


def checkpointed(forward, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    """Run ``forward`` without keeping its activations; they are recomputed in backward."""
    return checkpoint(forward, *args, use_reentrant=False, **kwargs)


class Trainer:
    """Owns the networks, optimizers, AMP scaler and the per-item frame loop (see the module docstring)."""

    def __init__(self, opt: argparse.Namespace, device: torch.device,
                 distributed: DistributedContext | None = None, flow: object | None = None,
                 vgg: nn.Module | None = None) -> None:
        """``flow``: a flow estimator to use instead of the one ``--flow_net`` names (a callable
        (current, previous) -> `FlowResult`; benchmarks give one with set weights); ``vgg``: the VGG loss network
        instead of the one built from the VGG19 weights (ignored with ``--no_vgg``)."""
        self.opt = opt
        self.device = device
        self.distributed = distributed or DistributedContext()
        self.amp_dtype = self._check_precision(opt, device)
        torch.manual_seed(opt.seed)  # identical initial weights on every rank and in every rerun
        model_g, model_d = self.build_models(opt, vgg)
        self.model_g, self.model_d = model_g.to(device), model_d.to(device)
        for network in self.networks().values():
            network.apply(init_weights)
        self.flow = self.build_flow(opt, device) if flow is None else flow
        if opt.grad_checkpoint_G:
            for generator in self.model_g.generators:
                generator.forward = functools.partial(checkpointed, generator.forward)
        self.generator: nn.Module = self.model_g
        if self.distributed.enabled:
            self._broadcast_discriminators()
            device_ids = [device.index] if device.type == "cuda" else None
            # unused parameters: the coarse scales with --niter_fix_global, the flow branch for --no_first_img
            self.generator = nn.parallel.DistributedDataParallel(
                self.model_g, device_ids=device_ids, find_unused_parameters=True)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp_dtype == torch.float16)
        self.optimizer_G: torch.optim.Optimizer | None = None
        face = [] if self.model_d.netD_f is None else list(self.model_d.netD_f.parameters())
        self.optimizer_D = self._adam(list(self.model_d.netD.parameters()) + face, "D")
        self.optimizers_D_T = [self._adam(net.parameters(), "D_T") for net in self.model_d.netD_T]
        self.all_scales = True
        self.epoch = 0

    # ------------------------------------------------------------------ setup
    def build_models(self, opt: argparse.Namespace, vgg: nn.Module | None = None
                     ) -> tuple[nn.Module, DiscriminatorModel]:
        """The generator model (``generators``, ``networks()``) and the discriminators with their losses."""
        return GeneratorModel(opt), DiscriminatorModel(opt, vgg)

    @staticmethod
    def build_flow(opt: argparse.Namespace, device: torch.device):  # noqa: ANN205 - a FlowEstimator or None
        return build_flow_estimator(opt.flow_net, device, opt.flownet_checkpoint or None)

    @staticmethod
    def _check_precision(opt: argparse.Namespace, device: torch.device) -> torch.dtype | None:
        if opt.fp16:  # (--fp16 with --bf16 is refused when the options are parsed)
            if device.type != "cuda":
                raise ValueError("--fp16 needs a CUDA GPU (fp16 autocast with gradient scaling); on the CPU use "
                                 "--bf16 for bfloat16 mixed precision")
            return torch.float16
        return torch.bfloat16 if opt.bf16 else None

    def autocast(self) -> AbstractContextManager:
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def _adam(self, params, network: str) -> torch.optim.Adam:  # noqa: ANN001
        return torch.optim.Adam(params, lr=learning_rates(self.opt, 1)[network], betas=adam_betas(self.opt, network))

    def networks(self) -> dict[str, nn.Module]:
        """Every trained network by checkpoint label: G0.., D, D_T0.., [D_f]."""
        return {**self.model_g.networks(), **self.model_d.networks()}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optimizers = {"G": self.optimizer_G, "D": self.optimizer_D}
        optimizers.update({f"D_T{s}": opt for s, opt in enumerate(self.optimizers_D_T)})
        return optimizers

    def set_epoch(self, epoch: int) -> None:
        """Apply the schedule of ``epoch``: which G scales train (a new G optimizer when that changes, as in the
        reference) and the learning rates."""
        all_scales = train_all_scales(self.opt, epoch)
        if self.optimizer_G is None or all_scales != self.all_scales:
            generators = self.model_g.generators if all_scales else self.model_g.generators[-1:]
            self.optimizer_G = self._adam([p for g in generators for p in g.parameters()], "G")
            self.all_scales = all_scales
        rates = learning_rates(self.opt, epoch)
        for name, optimizer in self.optimizers().items():
            for group in optimizer.param_groups:
                group["lr"] = rates["D_T" if name.startswith("D_T") else name]
        self.epoch = epoch

    def learning_rates(self) -> dict[str, float]:
        return {name: optimizer.param_groups[0]["lr"] for name, optimizer in self.optimizers().items()}

    # ------------------------------------------------------------------ the frame loop
    def flow_fp32(self, current: torch.Tensor, previous: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reference flow current -> previous and confidence, always in fp32 and without gradients."""
        with torch.autocast(device_type=self.device.type, enabled=False), torch.no_grad():
            result = self.flow(current.float(), previous.float())
        return result.flow, result.conf

    def train_item(self, data: Clip) -> StepResult:
        """Train on one loader batch of clips, chunk by chunk (see `StepResult`; updates skipped for
        non-finite values: `_update`)."""
        opt = self.opt
        tG = opt.n_frames_G
        label, real, inst = split_clip(data, self.device)
        n_generate = real.size(1) - tG + 1
        chunk = min(opt.max_frames_per_gpu, n_generate)
        n_frames_bp = frames_backpropagate(opt.max_frames_backpropagate, chunk, self.epoch, opt.niter_step)
        history = TemporalFrameHistory(opt.n_scales_temporal, opt.n_frames_D, opt.sparse_D)
        prev_outputs, first_frame, applied = None, None, True
        for start in range(0, n_generate, chunk):
            window = slice(start, start + min(chunk, n_generate - start) + tG - 1)
            with self.autocast():
                out = self.generator(label[:, window], real[:, window], None if inst is None else inst[:, window],
                                     prev_outputs, train_coarse_scales=self.all_scales,
                                     n_frames_backpropagate=n_frames_bp)
            prev_outputs = out.prev_outputs
            flow_ref, conf_ref = self.flow_fp32(out.real_image, out.real_prev_image)
            with self.autocast():
                losses = self.model_d.image_losses(out, flow_ref, conf_ref)
            groups = history.update(out.real_image, out.fake_image, flow_ref, conf_ref, self.flow_fp32)
            scales = [s for s, group in enumerate(groups) if group is not None]
            with self.autocast():
                losses_t = [self.model_d.temporal_losses(s, **groups[s]) for s in scales]
            totals = self.model_d.total_losses(losses, losses_t)
            applied &= self._update(totals, scales)
            if first_frame is None:
                first_frame = out.fake_image[:, 0].detach()
        named = self.model_d.loss_table.logged(losses, dict(zip(scales, losses_t, strict=True)), totals)
        visuals = {key: None if getattr(out, key) is None else getattr(out, key).detach()
                   for key in ("real_label", "fake_image", "fake_raw_image", "real_image", "flow", "weight")}
        visuals.update(fake_first_image=first_frame, flow_ref=flow_ref, conf_ref=conf_ref)
        return StepResult(losses=named, visuals=visuals, frames=n_generate * real.size(0), applied=applied)

    def _update(self, totals: dict, scales: list[int]) -> bool:
        """The reference's update order: G, then D (+ D_f), then each temporal D that ran. loss_G also
        back-propagates into the discriminators; those gradients are cleared before the D updates.

        Returns False when something was not applied: a non-finite loss skips the whole update (no backward,
        no optimizer step; every rank agrees), a non-finite gradient skips that network's step (with fp16 the
        GradScaler decides, as it always does, and lowers its scale)."""
        losses = [totals["loss_G"], totals["loss_D"], *totals["loss_D_T"]]
        if not self._agree(bool(torch.stack([loss.detach().float() for loss in losses]).isfinite().all())):
            return False
        applied = self._step(totals["loss_G"], self.optimizer_G, None)
        applied &= self._step(totals["loss_D"], self.optimizer_D, [self.model_d.netD, self.model_d.netD_f])
        for s, loss in zip(scales, totals["loss_D_T"], strict=True):
            applied &= self._step(loss, self.optimizers_D_T[s], [self.model_d.netD_T[s]])
        self.scaler.update()
        return applied

    def _agree(self, ok: bool) -> bool:
        """True only when ``ok`` holds on every rank (one tiny all-reduce under torchrun)."""
        if not self.distributed.enabled:
            return ok
        flag = torch.tensor([1.0 if ok else 0.0], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item() > 0)

    def _step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, averaged: list[nn.Module | None] | None
              ) -> bool:
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.distributed.enabled and averaged is not None:
            for network in averaged:
                if network is not None:
                    self._average_gradients(network)
        if not self.scaler.is_enabled() and not gradients_finite(optimizer):
            optimizer.zero_grad(set_to_none=True)  # (gradients are identical on every rank: DDP / averaged)
            return False
        self.scaler.step(optimizer)
        return True

    def _average_gradients(self, network: nn.Module) -> None:
        """Mean of the gradients over ranks, one all-reduce per network (parameters without a gradient on
        every rank, e.g. a temporal D that did not run, stay as they are: every rank ran the same scales)."""
        grads = [p.grad for p in network.parameters() if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.distributed.world_size
        offset = 0
        for grad in grads:
            grad.copy_(flat[offset: offset + grad.numel()].view_as(grad))
            offset += grad.numel()

    def _broadcast_discriminators(self) -> None:
        for network in self.model_d.networks().values():
            for tensor in list(network.parameters()) + list(network.buffers()):
                dist.broadcast(tensor.data, src=0)

    # ------------------------------------------------------------------ checkpoints
    def network_writers(self, epoch_label: str | int) -> dict[str, Callable[[str], None]]:
        """Writers of the reference's per-network files ``<epoch>_net_<label>.pth`` (bare state_dicts), by file
        name, for `RunFolder.save`."""
        return {RunFolder.network_file_name(label, epoch_label): checkpoint_writer(network_state(network))
                for label, network in self.networks().items()}

    def training_state(self, epoch: int, epoch_iter: int, total_steps: int, n_frames_total: int,
                       options: dict) -> dict:
        """Everything a resumed run needs; plain tensors and containers only (loads with weights_only=True)."""
        rng = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "format": STATE_FORMAT, "version": STATE_VERSION,
            "epoch": epoch, "epoch_iter": epoch_iter, "total_steps": total_steps, "n_frames_total": n_frames_total,
            "networks": {label: network_state(net) for label, net in self.networks().items()},
            "optimizers": {name: optimizer.state_dict() for name, optimizer in self.optimizers().items()},
            "g_optimizer_all_scales": self.all_scales,
            "scaler": self.scaler.state_dict(),
            "rng": rng,
            "options": options,  # the file describes its run on its own (STYLE.md), e.g. when copied elsewhere
        }

    def load_training_state(self, state: dict, source: str) -> None:
        """Restore networks (strictly), optimizers and scaler. Call after ``set_epoch(state['epoch'])``."""
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"{source} is not a vid2vid training-state file")
        for label, network in self.networks().items():
            if label not in state["networks"]:
                raise ValueError(f"{source} has no weights for network {label}; was it written with other options?")
            load_state_dict_strict(network, state["networks"][label], source, label)
        for name, optimizer in self.optimizers().items():
            if name == "G" and state["g_optimizer_all_scales"] != self.all_scales:
                print("notice: the G optimizer now covers all scales (--niter_fix_global ended); its state starts "
                      "afresh, as in the reference")
                continue
            optimizer.load_state_dict(state["optimizers"][name])
        rates = learning_rates(self.opt, self.epoch)  # the schedule, not the saved values, decides the rates
        for name, optimizer in self.optimizers().items():
            for group in optimizer.param_groups:
                group["lr"] = rates["D_T" if name.startswith("D_T") else name]
        self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)

    def load_networks(self, epoch_label: str) -> None:
        """Strictly load the reference's per-network files of this run (resuming a run without a state file)."""
        run_folder = RunFolder.of(self.opt)
        for label, network in self.networks().items():
            load_network(network, run_folder.network_file(label, epoch_label), label)

    def load_pretrained(self, folder: str, epoch_label: str) -> list[str]:
        """Initialise from another run's ``<epoch>_net_<label>.pth`` files, leniently: tensors whose name and
        shape match are loaded, the rest keep their initialisation. The main generator (G0: the previous run's G0
        becomes this run's coarsest scale) must exist. Returns one report line per network."""
        report = []
        main = next(iter(self.model_g.networks()))
        run_folder = RunFolder.at(folder)
        for label, network in self.networks().items():
            path = run_folder.network_file(label, epoch_label)
            if not os.path.isfile(path):
                if label == main:
                    raise FileNotFoundError(f"--load_pretrain {folder}: {path} not found; the generator {main} "
                                            "must exist")
                report.append(f"{label}: no {os.path.basename(path)}, kept its initialisation")
                continue
            report.append(load_network_leniently(network, path, label))
        return report
