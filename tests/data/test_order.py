"""The deterministic training data order (data/order.py): per-item seeds, the items of an epoch and the resumable
sampler."""
import math

import torch
from torch.utils.data import DistributedSampler

from data.order import ResumableSampler, SeededItems, epoch_items


class Draws(torch.utils.data.Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, index):
        return torch.rand(()).item()


def test_seeded_items_do_not_depend_on_order_or_global_rng():
    items = SeededItems(Draws(), seed=3)
    items.epoch = 2
    forward = [items[i] for i in range(5)]
    torch.manual_seed(123)
    backward = [items[i] for i in reversed(range(5))][::-1]
    assert forward == backward
    items.epoch = 3
    assert [items[i] for i in range(5)] != forward


def test_resumable_sampler_skips_what_was_done_and_splits_ranks():
    data = list(range(7))
    full = ResumableSampler(data, 1, 0, shuffle=True, seed=0)
    full.set_epoch(4)
    order = list(full)
    resumed = ResumableSampler(data, 1, 0, shuffle=True, seed=0, skip=3)
    resumed.set_epoch(4)
    assert list(resumed) == order[3:] and len(resumed) == 4
    ranks = [ResumableSampler(data, 2, r, shuffle=True, seed=0) for r in (0, 1)]
    for sampler in ranks:
        sampler.set_epoch(4)
    assert sorted(set(list(ranks[0]) + list(ranks[1]))) == data


def test_without_a_limit_the_order_is_distributed_samplers() -> None:
    data = list(range(7))
    for num_replicas, rank in ((1, 0), (2, 0), (2, 1), (3, 2)):
        for shuffle in (True, False):
            ours = ResumableSampler(data, num_replicas, rank, shuffle=shuffle, seed=5)
            torchs = DistributedSampler(data, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=5)
            ours.set_epoch(3)
            torchs.set_epoch(3)
            assert list(ours) == list(torchs) and len(ours) == len(torchs)


def test_a_limit_ends_the_epoch_after_the_first_items_of_the_whole_permutation() -> None:
    data = list(range(10))
    full = ResumableSampler(data, 1, 0, shuffle=True, seed=0)
    limited = ResumableSampler(data, 1, 0, shuffle=True, seed=0, limit=3)
    full.set_epoch(2)
    limited.set_epoch(2)
    assert list(limited) == list(full)[:3] and len(limited) == 3
    resumed = ResumableSampler(data, 1, 0, shuffle=True, seed=0, skip=2, limit=3)  # 2 of the 3 items done
    resumed.set_epoch(2)
    assert list(resumed) == list(full)[2:3] and len(resumed) == 1
    ranks = [ResumableSampler(data, 2, r, shuffle=True, seed=0, limit=3) for r in (0, 1)]
    for sampler in ranks:
        sampler.set_epoch(2)
    # 3 items over 2 ranks: 2 each, the first item again as padding, as DistributedSampler pads
    assert [len(sampler) for sampler in ranks] == [2, 2]
    assert sorted(list(ranks[0]) + list(ranks[1])) == sorted(list(full)[:3] + list(full)[:1])
    assert list(ResumableSampler(data, 1, 0, shuffle=False, seed=0, limit=4)) == [0, 1, 2, 3]
    assert len(ResumableSampler(data, 1, 0, shuffle=True, seed=0, limit=50)) == 10  # at most the dataset


def test_epoch_items_is_the_dataset_length_at_most_max_dataset_size() -> None:
    assert epoch_items(4, math.inf) == 4 and isinstance(epoch_items(4, math.inf), int)
    assert epoch_items(4, 1) == 1 and epoch_items(4, 9) == 4
