"""Discriminators and every loss of vid2vid: image D (+ feature matching, VGG, flow/warp/weight terms),
face D on a crop around the face (pose data), and the temporal Ds. Returns dicts of named losses with the
reference's names; the trainer owns the optimizers and calls ``backward`` on the totals."""

from __future__ import annotations

from argparse import Namespace

import torch
from torch import nn

from .networks.discriminator import MultiscaleDiscriminator
from .networks.factory import build_discriminators
from .networks.losses import DPredictions, GANLoss, feature_matching_loss, masked_l1_loss
from .networks.warp import warp

IMAGE_LOSS_NAMES = ("G_VGG", "G_GAN", "G_GAN_Feat", "D_real", "D_fake", "G_Warp", "F_Flow", "F_Warp", "W")
FACE_LOSS_NAMES = ("G_f_GAN", "G_f_GAN_Feat", "D_f_real", "D_f_fake")
TEMPORAL_LOSS_NAMES = ("G_T_GAN", "G_T_GAN_Feat", "D_T_real", "D_T_fake", "G_T_Warp")
FACE_LOSS_WEIGHT = 2.0
FLOW_INPUT_SCALE = 20.0  # temporal D sees reference flows / 20


def flatten_frames(x: torch.Tensor | None) -> torch.Tensor | None:
    """(B, n, C, H, W) -> (B*n, C, H, W); 4-D input is returned as is."""
    if x is None or x.dim() == 4:
        return x
    b, n, c, h, w = x.shape
    return x.reshape(b * n, c, h, w)


class DiscriminatorModel(nn.Module):
    """Holds ``D``, ``D_T{s}`` and ``D_f`` and computes the losses.

    ``image_losses`` and ``temporal_losses`` return dicts of 0-dim tensors named as in the reference
    (G_GAN, D_real, ..., G_T_GAN, ...); ``total_losses`` combines them into loss_G / loss_D / loss_D_T.
    """

    def __init__(self, opt: Namespace) -> None:
        super().__init__()
        self.opt_num_D = opt.num_D
        self.n_layers_D = opt.n_layers_D
        self.no_ganFeat = bool(opt.no_ganFeat)
        self.lambda_feat = opt.lambda_feat
        self.lambda_F = opt.lambda_F
        self.lambda_T = opt.lambda_T
        self.n_scales_spatial = opt.n_scales_spatial
        self.n_frames_D = opt.n_frames_D
        self.output_nc = opt.output_nc
        self.no_first_img = bool(opt.no_first_img)
        self.add_face_disc = bool(opt.add_face_disc)
        self.openpose_only = bool(getattr(opt, "openpose_only", False))
        self.face_size = opt.fineSize // 32 * 8
        nets = build_discriminators(opt)
        self.netD: MultiscaleDiscriminator = nets["D"]
        self.netD_T = nn.ModuleList(nets[f"D_T{s}"] for s in range(opt.n_scales_temporal))
        self.netD_f: MultiscaleDiscriminator | None = nets.get("D_f")
        self.criterion_gan = GANLoss(opt.gan_mode)
        self.criterion_vgg = None
        if not opt.no_vgg:
            from .networks.vgg import VGGLoss

            self.criterion_vgg = VGGLoss()

    def networks(self) -> dict[str, nn.Module]:
        """Networks by checkpoint label (D, D_T0.., D_f); the VGG loss network is not one of them."""
        nets: dict[str, nn.Module] = {"D": self.netD}
        nets.update({f"D_T{s}": net for s, net in enumerate(self.netD_T)})
        if self.netD_f is not None:
            nets["D_f"] = self.netD_f
        return nets

    # ------------------------------------------------------------------ building blocks
    def gan_and_feature_matching(
        self, pred_real: DPredictions, pred_fake: DPredictions
    ) -> tuple[torch.Tensor, torch.Tensor]:
        loss_gan = self.criterion_gan(pred_fake, True, for_discriminator=False)
        if self.no_ganFeat:
            return loss_gan, torch.zeros_like(loss_gan)
        loss_feat = feature_matching_loss(pred_fake, pred_real, self.opt_num_D, self.n_layers_D, self.lambda_feat)
        return loss_gan, loss_feat

    def adversarial_losses(self, net: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """D on real, on detached fake (D losses), and on fake again (G losses). Inputs (N, C, H, W)."""
        pred_real = net(real)
        pred_fake_detached = net(fake.detach())
        d_real = self.criterion_gan(pred_real, True)
        d_fake = self.criterion_gan(pred_fake_detached, False)
        g_gan, g_feat = self.gan_and_feature_matching(pred_real, net(fake))
        return {"D_real": d_real, "D_fake": d_fake, "G_GAN": g_gan, "G_GAN_Feat": g_feat}

    def face_region(self, real_label: torch.Tensor) -> tuple[int, int, int, int] | None:
        """Square crop (ys, ye, xs, xe) of side fineSize//32*8 centred on the face pixels of all frames, clamped
        into the image; None when no face pixel is found. real_label: (N, C, H, W) pose input."""
        _, _, h, w = real_label.shape
        if not self.openpose_only:
            face = real_label[:, 2] > 0.9
        else:
            a = real_label
            face = (a[:, 0] > 0.19) & (a[:, 0] < 0.21) & (a[:, 1] < -0.99) & (a[:, 2] > -0.61) & (a[:, 2] < -0.59)
        points = face.nonzero()
        if points.size(0) == 0:
            return None
        ys, ye = int(points[:, 1].min()), int(points[:, 1].max())
        xs, xe = int(points[:, 2].min()), int(points[:, 2].max())
        half = self.face_size // 2
        yc = max(half, min(h - 1 - half, (ys + ye) // 2))
        xc = max(half, min(w - 1 - half, (xs + xe) // 2))
        return yc - half, yc + half, xc - half, xc + half

    # ------------------------------------------------------------------ losses
    def image_losses(
        self,
        real_image: torch.Tensor,
        fake_image: torch.Tensor,
        fake_raw_image: torch.Tensor | None,
        real_label: torch.Tensor,
        real_prev_image: torch.Tensor,
        fake_prev_image: torch.Tensor,
        flow: torch.Tensor | None,
        weight: torch.Tensor | None,
        flow_ref: torch.Tensor,
        conf_ref: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Per-frame losses of one chunk. All inputs (B, n, C, H, W) or flattened (N, C, H, W): images C=3,
        real_label C = label channels, flow/flow_ref C=2 (pixels, current->previous), weight/conf_ref C=1.

        Returns G_VGG, G_GAN, G_GAN_Feat, D_real, D_fake, G_Warp, F_Flow, F_Warp, W
        (+ G_f_GAN, G_f_GAN_Feat, D_f_real, D_f_fake with the face D). D_real counts the real pass twice when
        ``fake_raw_image`` is given (once per fake), as in the reference.
        """
        real_image, fake_image, fake_raw_image = map(flatten_frames, (real_image, fake_image, fake_raw_image))
        real_label, real_prev_image, fake_prev_image = map(
            flatten_frames, (real_label, real_prev_image, fake_prev_image)
        )
        flow, weight, flow_ref, conf_ref = map(flatten_frames, (flow, weight, flow_ref, conf_ref))
        zero = conf_ref.new_zeros(())
        losses: dict[str, torch.Tensor] = {}

        if flow is not None:
            losses["F_Flow"] = (
                masked_l1_loss(flow, flow_ref, conf_ref) * self.lambda_F / 2 ** (self.n_scales_spatial - 1)
            )
            losses["F_Warp"] = masked_l1_loss(warp(real_prev_image, flow), real_image, conf_ref) * self.lambda_T
            losses["W"] = masked_l1_loss(weight, torch.zeros_like(weight), conf_ref) if self.no_first_img else zero
        else:
            losses["F_Flow"] = losses["F_Warp"] = losses["W"] = zero

        vgg = self.criterion_vgg(fake_image, real_image) * self.lambda_feat if self.criterion_vgg is not None else zero
        real_pair = torch.cat([real_label, real_image], dim=1)
        adv = self.adversarial_losses(self.netD, real_pair, torch.cat([real_label, fake_image], dim=1))
        warp_target = warp(fake_prev_image, flow_ref).detach()
        losses["G_Warp"] = masked_l1_loss(fake_image, warp_target, conf_ref) * self.lambda_T

        if fake_raw_image is not None:
            if self.criterion_vgg is not None:
                vgg = vgg + self.criterion_vgg(fake_raw_image, real_image) * self.lambda_feat
            adv_raw = self.adversarial_losses(self.netD, real_pair, torch.cat([real_label, fake_raw_image], dim=1))
            adv = {k: adv[k] + adv_raw[k] for k in adv}
        losses["G_VGG"] = vgg
        losses.update(adv)

        if self.netD_f is not None:
            box = self.face_region(real_label)
            if box is None:
                losses.update({name: zero for name in FACE_LOSS_NAMES})
            else:
                ys, ye, xs, xe = box
                face = self.adversarial_losses(
                    self.netD_f,
                    torch.cat([real_label, real_image], dim=1)[:, :, ys:ye, xs:xe],
                    torch.cat([real_label, fake_image], dim=1)[:, :, ys:ye, xs:xe],
                )
                losses["G_f_GAN"] = face["G_GAN"] * FACE_LOSS_WEIGHT
                losses["G_f_GAN_Feat"] = face["G_GAN_Feat"] * FACE_LOSS_WEIGHT
                losses["D_f_real"] = face["D_real"]
                losses["D_f_fake"] = face["D_fake"]
        names = IMAGE_LOSS_NAMES + (FACE_LOSS_NAMES if self.netD_f is not None else ())
        return {name: losses[name] for name in names}

    def temporal_losses(
        self,
        scale: int,
        real: torch.Tensor,
        fake: torch.Tensor,
        flow_ref: torch.Tensor,
        conf_ref: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Losses of temporal D ``scale`` on frame groups: real/fake (G, tD, 3, H, W), flow_ref (G, tD-1, 2, H, W)
        in pixels (fed / 20). conf_ref is unused (the reference ignores it here). G_T_Warp is always 0."""
        del conf_ref
        if not 0 <= scale < len(self.netD_T):
            raise ValueError(f"temporal scale {scale} out of range (--n_scales_temporal {len(self.netD_T)})")
        g, _, _, h, w = real.shape
        flows = (flow_ref / FLOW_INPUT_SCALE).reshape(g, -1, h, w)  # (G, 2*(tD-1), H, W)
        real_stack = torch.cat([real.reshape(g, -1, h, w), flows], dim=1)  # (G, 3*tD + 2*(tD-1), H, W)
        fake_stack = torch.cat([fake.reshape(g, -1, h, w), flows], dim=1)
        adv = self.adversarial_losses(self.netD_T[scale], real_stack, fake_stack)
        return {
            "G_T_GAN": adv["G_GAN"],
            "G_T_GAN_Feat": adv["G_GAN_Feat"],
            "D_T_real": adv["D_real"],
            "D_T_fake": adv["D_fake"],
            "G_T_Warp": torch.zeros_like(adv["G_GAN"]),
        }

    @staticmethod
    def total_losses(
        image_losses: dict[str, torch.Tensor], temporal_losses: list[dict[str, torch.Tensor]]
    ) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """loss_D = (D_fake + D_real)/2 [+ (D_f_fake + D_f_real)/2];
        loss_G = sum of all G terms incl. every temporal scale's; loss_D_T[s] = (D_T_fake + D_T_real)/2."""
        losses = image_losses
        loss_d = (losses["D_fake"] + losses["D_real"]) * 0.5
        loss_g = losses["G_GAN"] + losses["G_GAN_Feat"] + losses["G_VGG"]
        loss_g = loss_g + losses["G_Warp"] + losses["F_Flow"] + losses["F_Warp"] + losses["W"]
        if "G_f_GAN" in losses:
            loss_g = loss_g + losses["G_f_GAN"] + losses["G_f_GAN_Feat"]
            loss_d = loss_d + (losses["D_f_fake"] + losses["D_f_real"]) * 0.5
        loss_d_t = []
        for scale_losses in temporal_losses:
            loss_g = loss_g + scale_losses["G_T_GAN"] + scale_losses["G_T_GAN_Feat"] + scale_losses["G_T_Warp"]
            loss_d_t.append((scale_losses["D_T_fake"] + scale_losses["D_T_real"]) * 0.5)
        return {"loss_G": loss_g, "loss_D": loss_d, "loss_D_T": loss_d_t}
