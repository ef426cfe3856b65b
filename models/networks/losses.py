"""Loss terms: adversarial (LSGAN / original / hinge), discriminator feature matching, masked L1."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from options.choices import GAN_MODES

DPredictions = list[list[torch.Tensor]]  # MultiscaleDiscriminator output: [scale][stage]

__all__ = ["GAN_MODES", "DPredictions", "GANLoss", "feature_matching_loss", "masked_l1_loss"]


class GANLoss(nn.Module):
    """Adversarial loss summed over the discriminator scales (only each scale's final patch map is used).

    Modes (``--gan_mode``):
      * ``ls``: mean((x - 1)^2) for real targets, mean(x^2) for fake (the reference always uses this).
      * ``original``: non-saturating GAN on logits, BCE-with-logits against 1 / 0.
      * ``hinge``: discriminator mean(relu(1 - x)) on real and mean(relu(1 + x)) on fake; generator -mean(x).
    """

    def __init__(self, gan_mode: str = "ls") -> None:
        super().__init__()
        if gan_mode not in GAN_MODES:
            raise ValueError(f"--gan_mode {gan_mode!r} is not one of {'|'.join(GAN_MODES)}")
        self.gan_mode = gan_mode

    def single(self, prediction: torch.Tensor, target_is_real: bool, for_discriminator: bool) -> torch.Tensor:
        if self.gan_mode == "ls":
            target = torch.full_like(prediction, 1.0 if target_is_real else 0.0)
            return F.mse_loss(prediction, target)
        if self.gan_mode == "original":
            target = torch.full_like(prediction, 1.0 if target_is_real else 0.0)
            return F.binary_cross_entropy_with_logits(prediction, target)
        if for_discriminator:
            if target_is_real:
                return F.relu(1.0 - prediction).mean()
            return F.relu(1.0 + prediction).mean()
        if not target_is_real:
            raise ValueError("hinge loss for the generator is only defined with target_is_real=True")
        return -prediction.mean()

    def forward(self, predictions: DPredictions, target_is_real: bool, for_discriminator: bool = True) -> torch.Tensor:
        loss = None
        for scale_outputs in predictions:
            term = self.single(scale_outputs[-1], target_is_real, for_discriminator)
            loss = term if loss is None else loss + term
        if loss is None:
            raise ValueError("GANLoss got no discriminator outputs")
        return loss


def feature_matching_loss(
    pred_fake: DPredictions, pred_real: DPredictions, num_D: int, n_layers_D: int, lambda_feat: float = 1.0
) -> torch.Tensor:
    """sum over scales i < num_D and stages j except the last of
    (1/num_D) * (4/(n_layers_D+1)) * L1(fake[i][j], real[i][j].detach()) * lambda_feat.

    ``num_D`` is ``--num_D`` even for the face D (which has fewer scales): the reference weights it that way.
    The models pass no ``lambda_feat``: the loss table (models/loss_table.py) applies ``--lambda_feat``.
    """
    feat_weight = 4.0 / (n_layers_D + 1)
    scale_weight = 1.0 / num_D
    loss = pred_fake[0][-1].new_zeros(())
    for i in range(min(len(pred_fake), num_D)):
        for j in range(len(pred_fake[i]) - 1):
            loss = (
                loss + scale_weight * feat_weight * F.l1_loss(pred_fake[i][j], pred_real[i][j].detach()) * lambda_feat
            )
    return loss


def masked_l1_loss(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """mean |prediction*mask - target*mask| over ALL elements (not normalised by the mask area).

    prediction, target: (N, C, H, W); mask: (N, 1, H, W) broadcast over channels.
    """
    mask = mask.expand(-1, prediction.size(1), -1, -1)
    return F.l1_loss(prediction * mask, target * mask)
