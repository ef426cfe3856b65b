"""The comparison: timed calls alternated between the two sides, then speed ratios and the parity of the first
call's frames, losses and gradients, with the verdict."""
from __future__ import annotations

import math
import statistics
from collections.abc import Callable

import torch

from .session import CallResult, Session
from .spec import SIDES


def alternate(start: dict[str, Callable[[], Session]], repeats: int, fresh: bool) -> dict[str, dict]:
    """Alternate timed calls between the sides, the order swapped every pair (ours, theirs, theirs, ours, ...).

    ``start[side]()`` gives a ready Session. Each session's first call is an untimed warm-up; the first warm-up
    output of each side is kept for the parity check. ``fresh``: a new session for every timed call, closed right
    after it (never two alive); else one session per side for the whole run. Returns per side: ``seconds`` (timed
    calls in order), ``warmup_s``, ``peak_gib`` (max over calls), ``output``, ``losses`` and ``grads`` of the first
    call (training: every trained network's parameter gradients as the step left them: G's from loss_G, D's from
    loss_D, each D_T's from its own loss, since every update clears its network's gradients first).
    """
    record = {side: {"seconds": [], "warmup_s": [], "peak_gib": 0.0, "output": None, "losses": {}, "grads": {}}
              for side in SIDES}
    live: dict[str, Session] = {}

    def note(side: str, result: CallResult) -> None:
        record[side]["peak_gib"] = max(record[side]["peak_gib"], result.peak_gib)

    def session(side: str) -> Session:
        if side not in live:
            live[side] = start[side]()
            first = record[side]["output"] is None
            warm = live[side].call(keep_output=first)
            if first:
                record[side].update(output=warm.output, losses=warm.losses, grads=warm.grads)
            record[side]["warmup_s"].append(warm.seconds)
            note(side, warm)
        return live[side]

    try:
        if not fresh:
            for side in SIDES:
                session(side)
        for pair in range(repeats):
            for side in SIDES if pair % 2 == 0 else SIDES[::-1]:
                result = session(side).call(keep_output=False)
                record[side]["seconds"].append(result.seconds)
                note(side, result)
                if fresh:
                    live.pop(side).close()
    finally:
        for opened in live.values():
            opened.close()
    return record


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def loss_difference(ours: dict[str, float], theirs: dict[str, float]) -> tuple[float | None, list[str]]:
    """Largest relative difference of the losses both sides name, and the names only one side has."""
    common = [k for k in ours if k in theirs]
    only = sorted(set(ours) ^ set(theirs))
    if not common:
        return None, only
    return max(abs(ours[k] - theirs[k]) / max(abs(theirs[k]), 1e-8) for k in common), only


def gradient_difference(ours: dict[str, dict[str, torch.Tensor]], theirs: dict[str, dict[str, torch.Tensor]]
                        ) -> float | None:
    """Per network, max abs gradient difference / max abs gradient of theirs; the worst network (inf when a network,
    parameter or shape differs, or a gradient exists on one side only). None for inference (no gradients)."""
    if not ours and not theirs:
        return None
    if ours.keys() != theirs.keys():
        return math.inf
    worst = 0.0
    for label, grads in ours.items():
        other = theirs[label]
        if grads.keys() != other.keys() or any(g.shape != other[k].shape for k, g in grads.items()):
            return math.inf
        if not grads:
            continue
        scale = max(max(g.abs().max().item() for g in other.values()), 1e-30)
        worst = max(worst, max((g - other[k]).abs().max().item() for k, g in grads.items()) / scale)
    return worst


def summarize(record: dict[str, dict], frames_per_call: int, dtype: str, tolerance: float,
              grad_tolerance: float = 1e-3) -> dict:
    """Per-frame seconds of each side, per-pair ratios ours/theirs, first-call output (and, training, loss and
    gradient) differences, verdict."""
    ours, theirs = record["ours"], record["theirs"]
    ratios = [o / t for o, t in zip(ours["seconds"], theirs["seconds"], strict=True)]
    a, b = ours["output"], theirs["output"]
    diff = (a - b).abs().max().item() if a is not None and b is not None and a.shape == b.shape else math.inf
    loss_rel, loss_only = loss_difference(ours["losses"], theirs["losses"])
    grads = gradient_difference(ours["grads"], theirs["grads"])
    row = {side: {"per_frame_s": spread([s / frames_per_call for s in record[side]["seconds"]]),
                  "seconds": record[side]["seconds"], "warmup_s": record[side]["warmup_s"],
                  "peak_gib": record[side]["peak_gib"]} for side in SIDES}
    row.update(ratio=spread(ratios), ratios=ratios, pairs=len(ratios), frames_per_call=frames_per_call,
               max_abs_diff=diff, loss_max_rel_diff=loss_rel, grad_max_rel_diff=grads,
               losses_one_side_only=loss_only, dtype=dtype, tolerance=tolerance, grad_tolerance=grad_tolerance)
    row["parity"] = "ok" if diff <= tolerance and (grads is None or grads <= grad_tolerance) else "FAIL"
    if dtype != "fp32":
        row["parity"] = "n/a (not fp32)"
    return row
