"""The order in which training items are read: per-item seeds (exact resume mid-epoch) and a distributed sampler
that can skip what a resumed epoch already trained on."""
from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Dataset, DistributedSampler


class SeededItems(Dataset):
    """Wraps a dataset so that item ``i`` of epoch ``e`` draws its random clip and augmentation from its own
    seed, whatever worker, rank or position loads it. Resuming mid-epoch then reproduces the same clips.

    Set ``epoch`` before making a DataLoader iterator (workers copy the dataset when the iterator starts).
    """

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset = dataset
        self.seed = seed
        self.epoch = 1

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(item_seed(self.seed, self.epoch, index))
            return self.dataset[index]


def item_seed(seed: int, epoch: int, index: int) -> int:
    return (seed * 1_000_003 + epoch * 7_919 + index) % (2**63 - 1)


class ResumableSampler(DistributedSampler):
    """DistributedSampler (per-epoch order from ``seed`` and ``set_epoch``) that can skip the items this rank
    already trained on in a resumed epoch. Works single-process (num_replicas 1, rank 0) too."""

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int, shuffle: bool, seed: int,
                 skip: int = 0) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed,
                         drop_last=False)
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        return iter(list(super().__iter__())[self.skip:])

    def __len__(self) -> int:
        return max(0, self.num_samples - self.skip)
