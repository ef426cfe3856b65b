"""How many items a training epoch has, as in the reference: one per sequence (folders, face; --max_dataset_size
keeps the first N sequences), or one per start frame for pose (frames - n_frames_G + 1 per sequence, sequences
drawn by that count, --max_dataset_size ends the epoch after N items drawn from all of them)."""
from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest
import torch

from data import DataError, TemporalDataset, create_dataset
from data.image_folder import sequence_name
from data.order import ResumableSampler, epoch_items
from options import TrainOptions
from tests.data.test_face_mode import face_opt, write_face_dataset
from tests.data.test_pose_mode import train_opt as pose_opt
from tests.data.test_pose_mode import write_pose_dataset
from tests.helpers import load_script, write_label_dataset

KINDS = ("img", "densepose", "openpose")


def write_pose_sequences(root: Path, lengths: list[int]) -> None:
    """Pose sequences seq0, seq1, ... of ``lengths`` frames (the first frames of `write_pose_dataset`'s)."""
    write_pose_dataset(root, n_frames=max(lengths))
    for index, n_frames in reversed(list(enumerate(lengths))):
        for kind in KINDS:
            folder = root / f"train_{kind}" / f"seq{index}"
            if index > 0:
                shutil.copytree(root / f"train_{kind}" / "seq0", folder)
            for path in sorted(folder.iterdir())[n_frames:]:
                path.unlink()


def epoch_indices(n_items: int, limit: int, epoch: int) -> list[int]:
    """The dataset indices train.py's one-process sampler gives epoch ``epoch``."""
    sampler = ResumableSampler(list(range(n_items)), 1, 0, shuffle=True, seed=0, limit=limit)
    sampler.set_epoch(epoch)
    assert len(sampler) == limit
    return list(sampler)


def test_pose_epoch_is_one_item_per_start_frame_and_max_dataset_size_ends_it(tmp_path) -> None:
    write_pose_sequences(tmp_path, [6])
    dataset = TemporalDataset(pose_opt(tmp_path, "--n_frames_G", "3"))
    assert len(dataset) == 6 - 3 + 1 and epoch_items(len(dataset), math.inf) == 4
    opt = pose_opt(tmp_path, "--n_frames_G", "3", "--max_dataset_size", "1")
    limited = TemporalDataset(opt)
    assert len(limited) == 4 and len(limited.mode.sequences) == 1  # the reference's 1 item per epoch, not 6
    n_items = epoch_items(len(limited), opt.max_dataset_size)
    assert n_items == 1
    drawn = [epoch_indices(len(limited), n_items, epoch) for epoch in range(1, 21)]
    assert all(len(indices) == 1 and indices[0] in range(4) for indices in drawn)
    assert len({indices[0] for indices in drawn}) > 1  # drawn from every start frame, not always item 0


def test_pose_sequences_are_drawn_by_start_frames_and_never_cut(tmp_path) -> None:
    write_pose_sequences(tmp_path, [6, 4])
    dataset = TemporalDataset(pose_opt(tmp_path, "--n_frames_G", "3"))
    assert dataset.n_start_frames.tolist() == [4, 2] and len(dataset) == 6
    opt = pose_opt(tmp_path, "--n_frames_G", "3", "--max_dataset_size", "1")
    limited = TemporalDataset(opt)
    assert [sequence_name(frames) for frames in limited.mode.sequences] == ["seq0", "seq1"]
    assert len(limited) == 6 and epoch_items(len(limited), opt.max_dataset_size) == 1
    torch.manual_seed(0)
    picks = [limited.sequence_of(i) for i in range(3000)]
    assert abs(picks.count(1) / len(picks) - 2 / 6) < 0.03
    # every sequence is paired, so a DensePose folder without frames is an error also with --max_dataset_size
    shutil.copytree(tmp_path / "train_densepose" / "seq1", tmp_path / "train_densepose" / "seq2")
    with pytest.raises(DataError, match="seq2"):
        create_dataset(opt)


def test_folder_and_face_modes_keep_one_item_per_sequence_of_the_first_max_dataset_size(tmp_path) -> None:
    write_label_dataset(tmp_path / "folders", {f"seq{s}": 5 for s in range(3)})
    write_face_dataset(tmp_path / "face", n_seqs=3, n_frames=5)
    folder_argv = ["--dataroot", str(tmp_path / "folders"), "--label_nc", "8", "--loadSize", "64", "--nThreads",
                   "0", "--n_frames_total", "2", "--max_frames_per_gpu", "2", "--n_downsample_G", "2"]
    for size in ("1", "2", "inf"):
        for opt in (TrainOptions().parse([*folder_argv, "--max_dataset_size", size], save=False, verbose=False),
                    face_opt(tmp_path / "face", "--max_dataset_size", size)):
            dataset = create_dataset(opt)
            n_sequences = int(min(3, opt.max_dataset_size))
            assert [sequence_name(f) for f in dataset.mode.sequences] == [f"seq{s}" for s in range(n_sequences)]
            assert len(dataset) == epoch_items(len(dataset), opt.max_dataset_size) == n_sequences


def test_train_py_ends_a_pose_epoch_after_max_dataset_size_items(tmp_path, monkeypatch) -> None:
    write_pose_sequences(tmp_path / "data", [6])
    monkeypatch.chdir(tmp_path)  # TensorBoard writes runs/<name> in the working directory
    opt = pose_opt(tmp_path / "data", "--name", "pose", "--checkpoints_dir", str(tmp_path / "ck"), "--label_nc", "0",
                   "--input_nc", "6", "--print_freq", "1", "--max_dataset_size", "1", "--n_frames_G", "3")
    assert load_script("train.py").train(opt) == 0  # --niter 1 --niter_decay 0: one epoch
    run = tmp_path / "ck" / "pose"
    state = torch.load(run / "latest_training_state.pth", weights_only=True)
    assert (state["epoch"], state["epoch_iter"], state["total_steps"]) == (2, 0, 1)
    log = (run / "loss_log.txt").read_text()
    assert "1 training items per epoch (--max_dataset_size; 4 to draw from) from 1 sequences" in log
    assert len(re.findall(r"\[epoch 1, item \d+, [\d.]+ s/seq\] .*loss_G=", log)) == 1
