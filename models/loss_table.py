"""The one table of vid2vid's loss terms, built once from the options.

Each `LossTerm` says what a loss is called (the reference's name, which is also the console / loss_log.txt /
TensorBoard name), which compute step of `DiscriminatorModel` gives its unweighted value, the weight that turns
that value into the named value, and which total it enters with which coefficient. `DiscriminatorModel` only
computes unweighted values; weighting, naming and summing into loss_G / loss_D / loss_D_T[s] happen here, so a
weight or a new term is one line of `build_loss_table`.

Named values are the weighted ones because that is what the reference reports (its F_Flow already holds
lambda_F / 2^(S-1), its G_f_GAN the face factor 2), and the parity tests compare them one by one.
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch

TOTALS = ("G", "D", "D_T")
FACE_WEIGHT = 2.0  # the face D's generator terms count double (reference)
D_AVERAGE = 0.5  # each D loss is the mean of its real and fake terms


@dataclass(frozen=True)
class LossTerm:
    """One loss: ``named value = weight * unweighted value``; ``total += total_weight * named value``.

    A weight of 0 switches the term off: its step is not run for it and its named value is 0. A term whose step
    yields no value (no VGG network, no flow output, no face in the frames) is 0 as well, as the reference
    reports such terms.
    """

    name: str
    step: str  # the DiscriminatorModel compute step giving the unweighted value (see its image_steps())
    weight: float
    total: str  # "G", "D" or "D_T"
    total_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.total not in TOTALS:
            raise ValueError(f"loss {self.name}: total {self.total!r} is not one of {TOTALS}")

    @property
    def active(self) -> bool:
        return self.weight != 0.0


Losses = dict[str, torch.Tensor]  # name -> 0-dim tensor


class LossTable:
    """Per-frame terms (``image``: image D, VGG, warp, flow, face D) and per-temporal-scale terms (``temporal``),
    each in the reference's order (the order of its loss dicts)."""

    def __init__(self, image: Sequence[LossTerm], temporal: Sequence[LossTerm]) -> None:
        self.image = tuple(image)
        self.temporal = tuple(temporal)
        names = [term.name for term in self.image + self.temporal]
        if len(set(names)) != len(names):
            raise ValueError(f"loss names are not unique: {names}")
        if any(term.total == "D_T" for term in self.image) or any(term.total == "D" for term in self.temporal):
            raise ValueError("D_T terms belong to the temporal table and D terms to the image table")

    def __iter__(self) -> Iterator[LossTerm]:
        return iter(self.image + self.temporal)

    def __getitem__(self, name: str) -> LossTerm:
        for term in self:
            if term.name == name:
                return term
        raise KeyError(f"no loss term {name!r}; the table has {[t.name for t in self]}")

    @staticmethod
    def steps(terms: Sequence[LossTerm]) -> list[str]:
        """The compute steps that have at least one active term, in table order (each once)."""
        return list(dict.fromkeys(term.step for term in terms if term.active))

    @staticmethod
    def weigh(terms: Sequence[LossTerm], raw: Mapping[str, torch.Tensor], zero: torch.Tensor) -> Losses:
        """Named (weighted) values of ``terms`` in table order from the steps' unweighted 0-dim values; 0 for a
        term that is off or that no step produced."""
        known = {term.name for term in terms}
        unknown = set(raw) - known
        if unknown:  # a step naming a term the table lacks is a wiring bug, not a zero
            raise KeyError(f"loss step values {sorted(unknown)} have no entry in the loss table")
        return {t.name: raw[t.name] * t.weight if t.active and t.name in raw else zero for t in terms}

    @staticmethod
    def weighted_sum(terms: Sequence[LossTerm], named: Mapping[str, torch.Tensor], total: str,
                     start: torch.Tensor | None = None) -> torch.Tensor | None:
        """``start + sum(total_weight * named[name])`` over the terms entering ``total`` (table order, as the
        reference adds them); None when nothing enters and no start is given."""
        result = start
        for term in terms:
            if term.total == total:
                value = named[term.name] * term.total_weight
                result = value if result is None else result + value
        return result

    def totals(self, image: Losses, temporal: Sequence[Losses]) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """loss_G (image G terms + every temporal scale's G terms), loss_D (image and face D terms) and
        loss_D_T (one per temporal scale that ran, in the order of ``temporal``)."""
        loss_g = self.weighted_sum(self.image, image, "G")
        for scale_losses in temporal:
            loss_g = self.weighted_sum(self.temporal, scale_losses, "G", loss_g)
        loss_d = self.weighted_sum(self.image, image, "D")
        loss_d_t = [self.weighted_sum(self.temporal, scale_losses, "D_T") for scale_losses in temporal]
        return {"loss_G": loss_g, "loss_D": loss_d, "loss_D_T": loss_d_t}

    @staticmethod
    def logged(image: Losses, temporal: Mapping[int, Losses],
               totals: Mapping[str, torch.Tensor | list[torch.Tensor]]) -> dict[str, torch.Tensor]:
        """The flat name -> detached fp32 0-dim tensor dict shown on the console, in loss_log.txt and TensorBoard:
        the table's names, temporal ones suffixed with their scale (G_T_GAN0), then loss_G, loss_D, loss_D_T{s}.

        temporal: scale -> that scale's named values, for the scales that ran (the same order as totals' loss_D_T).
        """
        named = {name: value.detach().float() for name, value in image.items()}
        for s, scale_losses in temporal.items():
            named.update({f"{name}{s}": value.detach().float() for name, value in scale_losses.items()})
        named["loss_G"] = totals["loss_G"].detach().float()
        named["loss_D"] = totals["loss_D"].detach().float()
        for s, value in zip(temporal, totals["loss_D_T"], strict=True):
            named[f"loss_D_T{s}"] = value.detach().float()
        return named


def build_loss_table(opt: Namespace) -> LossTable:
    """The loss terms and their weights for these options (``--lambda_feat``, ``--lambda_F``, ``--lambda_T``,
    ``--n_scales_spatial``, ``--no_first_img``, ``--add_face_disc``). The per-frame model (``--model
    single_frame``) has pix2pixHD's terms only: VGG, image GAN and feature matching.

    Switches that remove a term's inputs act through the steps, not the weights: ``--no_vgg`` builds no VGG
    network, ``--no_ganFeat`` no intermediate D features, ``--no_flow`` no flow output; those terms are then 0.
    """
    feat = opt.lambda_feat
    image = [
        LossTerm("G_VGG", "vgg", feat, "G"),  # on fake_B and on fake_B_raw
        LossTerm("G_GAN", "image_D", 1.0, "G"),
        LossTerm("G_GAN_Feat", "image_D", feat, "G"),
        LossTerm("D_real", "image_D", 1.0, "D", D_AVERAGE),
        LossTerm("D_fake", "image_D", 1.0, "D", D_AVERAGE),
    ]
    if getattr(opt, "model", "vid2vid") == "single_frame":
        return LossTable(image, [])
    image += [
        LossTerm("G_Warp", "warp", opt.lambda_T, "G"),
        # flows are in pixels of the finest scale, twice as large per extra scale: 1/2 per extra scale keeps
        # the term at the size it has with one scale
        LossTerm("F_Flow", "flow", opt.lambda_F / 2 ** (opt.n_scales_spatial - 1), "G"),
        LossTerm("F_Warp", "flow", opt.lambda_T, "G"),
        # pulls G's blend weight towards 0 (towards the warped previous frame); the reference adds it only
        # with --no_first_img
        LossTerm("W", "flow", 1.0 if opt.no_first_img else 0.0, "G"),
    ]
    if opt.add_face_disc:
        image += [
            LossTerm("G_f_GAN", "face_D", FACE_WEIGHT, "G"),
            LossTerm("G_f_GAN_Feat", "face_D", FACE_WEIGHT * feat, "G"),
            LossTerm("D_f_real", "face_D", 1.0, "D", D_AVERAGE),
            LossTerm("D_f_fake", "face_D", 1.0, "D", D_AVERAGE),
        ]
    temporal = [
        LossTerm("G_T_GAN", "temporal_D", 1.0, "G"),
        LossTerm("G_T_GAN_Feat", "temporal_D", feat, "G"),
        LossTerm("D_T_real", "temporal_D", 1.0, "D_T", D_AVERAGE),
        LossTerm("D_T_fake", "temporal_D", 1.0, "D_T", D_AVERAGE),
        LossTerm("G_T_Warp", "temporal_D", 0.0, "G"),  # the reference names it but it is always 0
    ]
    return LossTable(image, temporal)

