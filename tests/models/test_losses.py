"""Loss formulas against hand-computed values, the warp convention, and the loss table (models/loss_table.py)."""

from __future__ import annotations

import math
from argparse import Namespace

import pytest
import torch

from models.discriminator_model import DiscriminatorModel
from models.loss_table import LossTable, build_loss_table
from models.networks import GANLoss, feature_matching_loss, masked_l1_loss, warp
from models.networks import vgg as vgg_module
from models.outputs import GeneratorChunk
from options import TrainOptions

PRED = torch.tensor([[[[2.0, -1.0], [0.5, 0.0]]]])  # (1, 1, 2, 2)


def predictions(*finals: torch.Tensor) -> list[list[torch.Tensor]]:
    return [[torch.zeros(1), final] for final in finals]


def test_lsgan() -> None:
    loss = GANLoss("ls")
    assert loss(predictions(PRED), True).item() == pytest.approx((1 + 4 + 0.25 + 1) / 4)
    assert loss(predictions(PRED), False).item() == pytest.approx((4 + 1 + 0.25 + 0) / 4)
    # summed over D scales
    assert loss(predictions(PRED, PRED), True).item() == pytest.approx(2 * (1 + 4 + 0.25 + 1) / 4)


def test_original_gan_is_bce_on_logits() -> None:
    loss = GANLoss("original")
    values = [2.0, -1.0, 0.5, 0.0]
    softplus = [math.log1p(math.exp(-v)) for v in values]  # -log(sigmoid(v))
    assert loss(predictions(PRED), True).item() == pytest.approx(sum(softplus) / 4, rel=1e-6)
    softplus_fake = [math.log1p(math.exp(v)) for v in values]  # -log(1 - sigmoid(v))
    assert loss(predictions(PRED), False).item() == pytest.approx(sum(softplus_fake) / 4, rel=1e-6)
    assert loss(predictions(PRED), True, for_discriminator=False).item() == pytest.approx(sum(softplus) / 4, rel=1e-6)


def test_hinge() -> None:
    loss = GANLoss("hinge")
    # D real: mean(relu(1 - x)) = (0 + 2 + 0.5 + 1) / 4; D fake: mean(relu(1 + x)) = (3 + 0 + 1.5 + 1) / 4
    assert loss(predictions(PRED), True).item() == pytest.approx(3.5 / 4)
    assert loss(predictions(PRED), False).item() == pytest.approx(5.5 / 4)
    # G: -mean(x)
    assert loss(predictions(PRED), True, for_discriminator=False).item() == pytest.approx(-1.5 / 4)
    with pytest.raises(ValueError):
        loss(predictions(PRED), False, for_discriminator=False)


def test_unknown_gan_mode() -> None:
    with pytest.raises(ValueError, match="--gan_mode"):
        GANLoss("wgan")


def test_feature_matching_weights() -> None:
    fake = [[torch.ones(1, 2, 2, 2), torch.zeros(1, 1, 1, 1)], [torch.full((1, 2, 2, 2), 3.0), torch.zeros(1, 1, 1, 1)]]
    real = [[torch.zeros(1, 2, 2, 2), torch.ones(1, 1, 1, 1)], [torch.ones(1, 2, 2, 2), torch.ones(1, 1, 1, 1)]]
    # n_layers_D 3 -> 4/(3+1) = 1; num_D 2 -> 1/2; lambda 10; last stage (prediction) excluded
    assert feature_matching_loss(fake, real, 2, 3, 10.0).item() == pytest.approx(0.5 * 10 * (1 + 2))
    # num_D larger than the number of scales (face D): weight still 1/num_D
    assert feature_matching_loss(fake[:1], real[:1], 4, 3, 10.0).item() == pytest.approx(0.25 * 10 * 1)


def test_masked_l1_is_not_normalised_by_mask_area() -> None:
    prediction = torch.ones(1, 2, 2, 2)
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    assert masked_l1_loss(prediction, torch.zeros_like(prediction), mask).item() == pytest.approx(2 / 8)


def test_warp_integer_shift_and_border() -> None:
    image = torch.arange(12.0).view(1, 1, 3, 4)
    flow = torch.zeros(1, 2, 3, 4)
    assert torch.allclose(warp(image, flow), image, atol=1e-5)
    flow[:, 0] = 1.0  # sample one pixel to the right; the last column clamps to the border
    expected = torch.cat([image[..., 1:], image[..., -1:]], dim=-1)
    assert torch.allclose(warp(image, flow), expected, atol=1e-5)
    flow = torch.zeros(1, 2, 3, 4)
    flow[:, 1] = 0.5  # half a pixel down: average of rows
    assert torch.allclose(warp(image, flow)[..., 0, :], (image[..., 0, :] + image[..., 1, :]) / 2, atol=1e-5)


def test_vgg_weights_missing_message(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(vgg_module, "vgg19_weights_path", lambda: str(tmp_path / "vgg19-dcbb9e9d.pth"))
    with pytest.raises(FileNotFoundError, match="--no_vgg"):
        vgg_module.VGGLoss()


# ---------------------------------------------------------------------------------------------- the loss table
SMALL = ["--gpu_ids", "-1", "--no_vgg", "--label_nc", "0", "--input_nc", "3", "--loadSize", "64", "--fineSize", "64",
         "--ndf", "8", "--num_D", "1", "--n_scales_temporal", "1"]
IMAGE_NAMES = ["G_VGG", "G_GAN", "G_GAN_Feat", "D_real", "D_fake", "G_Warp", "F_Flow", "F_Warp", "W"]
FACE_NAMES = ["G_f_GAN", "G_f_GAN_Feat", "D_f_real", "D_f_fake"]
TEMPORAL_NAMES = ["G_T_GAN", "G_T_GAN_Feat", "D_T_real", "D_T_fake", "G_T_Warp"]


def options(*extra: str) -> Namespace:
    return TrainOptions().parse(SMALL + list(extra), save=False, verbose=False)


def weights(table: LossTable) -> dict[str, tuple[float, str, float]]:
    return {t.name: (t.weight, t.total, t.total_weight) for t in table}


def chunk_inputs(h: int = 64, w: int = 64) -> tuple[GeneratorChunk, torch.Tensor, torch.Tensor]:
    """A generator output of one chunk (B=1, n=2 frames), with a face block in label channel 2."""
    gen = torch.Generator().manual_seed(0)

    def rand(c: int) -> torch.Tensor:
        return torch.rand(1, 2, c, h, w, generator=gen) * 2 - 1

    label = rand(3)
    label[:, :, 2, 20:30, 24:36] = 1.0  # > 0.9: the pose face marker `face_region` looks for
    out = GeneratorChunk(real_image=rand(3), fake_image=rand(3), fake_raw_image=rand(3), real_label=label,
                         real_prev_image=rand(3), fake_prev_image=rand(3), flow=rand(2) * 3,
                         weight=torch.rand(1, 2, 1, h, w, generator=gen), prev_outputs=None)
    conf_ref = (torch.rand(1, 2, 1, h, w, generator=gen) > 0.3).float()
    return out, rand(2) * 3, conf_ref


def losses_of(opt: Namespace, state: dict | None = None) -> tuple[DiscriminatorModel, dict, list[dict]]:
    """Image and (one group of) temporal losses of a DiscriminatorModel built from ``opt``."""
    torch.manual_seed(0)
    model = DiscriminatorModel(opt)
    if state is not None:
        model.load_state_dict(state)
    out, flow_ref, conf_ref = chunk_inputs()
    gen = torch.Generator().manual_seed(1)
    real, fake = (torch.rand(1, 3, 3, 64, 64, generator=gen) for _ in range(2))
    with torch.no_grad():
        image = model.image_losses(out, flow_ref, conf_ref)
        temporal = [model.temporal_losses(0, real, fake, torch.rand(1, 2, 2, 64, 64, generator=gen))]
    return model, image, temporal


def test_table_names_and_weights_from_the_options() -> None:
    table = build_loss_table(options("--n_scales_spatial", "2", "--lambda_F", "6"))
    assert [t.name for t in table.image] == IMAGE_NAMES
    assert [t.name for t in table.temporal] == TEMPORAL_NAMES
    assert weights(table) == {
        "G_VGG": (10.0, "G", 1.0), "G_GAN": (1.0, "G", 1.0), "G_GAN_Feat": (10.0, "G", 1.0),
        "D_real": (1.0, "D", 0.5), "D_fake": (1.0, "D", 0.5), "G_Warp": (10.0, "G", 1.0),
        "F_Flow": (6.0 / 2, "G", 1.0), "F_Warp": (10.0, "G", 1.0), "W": (0.0, "G", 1.0),
        "G_T_GAN": (1.0, "G", 1.0), "G_T_GAN_Feat": (10.0, "G", 1.0), "D_T_real": (1.0, "D_T", 0.5),
        "D_T_fake": (1.0, "D_T", 0.5), "G_T_Warp": (0.0, "G", 1.0),
    }  # fmt: skip
    assert build_loss_table(options("--n_scales_spatial", "3"))["F_Flow"].weight == 10.0 / 4


def test_lambda_T_changes_exactly_the_warp_terms() -> None:
    base, scaled = weights(build_loss_table(options())), weights(build_loss_table(options("--lambda_T", "2.5")))
    changed = {name for name in base if base[name] != scaled[name]}
    assert changed == {"G_Warp", "F_Warp"}
    for name in changed:
        assert scaled[name][0] == pytest.approx(base[name][0] * 0.25)
    # and the computed values: same D weights, same inputs
    model, image, temporal = losses_of(options())
    _, image_t, temporal_t = losses_of(options("--lambda_T", "2.5"), model.state_dict())
    for name, value in image.items():
        factor = 0.25 if name in changed else 1.0
        assert image_t[name].item() == pytest.approx(value.item() * factor, rel=1e-6), name
    assert image["G_Warp"].item() > 0 and image["F_Warp"].item() > 0
    values = [{k: v.item() for k, v in losses[0].items()} for losses in (temporal, temporal_t)]
    assert values[1] == pytest.approx(values[0])


def test_named_values_are_weighted_and_totals_are_the_weighted_sums() -> None:
    opt = options("--n_scales_spatial", "2", "--add_face_disc", "--no_first_img")
    model, image, temporal = losses_of(opt)
    out, flow_ref, conf_ref = chunk_inputs()
    flat = [x.flatten(0, 1) for x in (out.flow, flow_ref, conf_ref)]
    # the named value is the reference's: weight applied (F_Flow = masked L1 * lambda_F / 2^(S-1))
    assert image["F_Flow"].item() == pytest.approx(masked_l1_loss(*flat).item() * 10.0 / 2, rel=1e-6)
    table = model.loss_table
    totals = model.total_losses(image, temporal)
    expected_g = sum(t.total_weight * image[t.name].item() for t in table.image if t.total == "G")
    expected_g += sum(t.total_weight * temporal[0][t.name].item() for t in table.temporal if t.total == "G")
    assert totals["loss_G"].item() == pytest.approx(expected_g, rel=1e-6)
    face_d = image["D_f_real"] + image["D_f_fake"]
    assert totals["loss_D"].item() == pytest.approx(0.5 * (image["D_real"] + image["D_fake"] + face_d).item(), rel=1e-6)
    assert totals["loss_D_T"][0].item() == pytest.approx(
        0.5 * (temporal[0]["D_T_real"] + temporal[0]["D_T_fake"]).item(), rel=1e-6)
    logged = table.logged(image, {0: temporal[0]}, totals)
    assert list(logged) == IMAGE_NAMES + FACE_NAMES + [f"{n}0" for n in TEMPORAL_NAMES] + ["loss_G", "loss_D",
                                                                                          "loss_D_T0"]


def test_face_terms_only_with_add_face_disc() -> None:
    assert not set(FACE_NAMES) & {t.name for t in build_loss_table(options())}
    table = build_loss_table(options("--add_face_disc", "--lambda_feat", "4"))
    assert [t.name for t in table.image] == IMAGE_NAMES + FACE_NAMES
    assert weights(table)["G_f_GAN"] == (2.0, "G", 1.0) and weights(table)["G_f_GAN_Feat"] == (8.0, "G", 1.0)
    assert weights(table)["D_f_real"] == weights(table)["D_f_fake"] == (1.0, "D", 0.5)
    _, image, _ = losses_of(options("--add_face_disc"))
    assert list(image) == IMAGE_NAMES + FACE_NAMES and image["G_f_GAN"].item() > 0


def test_no_first_img_adds_W() -> None:
    assert build_loss_table(options())["W"].weight == 0.0
    assert build_loss_table(options("--no_first_img"))["W"].weight == 1.0
    model, image, temporal = losses_of(options())
    _, image_w, temporal_w = losses_of(options("--no_first_img"), model.state_dict())
    assert image["W"].item() == 0.0  # named as in the reference, but 0 and without effect
    out, _, conf_ref = chunk_inputs()
    weight = out.weight.flatten(0, 1)
    assert image_w["W"].item() == pytest.approx(
        masked_l1_loss(weight, torch.zeros_like(weight), conf_ref.flatten(0, 1)).item(), rel=1e-6)
    gain = model.total_losses(image_w, temporal_w)["loss_G"] - model.total_losses(image, temporal)["loss_G"]
    assert gain.item() == pytest.approx(image_w["W"].item(), rel=1e-5)


def test_terms_without_inputs_are_zero_and_unknown_step_values_fail() -> None:
    model = DiscriminatorModel(options("--no_flow"))
    out, flow_ref, conf_ref = chunk_inputs()
    with torch.no_grad():
        image = model.image_losses(out._replace(flow=None, weight=None), flow_ref, conf_ref)
    assert [image[n].item() for n in ("G_VGG", "F_Flow", "F_Warp", "W")] == [0.0] * 4  # no VGG net, no flow
    with pytest.raises(KeyError, match="no entry in the loss table"):
        model.loss_table.weigh(model.loss_table.image, {"G_Typo": torch.ones(())}, torch.zeros(()))
    with pytest.raises(TypeError):  # the generator's chunk, not positional tensors
        model.image_losses(out, flow_ref, conf_ref, conf_ref)
