"""What changes with the epoch during training, as pure functions of the options and the epoch number
(so a resumed run recomputes them instead of restoring them). The deterministic data order that makes
``--continue_train`` resume exactly is in data/order.py.

Epochs are numbered from 1 as in the reference. The reference changes its state at the END of epoch ``e``
(learning-rate decay, sequence-length doubling, unfreezing the coarse scales); the functions here give the
value in force DURING epoch ``e``, which is the reference's value after the end of epoch ``e - 1``.
"""
from __future__ import annotations

import argparse
import math

MAX_SEQUENCE_LENGTH = 128  # the reference never trains on more than 128 frames of one sequence


def decay_factor(epoch: int, niter: int, niter_decay: int) -> float:
    """Learning-rate multiplier during ``epoch``: 1 for the first ``niter`` epochs, then linear decay.

    The reference sets ``lr * (1 - (e - niter) / niter_decay)`` at the end of every epoch ``e > niter``, so the
    last epoch (niter + niter_decay) trains with lr / niter_decay and the rate never reaches zero while training.
    """
    finished = epoch - 1  # epochs completed before this one
    if finished <= niter or niter_decay == 0:
        return 1.0
    return max(0.0, 1.0 - (finished - niter) / niter_decay)


def base_learning_rates(opt: argparse.Namespace) -> dict[str, float]:
    """Initial learning rates of the G, D and D_T optimizers (``--TTUR``: G lr/2, D lr*2; D_T always lr)."""
    if opt.TTUR:
        return {"G": opt.lr / 2, "D": opt.lr * 2, "D_T": opt.lr}
    return {"G": opt.lr, "D": opt.lr, "D_T": opt.lr}


def adam_betas(opt: argparse.Namespace, network: str) -> tuple[float, float]:
    """``--TTUR`` uses betas (0, 0.9) for G and D; the temporal Ds always keep (beta1, 0.999)."""
    if opt.TTUR and network in ("G", "D"):
        return 0.0, 0.9
    return opt.beta1, 0.999


def learning_rates(opt: argparse.Namespace, epoch: int) -> dict[str, float]:
    """Learning rates of G, D and D_T during ``epoch``. G and D decay; the D_T optimizers never do (reference).

    Deliberate difference: with ``--TTUR`` the decay multiplies each optimizer's own base rate (lr/2, lr*2);
    the reference's formula jumps both to ``lr * factor`` at the first decay step (README §6.6).
    """
    factor = decay_factor(epoch, opt.niter, opt.niter_decay)
    base = base_learning_rates(opt)
    return {"G": base["G"] * factor, "D": base["D"] * factor, "D_T": base["D_T"]}


def sequence_length(n_frames_total: int, seq_len_max: int, n_frames_G: int, epoch: int, niter_step: int) -> int:
    """Frames generated per sequence during ``epoch`` (the reference's ``update_training_batch``).

    Every ``niter_step`` epochs the length doubles: ``min(cap, n_frames_total * 2^k)`` with k completed steps
    and ``cap = min(128, longest sequence) - (n_frames_G - 1)``. A start length already at or above the cap
    is kept (the dataset then trains on what each sequence has).
    """
    doublings = (epoch - 1) // niter_step
    cap = min(MAX_SEQUENCE_LENGTH, seq_len_max) - (n_frames_G - 1)  # minus the history frames
    if doublings == 0 or n_frames_total >= cap:
        return n_frames_total
    return min(cap, n_frames_total * 2**doublings)


def frames_backpropagate(max_frames_backpropagate: int, chunk_frames: int, epoch: int, niter_step: int) -> int:
    """Spacing of the detached previous-frame windows during ``epoch`` (the reference's ``n_frames_bp``).

    1 (every window detached) until the first ``niter_step`` boundary; then ``min(max, 2^k)`` rounded so that
    it divides the chunk evenly.
    """
    doublings = (epoch - 1) // niter_step
    if doublings == 0 or chunk_frames <= 1:
        return 1
    wanted = min(max_frames_backpropagate, 2**doublings)
    return chunk_frames // math.ceil(chunk_frames / wanted)


def train_all_scales(opt: argparse.Namespace, epoch: int) -> bool:
    """False while only the finest spatial scale trains (the first ``--niter_fix_global`` epochs)."""
    return opt.n_scales_spatial == 1 or opt.niter_fix_global == 0 or epoch > opt.niter_fix_global
