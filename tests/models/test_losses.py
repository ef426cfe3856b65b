"""Loss formulas against hand-computed values, and the warp convention."""

from __future__ import annotations

import math

import pytest
import torch

from models.networks import GANLoss, feature_matching_loss, masked_l1_loss, warp
from models.networks import vgg as vgg_module

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
