"""Dataset modes are a seam: a new mode is one file (tests/data/toy_mode.py, from data/modes/template.py) and the
shared training-clip and test-window samplers, the options and train.py serve it unchanged."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import tests.data.toy_mode  # noqa: F401 - registers --dataset_mode toy
from data import Clip, DataError, TemporalDataset, TestDataset, create_dataset
from data.modes import MODES, get_mode, mode_names
from data.modes.folders import FolderMode
from options import TestOptions, TrainOptions
from tests.helpers import load_script

TINY = ["--ngf", "8", "--ndf", "8", "--n_blocks", "2", "--n_downsample_G", "2", "--num_D", "1", "--no_vgg",
        "--flow_net", "dis", "--gpu_ids", "-1", "--nThreads", "0", "--loadSize", "64", "--n_frames_total", "2",
        "--max_frames_per_gpu", "2", "--niter", "1", "--niter_decay", "0"]


def write_frames(root: Path, phase: str, n_seqs: int = 2, n_frames: int = 6) -> None:
    rng = np.random.default_rng(0)
    for s in range(n_seqs):
        folder = root / f"{phase}_img" / f"clip{s}"
        folder.mkdir(parents=True)
        for t in range(n_frames):
            frame = rng.integers(0, 256, (32, 64, 3), dtype=np.uint8)
            Image.fromarray(frame).save(folder / f"{t:04d}.png")


def test_registry_names_the_reference_spellings_and_new_modes() -> None:
    assert get_mode("temporal") is get_mode("test") is get_mode("folders") is FolderMode
    assert MODES["toy"].name == "toy" and "toy" in mode_names()
    assert get_mode("face").name == "face" and get_mode("pose").name == "pose"
    with pytest.raises(DataError, match="unknown --dataset_mode 'nope'"):
        get_mode("nope")


def test_toy_mode_flags_defaults_and_samplers(tmp_path) -> None:
    write_frames(tmp_path, "train")
    opt = TrainOptions().parse(["--dataroot", str(tmp_path), "--dataset_mode", "toy", *TINY], save=False,
                               verbose=False)
    assert (opt.toy_threshold, opt.label_nc, opt.input_nc) == (0.4, 0, 1)  # its own flag and defaults
    clip = create_dataset(opt)[0]
    assert isinstance(clip, Clip) and clip.label.shape == (4, 1, 32, 64) and clip.real.shape == (4, 3, 32, 64)
    assert set(clip.label.unique().tolist()) <= {-1.0, 1.0} and clip.instance is None
    assert clip.sequence in ("clip0", "clip1") and len(clip.frame_paths) == 4
    test_argv = ["--dataroot", str(tmp_path), "--phase", "train", "--dataset_mode", "toy", "--toy_threshold", "0.9",
                 "--use_real_img", "--loadSize", "64", "--nThreads", "0"]
    test_opt = TestOptions().parse(test_argv, save=False, verbose=False)
    windows = TestDataset(test_opt)
    assert len(windows) == 2 * (6 - 3 + 1) and windows[0].starts_sequence and not windows[1].starts_sequence
    assert (windows[0].label > 0).float().mean() < (clip.label > 0).float().mean()  # the flag reached the mode


def test_train_one_iteration_on_the_toy_mode(tmp_path) -> None:
    write_frames(tmp_path / "data", "train")
    argv = ["--name", "toy", "--dataroot", str(tmp_path / "data"), "--checkpoints_dir", str(tmp_path / "ck"),
            "--dataset_mode", "toy", *TINY]
    opt = TrainOptions().parse(argv, save=False, verbose=False)
    assert load_script("train.py").train(opt, max_steps=1) == 0
    g0 = torch.load(tmp_path / "ck" / "toy" / "latest_net_G0.pth", weights_only=True)
    assert g0["model_down_seg.1.weight"].shape[1] == 3 * 1  # n_frames_G x 1 sketch channel
    assert (tmp_path / "ck" / "toy" / "opt.json").is_file()
    assert isinstance(TemporalDataset(opt), TemporalDataset)
