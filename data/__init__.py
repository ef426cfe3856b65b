"""Datasets and loaders. ``create_dataset(opt)`` picks the dataset of --dataset_mode."""
from __future__ import annotations

import argparse

import torch

from .clip import Clip, collate_clips
from .image_folder import DataError, DataProblems
from .modes import get_mode
from .temporal_dataset import TemporalDataset
from .test_dataset import TestDataset
from .validate import ValidationReport, check_dataset, folder_problems, validate_dataset

__all__ = ["Clip", "DataError", "TemporalDataset", "TestDataset", "ValidationReport", "check_dataset",
           "collate_clips", "create_dataloader", "create_dataset", "validate_dataset"]


def create_dataset(opt: argparse.Namespace, n_frames_total: int | None = None) -> torch.utils.data.Dataset:
    """Random training clips of the --dataset_mode when ``opt.isTrain``, else its test windows (one per frame)."""
    get_mode(opt.dataset_mode)  # unknown or planned modes fail here, before anything is read
    problems = folder_problems(opt.dataroot, opt.phase)  # (an unfinished video_to_dataset.py run, empty sequences)
    if problems:
        raise DataProblems(problems)
    if opt.isTrain:
        if opt.dataset_mode == "test":
            raise DataError("--dataset_mode test is for test.py; train.py reads clips with --dataset_mode temporal")
        return TemporalDataset(opt, n_frames_total)
    return TestDataset(opt)


def create_dataloader(opt: argparse.Namespace, dataset: torch.utils.data.Dataset,
                      sampler: torch.utils.data.Sampler | None = None) -> torch.utils.data.DataLoader:
    """DataLoader with the reference's batch size, shuffling (unless --serial_batches) and worker count."""
    shuffle = opt.isTrain and not opt.serial_batches and sampler is None
    return torch.utils.data.DataLoader(
        dataset, batch_size=opt.batchSize, shuffle=shuffle, sampler=sampler,
        num_workers=opt.nThreads, drop_last=False, persistent_workers=False, collate_fn=collate_clips)
