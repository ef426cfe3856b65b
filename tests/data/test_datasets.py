"""Training and test datasets: layout, shapes, dtypes, value ranges, transforms and input validation."""
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from data import Clip, DataError, TemporalDataset, TestDataset, create_dataloader, create_dataset
from options import TestOptions, TrainOptions
from tests.helpers import write_label_dataset

W, H = 64, 32


def street_labels(rng: np.random.Generator, seq: str, t: int) -> np.ndarray:
    """Cityscapes ids 0..34 with a car (26) filling the left half, the only car pixels."""
    labels = rng.integers(0, 35, size=(H, W), dtype=np.uint8)
    labels[labels == 26] = 25
    labels[:, : W // 2] = 26
    return labels


def two_cars(labels: np.ndarray) -> np.ndarray:
    """Instance ids: the label id, and two car instances 26000 / 26001 side by side in the car region."""
    inst = labels.astype(np.uint16)
    inst[:, : W // 2] = 26000 + (np.arange(W // 2) >= W // 4)
    return inst


def write_dataset(root, phase="train", n_seqs=2, n_frames=10, rgb_input=False, seed=0):
    """Tiny Cityscapes-layout dataset (`write_label_dataset`): `street_labels`, `two_cars`, RGB frames."""
    return write_label_dataset(root, {f"seq{s}": n_frames for s in range(n_seqs)}, phase=phase, width=W, height=H,
                               labels=street_labels, instances=two_cars, rgb_input=rgb_input, seed=seed)


def train_opt(root, *extra):
    argv = ["--dataroot", str(root), "--loadSize", str(W), "--n_frames_total", "4", "--max_frames_per_gpu", "2",
            "--nThreads", "0", "--n_downsample_G", "2"]
    return TrainOptions().parse(argv + list(extra), save=False, verbose=False)


def inference_opt(root, *extra):
    argv = ["--dataroot", str(root), "--loadSize", str(W), "--nThreads", "0", "--n_downsample_G", "2"]
    return TestOptions().parse(argv + list(extra), save=False, verbose=False)


@pytest.fixture
def label_root(tmp_path):
    write_dataset(tmp_path, "train")
    write_dataset(tmp_path, "test", n_frames=6, seed=1)
    return tmp_path


def test_label_instance_sample_matches_reference_layout(label_root):
    opt = train_opt(label_root, "--label_nc", "35", "--use_instance")
    dataset = create_dataset(opt)
    assert isinstance(dataset, TemporalDataset) and len(dataset) == 2
    batch = next(iter(create_dataloader(opt, dataset)))
    T = 4 + 2  # n_frames_total + n_frames_G - 1 history frames
    assert isinstance(batch, Clip) and batch.batched
    assert batch.label.shape == (1, T, 1, H, W) and batch.label.dtype == torch.float32
    assert batch.real.shape == (1, T, 3, H, W) and batch.real.dtype == torch.float32
    assert batch.instance.shape == (1, T, 1, H, W)
    A = batch.label
    assert torch.equal(A, A.round()) and A.min() >= 0 and A.max() <= 34  # label ids, not normalised
    assert batch.real.min() >= -1 and batch.real.max() <= 1 and batch.real.min() < -0.9
    assert set(batch.instance[batch.label == 26].unique().tolist()) <= {26000.0, 26001.0}
    assert len(batch.frame_paths[0]) == T and batch.newest_path.endswith(".png")
    assert batch.sequence == [Path(batch.newest_path).parent.name]


def test_label_values_survive_loading_exactly(label_root):
    opt = train_opt(label_root, "--label_nc", "35", "--no_flip", "--resize_or_crop", "none")
    raw = [np.array(Image.open(p)) for p in sorted((label_root / "train_A" / "seq0").iterdir())]
    frames = TemporalDataset(opt)[0].label[:, 0].numpy()
    assert frames.dtype == np.float32
    starts = [s for s in range(len(raw) - 5) if all(np.array_equal(frames[i], raw[s + i]) for i in range(6))]
    assert len(starts) == 1


def test_continuous_input_sample(tmp_path):
    write_dataset(tmp_path, "train", rgb_input=True)
    opt = train_opt(tmp_path, "--label_nc", "0", "--input_nc", "3")
    sample = create_dataset(opt)[0]
    assert sample.label.shape == (6, 3, H, W)
    assert sample.label.min() >= -1 and sample.label.max() <= 1
    assert not torch.equal(sample.label, sample.label.round())  # normalised images, not ids
    # each input frame is one file's pixels mapped 0..255 -> -1..1 (mirrored when the clip is flipped)
    files = [np.asarray(Image.open(p), np.float32) / 127.5 - 1 for p in sorted((tmp_path / "train_A").rglob("*.png"))]
    for frame in sample.label.numpy().transpose(0, 2, 3, 1):  # (T, H, W, 3)
        assert any(np.allclose(frame, f, atol=1e-6) or np.allclose(frame, f[:, ::-1], atol=1e-6) for f in files)
    assert sample.instance is None  # unused


def test_clip_follows_sequence_order_and_spacing(tmp_path):
    # frames whose label value is the frame index reveal which frames were read
    for t in range(12):
        for kind in ("A", "B"):
            (tmp_path / f"train_{kind}" / "s").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((H, W), t, np.uint8)).save(tmp_path / "train_A" / "s" / f"{t:03d}.png")
        Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(tmp_path / "train_B" / "s" / f"{t:03d}.png")
    opt = train_opt(tmp_path, "--label_nc", "35", "--max_t_step", "3")
    torch.manual_seed(0)
    steps = set()
    for _ in range(20):
        ids = create_dataset(opt)[0].label[:, 0, 0, 0].long().tolist()
        assert len(ids) == 6
        step = ids[1] - ids[0]
        assert step >= 1 and ids == list(range(ids[0], ids[0] + 6 * step, step)) and ids[-1] <= 11
        steps.add(step)
    assert steps == {1, 2}  # (12 - 1) // (6 - 1) = 2 caps --max_t_step 3


def test_resize_crop_and_flip_modes(label_root):
    opt = train_opt(label_root, "--label_nc", "35", "--resize_or_crop", "resize_and_crop", "--loadSize", "64",
                    "--fineSize", "32")
    sample = TemporalDataset(opt)[0]
    assert sample.label.shape[-2:] == (32, 32) and sample.real.shape[-2:] == (32, 32)
    opt = train_opt(label_root, "--label_nc", "35", "--resize_or_crop", "scaleHeight", "--loadSize", "64")
    assert TemporalDataset(opt)[0].label.shape[-2:] == (64, 128)
    opt = train_opt(label_root, "--label_nc", "35", "--resize_or_crop", "none")
    assert TemporalDataset(opt)[0].label.shape[-2:] == (H, W)
    # flips happen for some samples and never with --no_flip; labels stay nearest-neighbour ids
    left_is_car = []
    for flags in ([], ["--no_flip"]):
        opt = train_opt(label_root, "--label_nc", "35", *flags)
        torch.manual_seed(1)
        left_is_car.append({bool((TemporalDataset(opt)[0].label[0, 0, :, 0] == 26).all()) for _ in range(12)})
    assert left_is_car == [{True, False}, {True}]


def test_test_dataset_windows_in_order(label_root):
    opt = inference_opt(label_root, "--label_nc", "35", "--use_instance", "--use_real_img")
    dataset = create_dataset(opt)
    assert isinstance(dataset, TestDataset)
    assert len(dataset) == 2 * (6 - 3 + 1)
    items = [dataset[i] for i in range(len(dataset))]
    assert [item.starts_sequence for item in items] == [True, False, False, False] * 2
    assert [item.frame_index for item in items] == [2, 3, 4, 5] * 2
    first = items[0]
    assert first.label.shape == (3, 1, H, W) and first.real.shape == (3, 3, H, W)
    assert first.instance.shape == (3, 1, H, W)
    # consecutive windows overlap by n_frames_G - 1 frames
    assert torch.equal(items[0].label[1:], items[1].label[:2])
    # no state: reading out of order gives the same item
    assert torch.equal(dataset[5].label, items[5].label)
    without_real = create_dataset(inference_opt(label_root, "--label_nc", "35"))
    assert without_real[0].real is None


def test_test_dataset_with_several_workers(label_root):
    opt = inference_opt(label_root, "--label_nc", "35", "--nThreads", "2")
    dataset = create_dataset(opt)
    frames = [batch.frame_index for batch in create_dataloader(opt, dataset)]
    assert frames == [2, 3, 4, 5] * 2


def test_start_frame(label_root):
    dataset = create_dataset(inference_opt(label_root, "--label_nc", "35", "--start_frame", "2"))
    assert len(dataset) == 2 * 2 and dataset[0].frame_index == 4 and dataset[0].starts_sequence
    with pytest.raises(DataError, match="--start_frame 5"):
        create_dataset(inference_opt(label_root, "--label_nc", "35", "--start_frame", "5"))


# ---------------------------------------------------------------- validation errors
def test_missing_folders(tmp_path):
    with pytest.raises(DataError, match="--dataroot .* does not exist"):
        create_dataset(train_opt(tmp_path / "nowhere", "--label_nc", "35"))
    write_dataset(tmp_path)
    shutil.rmtree(tmp_path / "train_inst")
    with pytest.raises(DataError, match=r"train_inst not found; it is needed by --use_instance"):
        create_dataset(train_opt(tmp_path, "--label_nc", "35", "--use_instance"))
    shutil.rmtree(tmp_path / "train_B")
    with pytest.raises(DataError, match=r"train_B not found; it is needed by training"):
        create_dataset(train_opt(tmp_path, "--label_nc", "35"))
    write_dataset(tmp_path, "test")
    shutil.rmtree(tmp_path / "test_B")
    create_dataset(inference_opt(tmp_path, "--label_nc", "35"))  # real frames are optional at test time
    with pytest.raises(DataError, match=r"test_B not found; it is needed by --use_real_img"):
        create_dataset(inference_opt(tmp_path, "--label_nc", "35", "--use_real_img"))


def test_empty_dataset(tmp_path):
    (tmp_path / "train_A" / "seq").mkdir(parents=True)
    with pytest.raises(DataError, match="no images found in .*train_A"):
        create_dataset(train_opt(tmp_path, "--label_nc", "35"))


def test_short_sequences(tmp_path, capsys):
    write_dataset(tmp_path, n_frames=2)
    with pytest.raises(DataError, match=r"fewer than --n_frames_G 3 frames.*seq0 \(2 frames\)"):
        create_dataset(train_opt(tmp_path, "--label_nc", "35"))
    write_dataset(tmp_path, n_frames=5)
    dataset = create_dataset(train_opt(tmp_path, "--label_nc", "35"))
    assert "shortest is seq0 with 5" in capsys.readouterr().out
    assert dataset[0].label.shape[0] == 2 + 2  # 3 frames fit; trimmed to one whole chunk of 2 like the reference


def test_label_out_of_range_names_file_and_value(label_root):
    path = sorted((label_root / "train_A" / "seq1").iterdir())[3]
    labels = np.array(Image.open(path))
    labels[0, 0] = 40
    Image.fromarray(labels).save(path)
    dataset = create_dataset(train_opt(label_root, "--label_nc", "35", "--max_t_step", "1"))
    with pytest.raises(DataError, match=rf"{path.name} contains label 40 >= --label_nc 35"):
        for _ in range(30):
            dataset[1]


def test_size_mismatch_and_unreadable(label_root):
    path = sorted((label_root / "train_B" / "seq0").iterdir())[0]
    Image.fromarray(np.zeros((H, W + 4, 3), np.uint8)).save(path)
    dataset = create_dataset(train_opt(label_root, "--label_nc", "35", "--n_frames_total", "8"))
    with pytest.raises(DataError, match=rf"{path.name} is {W + 4}x{H} but .* is {W}x{H}"):
        dataset[0]
    path.write_bytes(b"not a png")
    with pytest.raises(DataError, match=rf"cannot read image .*{path.name}"):
        dataset[0]


def test_mismatched_sequences(label_root):
    extra = label_root / "train_B" / "seq1" / "zzz.png"
    shutil.copy(next((label_root / "train_B" / "seq1").iterdir()), extra)
    with pytest.raises(DataError, match="seq1 has 11 frames but .*seq1 has 10"):
        create_dataset(train_opt(label_root, "--label_nc", "35"))


def test_rgb_labels_rejected(tmp_path):
    write_dataset(tmp_path, rgb_input=True)
    with pytest.raises(DataError, match="has mode RGB; --label_nc 35 needs single-channel label ids"):
        create_dataset(train_opt(tmp_path, "--label_nc", "35"))[0]


def test_generator_size_checked_at_load(label_root):
    opt = train_opt(label_root, "--label_nc", "35", "--resize_or_crop", "none", "--n_downsample_G", "3",
                    "--n_scales_spatial", "4")
    with pytest.raises(DataError, match=r"loads as 64x32, not divisible by .* = 64"):
        create_dataset(opt)[0]


def test_face_and_pose_modes_name_their_layout_on_a_label_dataset(label_root):
    """A label-folder dataset read with --dataset_mode face/pose: one error naming the flag or folder to fix."""
    with pytest.raises(DataError, match="--label_nc 0"):
        create_dataset(train_opt(label_root, "--dataset_mode", "face", "--label_nc", "35"))
    with pytest.raises(DataError, match="train_keypoints"):
        create_dataset(train_opt(label_root, "--dataset_mode", "face", "--label_nc", "0", "--input_nc", "15"))
    with pytest.raises(DataError, match="train_(img|densepose|openpose)"):
        create_dataset(train_opt(label_root, "--dataset_mode", "pose", "--label_nc", "0"))
