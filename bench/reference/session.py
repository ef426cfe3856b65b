"""One timed call of a side's runner, and the Session interface the comparison drives (a worker process, or a
runner in this process for the tests)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import torch

from bench import common


@dataclass
class CallResult:
    seconds: float
    peak_gib: float
    output: torch.Tensor | None = None  # the generated frame(s), fp32 on the CPU, when asked for
    losses: dict[str, float] = field(default_factory=dict)
    grads: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)  # training, when asked (parity.alternate)


class Runner(Protocol):
    """One side's model for a run (our_side.py, nvidia_side.py): ``prepare`` (untimed), then the timed ``run``."""

    def prepare(self) -> None: ...
    def run(self) -> tuple[torch.Tensor, dict[str, float]]: ...
    def trained_networks(self) -> dict[str, torch.nn.Module]: ...


def timed_call(runner: Runner, device: torch.device, keep_output: bool) -> CallResult:
    """One call of ``runner.run`` (``prepare`` untimed), timed and its peak memory read by bench/common.py: CUDA
    events and max_memory_allocated on CUDA, perf_counter and the process's peak RSS on the CPU."""
    runner.prepare()
    common.reset_peak_memory(device)
    seconds, (output, losses) = common.timed(runner.run, device)
    peak = common.peak_memory_gib(device)
    if not keep_output:
        return CallResult(seconds, peak, None, losses)
    grads = {label: {k: p.grad.detach().float().cpu().clone() for k, p in net.named_parameters() if p.grad is not None}
             for label, net in runner.trained_networks().items()}
    return CallResult(seconds, peak, output.detach().float().cpu().clone(), losses, grads)


class Session(Protocol):
    """One side's model, ready to be called (a worker process or an in-process runner)."""

    def call(self, keep_output: bool) -> CallResult: ...
    def close(self) -> None: ...


class InProcessSession:
    """A runner in this process (tests, and how a worker serves its calls)."""

    def __init__(self, runner: Runner, device: torch.device | str = "cpu") -> None:
        self.runner, self.device = runner, torch.device(device)

    def call(self, keep_output: bool) -> CallResult:
        return timed_call(self.runner, self.device, keep_output)

    def close(self) -> None:
        pass
