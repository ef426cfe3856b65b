"""The deterministic training data order (data/order.py): per-item seeds and the resumable sampler."""
import torch

from data.order import ResumableSampler, SeededItems


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
