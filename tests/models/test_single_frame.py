"""The per-frame baseline: train.py --model single_frame trains it, its files are where --use_single_G finds
them (as NVIDIA's downloads are), test.py --model single_frame runs it on every frame, and a vid2vid test run
uses it for its first frames."""
from __future__ import annotations

import pytest
import torch

import train
from data import create_dataset
from models.checkpoint import read_state_dict
from models.inference import generate, load_test_model
from models.single_frame_model import SingleFrameModel
from options import TestOptions
from tests.helpers import load_script, tiny_sample_dataset

TINY = ["--label_nc", "35", "--use_instance", "--fg", "--loadSize", "64", "--ngf", "8", "--ndf", "8",
        "--n_blocks", "2", "--n_downsample_G", "2", "--num_D", "1", "--no_vgg", "--flow_net", "dis",
        "--gpu_ids", "-1", "--nThreads", "0", "--n_frames_total", "4", "--max_frames_per_gpu", "2"]
TEST = TINY[:TINY.index("--num_D")] + ["--gpu_ids", "-1", "--nThreads", "0"]  # the architecture flags


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A Cityscapes-named sample dataset, a 4-step single-frame run named as the published one and a vid2vid
    run, trained once for the module (cwd-relative checkpoints/ and runs/ under a temporary folder)."""
    root = tmp_path_factory.mktemp("single")
    data = root / "Cityscapes"
    tiny_sample_dataset(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        common = ["--dataroot", str(data), *TINY, "--niter", "1", "--niter_decay", "1", "--print_freq", "1"]
        assert train.main(["--model", "single_frame", "--name", "label2city_single", *common]) == 0
        assert train.main(["--name", "vid", *common]) == 0
    return root


def test_single_frame_training_writes_the_published_layout(workdir):
    run = workdir / "checkpoints" / "label2city_single"
    names = {p.name for p in run.glob("*.pth")}
    assert {"latest_net_G_64.pth", "latest_net_D.pth", "1_net_G_64.pth", "latest_training_state.pth"} <= names
    assert not any("G0" in n or "D_T" in n for n in names)
    state = torch.load(run / "latest_training_state.pth", weights_only=True)
    assert set(state["optimizers"]) == {"G", "D"} and state["options"]["model"] == "single_frame"
    # pix2pixHD losses only: no flow, warp or temporal term is computed or logged
    log = (run / "loss_log.txt").read_text()
    assert "G_GAN=" in log and "D_real=" in log and "G_GAN_Feat=" in log
    assert "F_Flow" not in log and "G_Warp" not in log and "G_T_" not in log
    # the image D reads one-hot labels without the instance-edge channel (35 + 3 channels)
    d = read_state_dict(run / "latest_net_D.pth")
    assert d["scale0_layer0.0.weight"].shape[1] == 35 + 3
    g = read_state_dict(run / "latest_net_G_64.pth")
    first_conv = next(v for k, v in g.items() if k.endswith("weight") and v.dim() == 4)
    assert first_conv.shape[1] == 35  # label-only input, as --use_single_G feeds it
    assert not torch.equal(g["model.1.weight"], read_state_dict(run / "1_net_G_64.pth")["model.1.weight"])


def test_single_frame_training_learns(workdir, tmp_path, monkeypatch):
    """More steps on one fixed clip lower the L1 distance to the real frames (it fits, it does not just run)."""
    monkeypatch.chdir(tmp_path)
    from models.single_frame_trainer import SingleFrameTrainer
    from options import TrainOptions

    opt = TrainOptions().parse_cli(["--model", "single_frame", "--name", "fit", "--dataroot",
                                    str(workdir / "Cityscapes"), *TINY],
                                   save=False)
    trainer = SingleFrameTrainer(opt, torch.device("cpu"))
    trainer.set_epoch(1)
    clip = create_dataset(opt)[0].as_batch()
    model = trainer.model_g

    def l1() -> float:
        with torch.no_grad():
            return float((model(clip.label).fake_image - clip.real).abs().mean())

    before = l1()
    for _ in range(20):  # (feature matching pulls G towards the real frames; measured: 0.41 -> 0.19)
        result = trainer.train_item(clip)
    assert torch.isfinite(result.losses["loss_G"]) and result.frames == clip.label.size(1)
    assert l1() < 0.7 * before


def test_use_single_G_finds_the_trained_run_by_dataroot(workdir, monkeypatch):
    """A vid2vid test with --use_single_G makes its first frames with the trained per-frame G (default folder
    label2city_single for a Cityscapes dataroot) and test.py writes every frame."""
    monkeypatch.chdir(workdir)
    opt = TestOptions().parse_cli(["--name", "vid", "--dataroot", str(workdir / "Cityscapes"), *TEST,
                                   "--use_single_G"], save=False)
    model = load_test_model(opt)
    saved = read_state_dict(workdir / "checkpoints" / "label2city_single" / "latest_net_G_64.pth")
    assert all(torch.equal(model.single_generator.state_dict()[k], v) for k, v in saved.items())
    sample = create_dataset(opt)[0].as_batch()
    labels = model.encode(sample.label, sample.instance)
    history = model.first_frames(labels, None, sample.instance)
    expected = model.single_generator(labels[:, 0, :35])
    torch.testing.assert_close(history[:, 0], expected)
    assert load_script("test.py").main(["--name", "vid", "--dataroot", str(workdir / "Cityscapes"), "--gpu_ids", "-1",
                                "--use_single_G"]) == 0
    assert len(list((workdir / "results" / "vid" / "test_latest").glob("*/fake_B_*.jpg"))) == 6


def test_single_frame_test_run_generates_every_frame_from_its_label(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    argv = ["--name", "label2city_single", "--dataroot", str(workdir / "Cityscapes"), "--gpu_ids", "-1"]
    assert load_script("test.py").main(argv) == 0  # --model single_frame and the architecture come from opt.json
    assert len(list((workdir / "results" / "label2city_single" / "test_latest").glob("*/fake_B_*.jpg"))) == 6
    opt = TestOptions().parse_cli([*argv, *TEST, "--model", "single_frame"], save=False)
    model = load_test_model(opt)
    assert isinstance(model, SingleFrameModel)
    samples = [create_dataset(opt)[i] for i in range(2)]
    for sample, out in zip(samples, generate(model, samples), strict=True):
        one_hot = model.encode(sample.as_batch().label[:, -1:])[:, 0]
        torch.testing.assert_close(out.fake_image, model.generators[0](one_hot)[0])


def test_use_single_G_names_a_run_and_refuses_a_mismatch(workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    (workdir / "street").mkdir(exist_ok=True)
    (workdir / "street" / "test_A").symlink_to(workdir / "Cityscapes" / "test_A")
    (workdir / "street" / "test_inst").symlink_to(workdir / "Cityscapes" / "test_inst")
    base = ["--name", "vid", "--dataroot", str(workdir / "street"), "--gpu_ids", "-1", "--use_single_G"]
    test_py = load_script("test.py")
    assert test_py.main(base) == 1
    assert "--single_G_name" in capsys.readouterr().err  # no folder is known for this dataroot: say how to name one
    assert test_py.main([*base, "--single_G_name", "label2city_single"]) == 0
    assert test_py.main([*base, "--single_G_name", "missing_run"]) == 1
    err = capsys.readouterr().err
    assert "missing_run not found" in err and "train.py --model single_frame --name missing_run" in err
    (workdir / "checkpoints" / "empty_run").mkdir()
    assert test_py.main([*base, "--single_G_name", "empty_run"]) == 1
    assert "exist for --loadSize 512/1024/2048" in capsys.readouterr().err  # no opt.json: a published layout
    opt = TestOptions().parse_cli([*base, *TEST, "--single_G_name", "label2city_single", "--loadSize", "128"],
                                  save=False)
    with pytest.raises(ValueError, match="--loadSize 64.*--loadSize 128"):
        load_test_model(opt)
