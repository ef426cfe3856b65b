"""data/validate.py and scripts/inspect_dataset.py: every frame of every sequence is checked before training, bad
files are named in one line, folders and frames pair by name, and a cache skips frames already found good."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import data.validate as validate_module
from data import DataError, check_dataset, create_dataset, validate_dataset
from data.modes import build_mode
from data.sample_video import make_sample_dataset
from data.transforms import get_img_params
from options import TrainOptions
from tests.helpers import load_script, write_label_dataset

W, H = 64, 32
N_SEQS, N_FRAMES = 3, 4
SEQUENCES = {f"seq{s}": N_FRAMES for s in range(N_SEQS)}  # labels < 8 (`write_label_dataset`)


def options(root: Path, *extra: str):  # noqa: ANN201
    argv = ["--dataroot", str(root), "--label_nc", "8", "--loadSize", str(W), "--n_downsample_G", "2",
            "--nThreads", "2", *extra]
    return TrainOptions().parse(argv, save=False, verbose=False)


def frame(root: Path, kind: str, seq: int, index: int) -> Path:
    return sorted((root / f"train_{kind}" / f"seq{seq}").iterdir())[index]


def refused(opt, match: str) -> str:  # noqa: ANN001
    """The one-line DataError of validating ``opt``, which must match ``match``."""
    with pytest.raises(DataError, match=match) as caught:
        validate_dataset(opt, progress=False)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_label_dataset(tmp_path / "data", SEQUENCES, width=W, height=H)


# ---------------------------------------------------------------------------------------------- label maps
def test_label_out_of_range_in_the_last_frame_of_the_third_sequence(root: Path) -> None:
    path = frame(root, "A", 2, -1)
    labels = np.array(Image.open(path))
    labels[3, 3] = 8
    Image.fromarray(labels).save(path)
    refused(options(root), rf"label map .*seq2/{path.name} contains label 8 >= --label_nc 8")
    assert not (root / validate_module.CACHE_NAME).exists()  # nothing is remembered from a failed validation


def test_16_bit_label_map_above_label_nc(root: Path) -> None:
    path = frame(root, "A", 1, 2)
    Image.fromarray(np.full((H, W), 300, np.uint16)).save(path)
    refused(options(root, "--label_nc", "35"), rf"{path.name} contains label 300 >= --label_nc 35")


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_colour_label_maps_are_refused(root: Path, mode: str) -> None:
    path = frame(root, "A", 0, 1)
    Image.new(mode, (W, H)).save(path)
    refused(options(root), rf"label map .*{path.name} has mode {mode}; --label_nc 8 needs single-channel")


def test_jpeg_label_maps_are_refused(root: Path) -> None:
    folder = root / "train_A" / "seq1"
    for path in sorted(folder.iterdir()):
        Image.open(path).save(path.with_suffix(".jpg"), quality=95)
        path.unlink()
    message = refused(options(root), r"label map .*seq1/seq1_0000\.jpg is a JPEG.*re-export it as PNG")
    assert "(and 3 more problems; python scripts/inspect_dataset.py lists them all)" in message


# ---------------------------------------------------------------------------------------------- unreadable files
@pytest.mark.parametrize("damage", ["truncated", "empty", "text"])
def test_unreadable_frames_are_named(root: Path, damage: str) -> None:
    path = frame(root, "B", 2, -1)  # the last frame of the last sequence, which a first epoch may never read
    content = path.read_bytes()
    path.write_bytes({"truncated": content[: len(content) // 2], "empty": b"", "text": b"just some notes\n"}[damage])
    refused(options(root), rf"cannot read image .*seq2/{path.name}.*replace or remove the file")


# ---------------------------------------------------------------------------------------------- sizes and channels
def test_real_frame_and_instance_map_sizes_must_match_the_label_map(root: Path) -> None:
    real = frame(root, "B", 1, 1)
    Image.new("RGB", (W + 4, H)).save(real)
    refused(options(root), rf"{real.name} is {W + 4}x{H} but .*seq1/{real.name} is {W}x{H}")
    Image.new("RGB", (W, H)).save(real)
    inst = frame(root, "inst", 2, 0)
    Image.fromarray(np.zeros((H + 4, W), np.uint16)).save(inst)
    refused(options(root, "--use_instance"), rf"train_inst/seq2/{inst.name} is {W}x{H + 4} but .* instance maps")


def test_mixed_frame_sizes_within_a_sequence(root: Path) -> None:
    rng = np.random.default_rng(1)
    for kind in ("A", "B", "inst"):
        shape = (H * 2, W * 2, 3) if kind == "B" else (H * 2, W * 2)
        dtype = np.uint16 if kind == "inst" else np.uint8
        Image.fromarray(rng.integers(0, 8, shape).astype(dtype)).save(frame(root, kind, 1, 2))
    path = frame(root, "A", 1, 2)
    refused(options(root, "--use_instance"), rf"{path.name} is {2 * W}x{2 * H} but 3 frame\(s\) of its sequence are "
                                             rf"{W}x{H} .*must have one size")


def test_input_nc_4_on_rgb_frames(tmp_path: Path) -> None:
    root = write_label_dataset(tmp_path, SEQUENCES, width=W, height=H, rgb_input=True)
    refused(options(root, "--label_nc", "0", "--input_nc", "4"),
            r"seq0_0000\.png is a 3-channel RGB image but --input_nc is 4.*pass --input_nc 3")
    assert validate_dataset(options(root, "--label_nc", "0", "--input_nc", "3"), progress=False).frames == 12


def test_generator_size_divisibility(root: Path) -> None:
    refused(options(root, "--resize_or_crop", "none", "--n_downsample_G", "3", "--n_scales_spatial", "4"),
            rf"loads as {W}x{H}, not divisible by .* = 64")


# ---------------------------------------------------------------------------------------------- pairing by name
def test_renamed_sequence_folder(root: Path) -> None:
    (root / "train_B" / "seq2").rename(root / "train_B" / "seq2_old")
    refused(options(root), r"sequence folder .*train_A/seq2 has no counterpart .*train_B/seq2 \(unpaired there: "
                           r"seq2_old\)")


def test_renamed_frame_file(root: Path) -> None:
    path = frame(root, "B", 1, 2)
    path.rename(path.with_name("seq1_0002b.png"))
    refused(options(root), r"train_A/seq1/seq1_0002\.png has no frame of the same name in .*train_B/seq1; by "
                           r"position it would be paired with .*seq1_0002b\.png.*rename one of them")


def test_an_extra_frame_names_the_counts_and_the_file(root: Path) -> None:
    shutil.copy(frame(root, "B", 0, 0), root / "train_B" / "seq0" / "zzz.png")
    refused(options(root), r"train_B/seq0 has 5 frames but .*train_A/seq0 has 4: .*zzz\.png has no frame")


def test_cityscapes_suffixes_pair_by_name_not_position(tmp_path: Path) -> None:
    root = write_label_dataset(tmp_path, SEQUENCES, width=W, height=H, a_suffix="_gtFine_labelIds",
                               b_suffix="_leftImg8bit")
    validate_dataset(options(root, "--use_instance"), progress=False)
    # stems whose sorted order differs between the folders ("10_l" < "1_l" but "1." < "10.") still pair
    for kind, names in (("A", ["1_l.png", "10_l.png", "2_l.png"]), ("B", ["1.png", "10.png", "2.png"])):
        (tmp_path / "x" / f"train_{kind}" / "s").mkdir(parents=True)
        for name in names:
            Image.fromarray(np.full((H, W) if kind == "A" else (H, W, 3), int(name.split("_")[0].split(".")[0]),
                                    np.uint8)).save(tmp_path / "x" / f"train_{kind}" / "s" / name)
    opt = options(tmp_path / "x", "--label_nc", "11")
    validate_dataset(opt, progress=False)
    mode = build_mode(opt, need_real_frames=True)
    pairs = [(Path(a).name, Path(b).name) for a, b in zip(mode.A_paths[0], mode.B_paths[0], strict=True)]
    assert pairs == [("10_l.png", "10.png"), ("1_l.png", "1.png"), ("2_l.png", "2.png")]
    # and what training reads: every frame's label id n comes with the real frame of grey level n (by position
    # the labels 10, 1, 2 would come with the greys 1, 10, 2)
    params = get_img_params(opt, (W, H))
    read = [mode.read_frame(0, i, params) for i in range(3)]
    assert [(f.label.unique().tolist(), ((f.real.unique() + 1) * 127.5).round().tolist()) for f in read] == [
        ([10], [10]), ([1], [1]), ([2], [2])]


# ---------------------------------------------------------------------------------------------- the cache
def test_cache_skips_unchanged_frames_and_rechecks_changed_ones(root: Path, monkeypatch) -> None:
    opt = options(root, "--use_instance")
    first = validate_dataset(opt, progress=False)
    assert (first.sequences, first.frames_checked, first.frames_cached) == (N_SEQS, N_SEQS * N_FRAMES, 0)
    cache = json.loads((root / validate_module.CACHE_NAME).read_text())
    assert len(next(iter(cache["sections"].values()))["frames"]) == N_SEQS * N_FRAMES

    opened = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda path, *a, **k: opened.append(path) or real_open(path, *a, **k))
    second = validate_dataset(opt, progress=False)
    assert (second.frames_checked, second.frames_cached, opened) == (0, N_SEQS * N_FRAMES, [])

    touched = frame(root, "B", 2, -1)
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    third = validate_dataset(opt, progress=False)
    assert (third.frames_checked, third.frames_cached) == (1, N_SEQS * N_FRAMES - 1)
    assert {Path(p).parent.parent.name for p in opened} == {"train_A", "train_B", "train_inst"}

    other_flags = validate_dataset(options(root, "--use_instance", "--label_nc", "9"), progress=False)
    assert other_flags.frames_cached == 0  # the verdict depends on the flags

    labels = np.array(Image.open(frame(root, "A", 0, 0)))
    labels[0, 0] = 8
    Image.fromarray(labels).save(frame(root, "A", 0, 0))
    refused(opt, r"seq0_0000\.png contains label 8")  # a changed file is read again, never trusted


def test_read_only_dataroot_skips_the_cache(root: Path, monkeypatch) -> None:
    def refuse(path: str, text: str) -> None:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(validate_module, "write_text_atomically", refuse)
    assert validate_dataset(options(root), progress=False).frames_checked == N_SEQS * N_FRAMES
    assert not (root / validate_module.CACHE_NAME).exists()


def test_a_damaged_cache_is_ignored(root: Path) -> None:
    (root / validate_module.CACHE_NAME).write_text("{not json")
    assert validate_dataset(options(root), progress=False).frames_checked == N_SEQS * N_FRAMES
    assert validate_dataset(options(root), progress=False).frames_cached == N_SEQS * N_FRAMES


# ---------------------------------------------------------------------------------------------- inspect_dataset.py
def test_inspect_dataset_lists_every_problem(root: Path, monkeypatch, capsys) -> None:
    bad = [frame(root, "A", 2, -1), frame(root, "A", 2, 1)]
    for path in bad:
        Image.fromarray(np.full((H, W), 9, np.uint8)).save(path)
    frame(root, "B", 2, 0).write_bytes(b"")
    inspect = load_script("scripts/inspect_dataset.py")
    monkeypatch.setattr(sys, "argv", ["inspect_dataset.py", "--dataroot", str(root), "--label_nc", "8",
                                      "--loadSize", str(W), "--n_downsample_G", "2"])
    assert inspect.main() == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 4 and errors[-1] == "3 problem(s) found (3 in train)"
    assert "seq2_0000.png" in errors[0] and bad[1].name in errors[1] and bad[0].name in errors[2]
    assert all(line.startswith("error: ") for line in errors[:3])


def test_sample_dataset_validates_clean(tmp_path: Path) -> None:
    root = tmp_path / "Cityscapes"
    make_sample_dataset(root, seed=1, width=64, height=32, n_train_seqs=2, n_test_seqs=1, n_frames=8)
    opt = options(root, "--label_nc", "35", "--use_instance", "--loadSize", "64")
    report = validate_dataset(opt, progress=False)
    assert (report.sequences, report.frames, report.problems) == (2, 16, [])
    assert check_dataset(opt, phase="test", progress=False).frames == 8
    assert len(create_dataset(opt).mode.sequences) == 2


# ---------------------------------------------------------------------------------------------- face and pose
def test_face_and_pose_modes_check_every_frame(tmp_path: Path) -> None:
    from tests.data.test_face_mode import face_opt, write_face_dataset
    from tests.data.test_pose_mode import TINY as POSE_TINY
    from tests.data.test_pose_mode import write_pose_dataset

    write_face_dataset(tmp_path / "face", n_seqs=2, n_frames=3)
    assert validate_dataset(face_opt(tmp_path / "face"), progress=False).frames == 6
    last = sorted((tmp_path / "face" / "train_img" / "seq1").iterdir())[-1]
    last.write_bytes(b"")
    refused(face_opt(tmp_path / "face"), rf"cannot read image .*seq1/{last.name}")

    write_pose_dataset(tmp_path / "pose", n_frames=3)
    pose_opt = TrainOptions().parse(["--dataroot", str(tmp_path / "pose"), *POSE_TINY], save=False, verbose=False)
    assert validate_dataset(pose_opt, progress=False).frames == 3  # frame.png pairs with frame_IUV.png
    (tmp_path / "pose" / "train_openpose" / "seq0" / "frame0002_keypoints.json").rename(
        tmp_path / "pose" / "train_openpose" / "seq0" / "frame0009_keypoints.json")
    refused(pose_opt, r"train_img/seq0/frame0002\.png has no frame of the same name in .*train_openpose/seq0")
