"""Discriminators and the compute steps of vid2vid's losses: image D (+ feature matching), VGG, warp and
flow/weight terms, face D on a crop around the face (pose data), and the temporal Ds.

Which terms exist, their weights and the totals they enter are the loss table's (`models/loss_table.py`,
built from the options); each step here returns unweighted values keyed by the table's names. The trainer owns
the optimizers and calls ``backward`` on the totals."""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Callable

import torch
from torch import nn

from .loss_table import LossTable, build_loss_table
from .networks.discriminator import MultiscaleDiscriminator
from .networks.factory import build_discriminators
from .networks.losses import DPredictions, GANLoss, feature_matching_loss, masked_l1_loss
from .networks.warp import warp
from .outputs import GeneratorChunk

FLOW_INPUT_SCALE = 20.0  # temporal D sees reference flows / 20
# the generator outputs `image_losses` reads (GeneratorModel.forward's keys), in the former positional order
IMAGE_INPUTS = ("real_image", "fake_image", "fake_raw_image", "real_label", "real_prev_image", "fake_prev_image",
                "flow", "weight")
Inputs = dict[str, torch.Tensor | None]  # flattened (N, C, H, W) image inputs + flow_ref, conf_ref
Losses = dict[str, torch.Tensor]


def flatten_frames(x: torch.Tensor | None) -> torch.Tensor | None:
    """(B, n, C, H, W) -> (B*n, C, H, W); 4-D input is returned as is."""
    if x is None or x.dim() == 4:
        return x
    b, n, c, h, w = x.shape
    return x.reshape(b * n, c, h, w)


class DiscriminatorModel(nn.Module):
    """Holds ``D``, ``D_T{s}`` and ``D_f`` and computes the losses of ``self.loss_table``.

    ``image_losses`` and ``temporal_losses`` return dicts of weighted 0-dim tensors named as in the reference
    (G_GAN, D_real, ..., G_T_GAN, ...); ``total_losses`` sums them into loss_G / loss_D / loss_D_T.
    """

    def __init__(self, opt: Namespace, vgg: nn.Module | None = None) -> None:
        """``vgg``: the VGG loss network to use (default: built from the VGG19 weights); unused with --no_vgg."""
        super().__init__()
        self.opt_num_D = opt.num_D
        self.n_layers_D = opt.n_layers_D
        self.no_ganFeat = bool(opt.no_ganFeat)
        self.openpose_only = bool(opt.openpose_only)
        self.face_size = opt.fineSize // 32 * 8
        self.loss_table: LossTable = build_loss_table(opt)
        nets = build_discriminators(opt)
        self.netD: MultiscaleDiscriminator = nets["D"]
        self.netD_T = nn.ModuleList(nets[f"D_T{s}"] for s in range(opt.n_scales_temporal))
        self.netD_f: MultiscaleDiscriminator | None = nets.get("D_f")
        self.criterion_gan = GANLoss(opt.gan_mode)
        self.criterion_vgg: nn.Module | None = None  # None (--no_vgg): G_VGG is 0
        if not opt.no_vgg:
            from .networks.vgg import VGGLoss

            self.criterion_vgg = VGGLoss() if vgg is None else vgg

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
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """G's GAN loss and the unweighted feature matching (None with --no_ganFeat: no features)."""
        loss_gan = self.criterion_gan(pred_fake, True, for_discriminator=False)
        if self.no_ganFeat:
            return loss_gan, None
        return loss_gan, feature_matching_loss(pred_fake, pred_real, self.opt_num_D, self.n_layers_D)

    def adversarial_losses(self, net: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> Losses:
        """D on real, on detached fake (D losses), and on fake again (G losses), in that order. Inputs
        (N, C, H, W). Unweighted G_GAN, G_GAN_Feat (absent with --no_ganFeat), D_real, D_fake."""
        pred_real = net(real)
        pred_fake_detached = net(fake.detach())
        d_real = self.criterion_gan(pred_real, True)
        d_fake = self.criterion_gan(pred_fake_detached, False)
        g_gan, g_feat = self.gan_and_feature_matching(pred_real, net(fake))
        losses = {"G_GAN": g_gan, "D_real": d_real, "D_fake": d_fake}
        if g_feat is not None:
            losses["G_GAN_Feat"] = g_feat
        return losses

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

    # ------------------------------------------------------------------ compute steps (unweighted)
    def step_vgg(self, x: Inputs) -> Losses:
        """G_VGG: VGG loss of fake_B (+ fake_B_raw) against the real frames; nothing without a VGG network."""
        if self.criterion_vgg is None:
            return {}
        vgg = self.criterion_vgg(x["fake_image"], x["real_image"])
        if x["fake_raw_image"] is not None:
            vgg = vgg + self.criterion_vgg(x["fake_raw_image"], x["real_image"])
        return {"G_VGG": vgg}

    def step_image_d(self, x: Inputs) -> Losses:
        """Image D on (label, frame) pairs. With fake_B_raw its terms are added to fake_B's, so D_real counts
        the real pass twice, as in the reference."""
        real_pair = torch.cat([x["real_label"], x["real_image"]], dim=1)
        adv = self.adversarial_losses(self.netD, real_pair, torch.cat([x["real_label"], x["fake_image"]], dim=1))
        if x["fake_raw_image"] is not None:
            raw_pair = torch.cat([x["real_label"], x["fake_raw_image"]], dim=1)
            adv_raw = self.adversarial_losses(self.netD, real_pair, raw_pair)
            adv = {k: adv[k] + adv_raw[k] for k in adv}
        return adv

    def step_warp(self, x: Inputs) -> Losses:
        """G_Warp: fake_B against the previous generated frame warped by the reference flow (a fixed target)."""
        target = warp(x["fake_prev_image"], x["flow_ref"]).detach()
        return {"G_Warp": masked_l1_loss(x["fake_image"], target, x["conf_ref"])}

    def step_flow(self, x: Inputs) -> Losses:
        """F_Flow (G's flow vs the reference flow), F_Warp (real previous frame warped by G's flow vs the real
        frame), W (G's blend weight vs 0), all masked by conf_ref; nothing when G gave no flow."""
        flow, conf = x["flow"], x["conf_ref"]
        if flow is None:
            return {}
        return {
            "F_Flow": masked_l1_loss(flow, x["flow_ref"], conf),
            "F_Warp": masked_l1_loss(warp(x["real_prev_image"], flow), x["real_image"], conf),
            "W": masked_l1_loss(x["weight"], torch.zeros_like(x["weight"]), conf),
        }

    def step_face_d(self, x: Inputs) -> Losses:
        """Face D on the face crop of fake_B (not fake_B_raw); nothing when no face pixel is found."""
        box = self.face_region(x["real_label"])
        if box is None or self.netD_f is None:
            return {}
        ys, ye, xs, xe = box
        face = self.adversarial_losses(
            self.netD_f,
            torch.cat([x["real_label"], x["real_image"]], dim=1)[:, :, ys:ye, xs:xe],
            torch.cat([x["real_label"], x["fake_image"]], dim=1)[:, :, ys:ye, xs:xe],
        )
        names = {"G_GAN": "G_f_GAN", "G_GAN_Feat": "G_f_GAN_Feat", "D_real": "D_f_real", "D_fake": "D_f_fake"}
        return {names[k]: v for k, v in face.items()}

    def image_steps(self) -> dict[str, Callable[[Inputs], Losses]]:
        """Step name (LossTerm.step) -> compute step of the per-frame terms."""
        return {"vgg": self.step_vgg, "image_D": self.step_image_d, "warp": self.step_warp,
                "flow": self.step_flow, "face_D": self.step_face_d}

    # ------------------------------------------------------------------ losses
    def image_losses(
        self,
        outputs: GeneratorChunk,
        flow_ref: torch.Tensor | None,
        conf_ref: torch.Tensor | None,
    ) -> Losses:
        """Weighted per-frame losses of one chunk, in the table's order (the reference's names).

        Args:
            outputs: `GeneratorModel.forward`'s chunk (other fields are ignored): real_image, fake_image,
                fake_raw_image (or None), real_prev_image, fake_prev_image (B, n, 3, H, W); real_label
                (B, n, C, H, W); flow (B, n, 2, H, W) and weight (B, n, 1, H, W) or None. Flattened
                (N, C, H, W) tensors work too.
            flow_ref: (B, n, 2, H, W) reference flow in pixels, current -> previous (None for the per-frame
                model, whose table has no flow or warp term).
            conf_ref: (B, n, 1, H, W) its confidence (or None).
        """
        x: Inputs = {key: flatten_frames(getattr(outputs, key)) for key in IMAGE_INPUTS}
        x["flow_ref"], x["conf_ref"] = flatten_frames(flow_ref), flatten_frames(conf_ref)
        table, steps = self.loss_table, self.image_steps()
        raw: Losses = {}
        for step in table.steps(table.image):
            raw.update(steps[step](x))
        return table.weigh(table.image, raw, x["real_image"].new_zeros(()))

    def temporal_losses(
        self,
        scale: int,
        real: torch.Tensor,
        fake: torch.Tensor,
        flow_ref: torch.Tensor,
        conf_ref: torch.Tensor | None = None,
    ) -> Losses:
        """Weighted losses of temporal D ``scale`` on frame groups: real/fake (G, tD, 3, H, W), flow_ref
        (G, tD-1, 2, H, W) in pixels (fed / 20). conf_ref is unused (the reference ignores it here)."""
        del conf_ref
        if not 0 <= scale < len(self.netD_T):
            raise ValueError(f"temporal scale {scale} out of range (--n_scales_temporal {len(self.netD_T)})")
        g, _, _, h, w = real.shape
        flows = (flow_ref / FLOW_INPUT_SCALE).reshape(g, -1, h, w)  # (G, 2*(tD-1), H, W)
        real_stack = torch.cat([real.reshape(g, -1, h, w), flows], dim=1)  # (G, 3*tD + 2*(tD-1), H, W)
        fake_stack = torch.cat([fake.reshape(g, -1, h, w), flows], dim=1)
        adv = self.adversarial_losses(self.netD_T[scale], real_stack, fake_stack)
        names = {"G_GAN": "G_T_GAN", "G_GAN_Feat": "G_T_GAN_Feat", "D_real": "D_T_real", "D_fake": "D_T_fake"}
        raw = {names[k]: v for k, v in adv.items()}
        return self.loss_table.weigh(self.loss_table.temporal, raw, adv["G_GAN"].new_zeros(()))

    def total_losses(self, image_losses: Losses, temporal_losses: list[Losses]
                     ) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """loss_G, loss_D and loss_D_T[s] (one per entry of ``temporal_losses``): the table's weighted sums
        of the named values (`LossTable.totals`)."""
        return self.loss_table.totals(image_losses, temporal_losses)
