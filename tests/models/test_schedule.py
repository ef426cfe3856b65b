"""The epoch schedule follows the reference's formulas (its models/base_model.py and data/base_dataset.py)."""
import argparse

import pytest

from models.schedule import (
    adam_betas,
    decay_factor,
    frames_backpropagate,
    learning_rates,
    sequence_length,
    train_all_scales,
)


def options(**overrides) -> argparse.Namespace:
    values = dict(lr=0.0002, beta1=0.5, TTUR=False, niter=10, niter_decay=10, n_scales_spatial=1,
                  niter_fix_global=0)
    values.update(overrides)
    return argparse.Namespace(**values)


def reference_lr_during(epoch: int, lr: float, niter: int, niter_decay: int) -> float:
    """Replay of the reference loop: update_learning_rate(e) runs at the end of every epoch e > niter."""
    current = lr
    for finished in range(1, epoch):
        if finished > niter:
            current = lr * (1 - (finished - niter) / niter_decay)
    return current


@pytest.mark.parametrize("niter,niter_decay", [(10, 10), (1, 3), (0, 5), (3, 0)])
def test_learning_rate_matches_reference_replay(niter, niter_decay):
    opt = options(niter=niter, niter_decay=niter_decay)
    for epoch in range(1, niter + niter_decay + 1):
        rates = learning_rates(opt, epoch)
        assert rates["G"] == pytest.approx(reference_lr_during(epoch, opt.lr, niter, niter_decay))
        assert rates["D"] == rates["G"]
        assert rates["D_T"] == opt.lr  # the temporal Ds are never decayed


def test_decay_endpoints():
    assert decay_factor(10, 10, 10) == 1.0
    assert decay_factor(11, 10, 10) == 1.0  # the first decay is applied at the END of epoch 11
    assert decay_factor(12, 10, 10) == pytest.approx(0.9)
    assert decay_factor(20, 10, 10) == pytest.approx(0.1)  # last epoch: lr / niter_decay


def test_ttur_rates_and_betas():
    opt = options(TTUR=True, niter=1, niter_decay=2)
    assert learning_rates(opt, 1) == pytest.approx({"G": 0.0001, "D": 0.0004, "D_T": 0.0002})
    assert learning_rates(opt, 3) == pytest.approx({"G": 0.00005, "D": 0.0002, "D_T": 0.0002})
    assert adam_betas(opt, "G") == (0.0, 0.9) and adam_betas(opt, "D") == (0.0, 0.9)
    assert adam_betas(opt, "D_T") == (0.5, 0.999)
    assert adam_betas(options(), "G") == (0.5, 0.999)


def reference_sequence_length(n_frames_total, seq_len_max, tG, epoch, niter_step):
    """Replay of update_training_batch(epoch // niter_step) at the end of every epoch divisible by niter_step."""
    current = n_frames_total
    cap = min(128, seq_len_max) - (tG - 1)
    for finished in range(1, epoch):
        if finished % niter_step == 0 and current < cap:
            current = min(cap, n_frames_total * 2 ** (finished // niter_step))
    return current


@pytest.mark.parametrize("n_frames_total,seq_len_max", [(6, 30), (6, 300), (4, 12), (30, 20), (1, 200)])
def test_sequence_length_doubling_matches_reference(n_frames_total, seq_len_max):
    for epoch in range(1, 40):
        assert sequence_length(n_frames_total, seq_len_max, 3, epoch, 5) == reference_sequence_length(
            n_frames_total, seq_len_max, 3, epoch, 5), epoch
    assert sequence_length(6, 300, 3, 1, 5) == 6
    assert sequence_length(6, 300, 3, 6, 5) == 12
    assert sequence_length(6, 300, 3, 11, 5) == 24
    assert sequence_length(6, 300, 3, 100, 5) == 126  # capped at 128 - (n_frames_G - 1)


def test_frames_backpropagate():
    assert frames_backpropagate(1, 6, 30, 5) == 1
    assert frames_backpropagate(4, 6, 1, 5) == 1  # before the first step: every window detached
    assert frames_backpropagate(4, 6, 6, 5) == 6 // 3  # min(4, 2) = 2 -> 6 // ceil(6/2)
    assert frames_backpropagate(4, 6, 11, 5) == 6 // 2  # min(4, 4) = 4 -> 6 // ceil(6/4) = 3


def test_niter_fix_global():
    opt = options(n_scales_spatial=2, niter_fix_global=3)
    assert [train_all_scales(opt, e) for e in range(1, 6)] == [False, False, False, True, True]
    assert train_all_scales(options(n_scales_spatial=2), 1)
    assert train_all_scales(options(niter_fix_global=3), 1)  # one scale: nothing to fix
