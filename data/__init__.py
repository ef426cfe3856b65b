"""Datasets and loaders. ``create_dataset(opt)`` picks the dataset of --dataset_mode."""
from __future__ import annotations

import argparse

import torch

from .image_folder import DataError
from .temporal_dataset import TemporalDataset
from .test_dataset import TestDataset

__all__ = ["DataError", "TemporalDataset", "TestDataset", "create_dataloader", "create_dataset"]


def create_dataset(opt: argparse.Namespace, n_frames_total: int | None = None) -> torch.utils.data.Dataset:
    """The training dataset (clips) when ``opt.isTrain``, else the per-frame test dataset."""
    if opt.dataset_mode in ("face", "pose"):
        raise NotImplementedError(f"--dataset_mode {opt.dataset_mode} is not implemented yet (see ROADMAP: "
                                  "face and pose); use --dataset_mode temporal with label or image folders")
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
        num_workers=opt.nThreads, drop_last=False, persistent_workers=False)
