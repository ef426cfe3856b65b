"""The sample dataset read through the real loaders, and the README's dataset-inspection example."""
import subprocess
import sys

import pytest
import torch

from data import create_dataloader, create_dataset
from data.sample_video import make_sample_dataset
from options import TestOptions, TrainOptions

CLASSES = {7, 8, 11, 17, 21, 23, 24, 26}


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample") / "Cityscapes"
    make_sample_dataset(root, seed=3, width=128, height=64, n_train_seqs=2, n_test_seqs=1, n_frames=10)
    return root


def test_labels_with_instances(sample_root):
    opt = TrainOptions().parse(["--dataroot", str(sample_root), "--label_nc", "35", "--use_instance", "--fg",
                                "--loadSize", "128", "--n_downsample_G", "2", "--n_frames_total", "6",
                                "--max_frames_per_gpu", "3", "--nThreads", "0"], save=False, verbose=False)
    batch = next(iter(create_dataloader(opt, create_dataset(opt))))
    assert batch.label.shape == (1, 8, 1, 64, 128) and batch.real.shape == (1, 8, 3, 64, 128)
    assert batch.instance.shape == (1, 8, 1, 64, 128)
    assert set(batch.label.unique().long().tolist()) <= CLASSES and 26 in batch.label
    cars = batch.instance[batch.label == 26]
    assert torch.equal(torch.div(cars, 1000, rounding_mode="floor"), torch.full_like(cars, 26))
    assert -1 <= batch.real.min() < batch.real.max() <= 1


def test_rgb_input_reads_frames_as_inputs(sample_root):
    # label_nc 0 with 3-channel inputs: use the real frames as inputs (an image->image setting)
    (sample_root / "test_A").rename(sample_root / "test_A_labels")
    (sample_root / "test_A").symlink_to(sample_root / "test_B", target_is_directory=True)
    try:
        opt = TestOptions().parse(["--dataroot", str(sample_root), "--label_nc", "0", "--input_nc", "3",
                                   "--loadSize", "128", "--n_downsample_G", "2"], save=False, verbose=False)
        item = create_dataset(opt)[0]
        assert item.label.shape == (3, 3, 64, 128) and item.label.min() >= -1 and item.label.max() <= 1
        assert item.real is None and item.instance is None
    finally:
        (sample_root / "test_A").unlink()
        (sample_root / "test_A_labels").rename(sample_root / "test_A")


def test_readme_inspect_example(sample_root):
    result = subprocess.run([sys.executable, "scripts/inspect_dataset.py", "--dataroot", str(sample_root),
                             "--label_nc", "35", "--use_instance", "--loadSize", "128"],
                            capture_output=True, text=True, check=True)
    assert "train: 2 sequences, 20 frames" in result.stdout
    assert "test: 8 frames to generate in 1 sequences" in result.stdout
    bad = subprocess.run([sys.executable, "scripts/inspect_dataset.py", "--dataroot", str(sample_root),
                          "--label_nc", "20", "--loadSize", "128"], capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.strip().startswith("error: label map") and ">= --label_nc 20" in bad.stderr
