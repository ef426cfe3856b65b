"""Generator-model behaviour not covered by the reference vectors: first frames at test time, option
errors, temporal frame grouping across chunks."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from models.generator_model import GeneratorModel
from models.input_encoding import encode_labels, instance_edges
from models.temporal_sampling import TemporalFrameHistory

VECTOR = Path(__file__).resolve().parents[1] / "data" / "reference" / "vectors" / "v1_label_inst_fg_1scale.pt"


def make_options(**overrides) -> argparse.Namespace:
    opt = dict(torch.load(VECTOR, weights_only=True)["opt_test"])
    opt.update(overrides)
    return argparse.Namespace(**opt)


def labels_and_instances(n_frames: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 8, (1, n_frames, 1, 32, 64), generator=generator).float()
    instances = torch.randint(0, 3, (1, n_frames, 1, 32, 64), generator=generator).float()
    return labels, instances


def test_single_frame_generator_makes_the_first_frames() -> None:
    torch.manual_seed(0)
    opt = make_options(use_real_img=False, use_single_G=True, dataroot="datasets/Cityscapes/", loadSize=512, n_blocks=1)
    model = GeneratorModel(opt)
    assert set(model.networks()) == {"G0", "G_single"}
    labels, instances = labels_and_instances()
    out = model.inference(labels, None, instances, None)
    assert out.fake_image.shape == (1, 3, 32, 64)
    # the history holds the second single-G frame followed by the new output
    one_hot = encode_labels(labels, opt.label_nc)  # no instance channel for the single G
    expected_second = model.single_generator(one_hot[:, 1])
    assert torch.allclose(out.prev_outputs[0][:, 0], expected_second, atol=1e-5)
    assert torch.equal(out.prev_outputs[0][:, 1], out.fake_image)


def test_no_way_to_make_first_frames_is_an_error() -> None:
    model = GeneratorModel(make_options(use_real_img=False))
    labels, instances = labels_and_instances()
    with pytest.raises(ValueError, match="--use_real_img"):
        model.inference(labels, None, instances, None)


def test_label_values_out_of_range() -> None:
    with pytest.raises(ValueError, match="--label_nc 8"):
        encode_labels(torch.full((1, 1, 1, 4, 4), 8.0), 8)


def test_instance_edges_mark_both_sides() -> None:
    ids = torch.tensor([[1.0, 1.0, 2.0, 2.0]]).expand(3, 4)
    edges = instance_edges(ids)
    assert edges[0].tolist() == [0.0, 1.0, 1.0, 0.0]


def test_temporal_groups_span_chunks() -> None:
    history = TemporalFrameHistory(n_scales_temporal=2, n_frames_D=3)
    calls = []

    def fake_flow(current: torch.Tensor, previous: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        calls.append((current[..., 0, 0, 0].clone(), previous[..., 0, 0, 0].clone()))
        g, n, _, h, w = current.shape
        return torch.zeros(g, n, 2, h, w), torch.ones(g, n, 1, h, w)

    def frames(start: int, channels: int) -> torch.Tensor:
        return torch.arange(start, start + 4.0).view(1, 4, 1, 1, 1).expand(1, 4, channels, 2, 2).clone()

    first = history.update(frames(0, 3), frames(0, 3), frames(0, 2), frames(0, 1), fake_flow)
    assert first[0]["real"][:, :, 0, 0, 0].tolist() == [[1.0, 2.0, 3.0]]
    assert first[0]["flow_ref"][:, :, 0, 0, 0].tolist() == [[2.0, 3.0]]
    assert first[1] is None
    second = history.update(frames(4, 3), frames(4, 3), frames(4, 2), frames(4, 1), fake_flow)
    assert second[0]["real"][:, :, 0, 0, 0].tolist() == [[5.0, 6.0, 7.0], [2.0, 3.0, 4.0]]
    assert second[1]["real"][:, :, 0, 0, 0].tolist() == [[1.0, 4.0, 7.0]]
    assert [c.tolist() for c in calls[0]] == [[[4.0, 7.0]], [[1.0, 4.0]]]


def test_backpropagation_through_previous_outputs() -> None:
    """--max_frames_backpropagate: with n = 1 the previous outputs fed to G are always detached, with n = 2 the
    second frame's loss also reaches G through the first generated frame (same forward values either way)."""
    opt = make_options(isTrain=True, use_real_img=False)
    labels, instances = labels_and_instances(n_frames=4)  # 2 history + 2 generated frames
    real = torch.rand(1, 4, 3, 32, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    grads, images = [], []
    for n in (1, 2):
        torch.manual_seed(0)
        model = GeneratorModel(opt)
        out = model(labels, real, instances, None, n_frames_backpropagate=n)
        out.fake_image[:, 1].square().mean().backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
        images.append(out.fake_image.detach())
    assert torch.allclose(images[0], images[1])
    assert not torch.allclose(grads[0], grads[1])
