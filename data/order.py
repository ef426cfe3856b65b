"""The order in which training items are read: per-item seeds (exact resume mid-epoch), the number of items of an
epoch, and a distributed sampler that ends the epoch there and can skip what a resumed epoch already trained on."""
from __future__ import annotations

import math
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


def epoch_items(n_items: int, max_dataset_size: float) -> int:
    """Items one training epoch trains on, over all processes: the dataset's ``n_items``, at most
    --max_dataset_size (the reference's loader length). Modes with one item per sequence are already cut to
    --max_dataset_size sequences; the pose mode keeps every start frame to draw from and ends its epoch here."""
    return int(min(n_items, max_dataset_size))


class ResumableSampler(DistributedSampler):
    """DistributedSampler (per-epoch order from ``seed`` and ``set_epoch``) that can end the epoch after ``limit``
    items over all ranks and skip the items this rank already trained on in a resumed epoch. Works single-process
    (num_replicas 1, rank 0) too.

    With a limit the order is still a permutation of the WHOLE dataset (as the reference's shuffling loader that
    stops after max_dataset_size items), of which the first ``limit`` items are spread over the ranks; without one
    the order is DistributedSampler's.
    """

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int, shuffle: bool, seed: int,
                 skip: int = 0, limit: int | None = None) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed,
                         drop_last=False)
        if limit is not None and limit < 1:
            raise ValueError(f"an epoch needs at least one item, got a limit of {limit}")
        self.epoch_size = len(dataset) if limit is None else min(len(dataset), limit)
        self.num_samples = math.ceil(self.epoch_size / num_replicas)  # per rank, padded as DistributedSampler
        self.total_size = self.num_samples * num_replicas
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)  # DistributedSampler's rule
            order = torch.randperm(len(self.dataset), generator=generator).tolist()
        else:
            order = list(range(len(self.dataset)))
        order = order[: self.epoch_size]
        # every rank gets num_samples items: the first items again at the end, as DistributedSampler pads
        padded = (order * math.ceil(self.total_size / max(1, len(order))))[: self.total_size]
        return iter(padded[self.rank:: self.num_replicas][self.skip:])

    def __len__(self) -> int:
        return max(0, self.num_samples - self.skip)
