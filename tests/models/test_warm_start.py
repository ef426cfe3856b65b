"""--warm_start_G and --occlusion_init (models/warm_start.py): at step 0 the warm-started sequential generator
draws the per-frame generator's image whatever the previous frames hold, the occlusion weight starts where asked,
and wrong files or combinations are one clear error."""
from __future__ import annotations

import pytest
import torch

from models.generator_model import GeneratorModel
from models.single_frame_model import build_single_frame_generator
from models.warm_start import WarmStartError, warm_start
from options import TrainOptions
from options.base_options import OptionsError

ARCH = ["--label_nc", "0", "--input_nc", "1", "--loadSize", "64", "--ngf", "8", "--n_blocks", "3",
        "--n_downsample_G", "2", "--gpu_ids", "-1", "--dataroot", "unused"]


def options(*extra: str):
    return TrainOptions().parse([*ARCH, *extra], save=False, verbose=False)


def trained_looking(network: torch.nn.Module) -> None:
    """Weights unlike any initialisation (so a layer left uncopied shows)."""
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.2)


@pytest.fixture
def per_frame_file(tmp_path):
    opt = options()
    single = build_single_frame_generator(opt)
    trained_looking(single)
    path = tmp_path / "latest_net_G_64.pth"
    torch.save(single.state_dict(), path)
    return single, path


def test_warm_start_draws_the_per_frame_image_at_step_0(per_frame_file):
    single, path = per_frame_file
    opt = options("--warm_start_G", str(path))
    model = GeneratorModel(opt)
    lines = warm_start(model, opt)
    assert "warm start" in lines[0]
    generator = model.generators[0]
    labels = torch.rand(1, opt.n_frames_G, 1, 32, 48)  # oldest first; the current frame is the last
    expected = single(labels[:, -1])
    for seed in (0, 1):  # whatever the previous frames are, the raw image is the per-frame image
        prev = torch.rand(1, 3 * (opt.n_frames_G - 1), 32, 48, generator=torch.Generator().manual_seed(seed))
        out = generator(labels.reshape(1, -1, 32, 48), prev)
        assert (out["raw_image"] - expected).abs().max() < 2e-2  # the gate starts at 1e-3, not 0
    # the older frames' label channels start at zero, the previous-frame encoder is gated but trainable
    first = generator.model_down_seg[1].weight
    assert first[:, :-1].abs().sum() == 0 and torch.equal(first[:, -1:], single.model[1].weight)
    gate = generator.model_down_img[4 + 3 * opt.n_downsample_G - 2]
    assert isinstance(gate, torch.nn.BatchNorm2d) and gate.weight.abs().max() <= 1e-3
    out["image"].mean().backward()
    assert gate.weight.grad is not None and gate.weight.grad.abs().sum() > 0


def test_without_the_flag_the_generator_is_not_the_per_frame_one(per_frame_file):
    """The negative control: a fresh generator does not draw the per-frame image (the test above is not vacuous)."""
    single, _ = per_frame_file
    opt = options()
    model = GeneratorModel(opt)
    assert warm_start(model, opt) == []
    labels = torch.rand(1, opt.n_frames_G, 1, 32, 48)
    out = model.generators[0](labels.reshape(1, -1, 32, 48), torch.rand(1, 3 * (opt.n_frames_G - 1), 32, 48))
    assert (out["raw_image"] - single(labels[:, -1])).abs().max() > 0.1


def test_occlusion_init_sets_the_starting_weight():
    opt = options("--occlusion_init", "0.95")
    model = GeneratorModel(opt)
    warm_start(model, opt)
    out = model.generators[0](torch.rand(1, opt.n_frames_G, 32, 48), torch.rand(1, 3 * (opt.n_frames_G - 1), 32, 48))
    weight = out["weight"]
    assert 0.85 < weight.mean().item() < 0.99  # the reference's start is about 0.5
    fresh = GeneratorModel(options())
    reference = fresh.generators[0](torch.rand(1, 3, 32, 48), torch.rand(1, 6, 32, 48))["weight"]
    assert 0.3 < reference.mean().item() < 0.7


def test_bad_warm_starts_are_one_clear_error(tmp_path, per_frame_file):
    _, path = per_frame_file
    opt = options("--warm_start_G", str(tmp_path / "missing.pth"))
    with pytest.raises(WarmStartError, match="--warm_start_G .*missing.pth: no such file"):
        warm_start(GeneratorModel(opt), opt)
    opt = options("--warm_start_G", str(path), "--ngf", "16")  # another width than the per-frame run
    with pytest.raises(WarmStartError, match="not a per-frame generator of this run's architecture"):
        warm_start(GeneratorModel(opt), opt)
    opt = options("--warm_start_G", str(path), "--norm", "instance")
    with pytest.raises(WarmStartError, match="--norm batch"):
        warm_start(GeneratorModel(opt), opt)
    with pytest.raises(OptionsError, match="--occlusion_init must be in"):
        options("--occlusion_init", "1.5")
    with pytest.raises(OptionsError, match="--warm_start_G starts a new vid2vid run"):
        options("--warm_start_G", str(path), "--continue_train")
