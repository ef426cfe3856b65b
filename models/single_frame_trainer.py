"""Training of the per-frame baseline (``train.py --model single_frame``): every frame of a clip is an independent
sample; chunks of ``--max_frames_per_gpu`` frames form one update of G and then D, with pix2pixHD's losses
(image GAN, feature matching, VGG). Optimizers, mixed precision, data parallelism, checkpoints and resuming are
the vid2vid trainer's (`Trainer`); only the models and the per-item loop differ.
"""
from __future__ import annotations

import argparse

import torch
from torch import nn

from data.clip import Clip

from .discriminator_model import DiscriminatorModel
from .single_frame_model import SingleFrameModel
from .trainer import StepResult, Trainer, split_clip


def single_frame_discriminator_options(opt: argparse.Namespace) -> argparse.Namespace:
    """The image discriminator judges (labels, frame) pairs without instance edges; no temporal or face D."""
    return argparse.Namespace(**{**vars(opt), "use_instance": False, "n_scales_temporal": 0,
                                 "add_face_disc": False})


class SingleFrameTrainer(Trainer):
    """`Trainer` with the per-frame generator and its image discriminator (no flow network)."""

    def build_models(self, opt: argparse.Namespace, vgg: nn.Module | None = None
                     ) -> tuple[SingleFrameModel, DiscriminatorModel]:
        return SingleFrameModel(opt), DiscriminatorModel(single_frame_discriminator_options(opt), vgg)

    @staticmethod
    def build_flow(opt: argparse.Namespace, device: torch.device) -> None:
        return None

    def train_item(self, data: Clip) -> StepResult:
        """Train on the frames of one loader batch, ``--max_frames_per_gpu`` frames per update. Returns the
        losses of the last chunk, its visuals and the number of frames, as `Trainer.train_item`."""
        label, real, _ = split_clip(data, self.device)
        n_frames = label.size(1)
        chunk = min(self.opt.max_frames_per_gpu, n_frames)
        applied = True
        for start in range(0, n_frames, chunk):
            window = slice(start, start + chunk)
            with self.autocast():
                out = self.generator(label[:, window])._replace(real_image=real[:, window])
                losses = self.model_d.image_losses(out, None, None)
            totals = self.model_d.total_losses(losses, [])
            applied &= self._update(totals, [])
        named = self.model_d.loss_table.logged(losses, {}, totals)
        visuals = {key: getattr(out, key).detach() for key in ("real_label", "fake_image", "real_image")}
        return StepResult(losses=named, visuals=visuals, frames=n_frames * label.size(0), applied=applied)
