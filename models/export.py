"""The per-frame generator step as a module with tensors in and out, for deployment with ``torch.export``.

`GeneratorStep` is what `Synthesizer.push` runs for every frame after the first of a shot: the window of
n_frames_G labels (and instance maps), the previous outputs per scale, finest first, in; the new frame and the
updated previous outputs out. No Python-side state and no None: the first frames of a shot (single-frame G, real
frames) stay outside, in the caller (models/streaming.py shows how). BatchNorm stays in train mode as in test.py,
so its running statistics are updated in the exported program as they are in eager mode (they do not affect the
output in train mode).

    step = GeneratorStep(model)
    program = export_step(step, example_labels, example_instances, example_prev)   # torch.export.ExportedProgram
    torch.export.save(program, "demo_step.pt2")
    frame, prev = torch.export.load("demo_step.pt2").module()(labels, instances, *prev)
"""
from __future__ import annotations

import torch
from torch import nn

from .generator_model import GeneratorModel
from .input_encoding import build_pyramid


class GeneratorStep(nn.Module):
    """One steady-state frame of a `GeneratorModel` (the sequential generator's `inference` with a history)."""

    def __init__(self, model: GeneratorModel) -> None:
        super().__init__()
        self.model = model
        self.n_scales = model.n_scales

    def forward(self, labels: torch.Tensor, instances: torch.Tensor | None,
                *prev_outputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """labels (1, tG, c, H, W), instances (1, tG, 1, H, W) or None, prev_outputs per scale (1, tG-1, 3, h, w),
        finest first -> (fake image (1, 3, H, W), *new prev_outputs)."""
        encoded = self.model.encode(labels, instances)
        outputs = self.model.run_scales(build_pyramid(encoded, self.n_scales), list(prev_outputs), 0, False)
        new_prev = [torch.cat([level[:, 1:], outputs[self.n_scales - 1 - si]["image"].unsqueeze(1)], dim=1)
                    for si, level in enumerate(prev_outputs)]
        return (outputs[-1]["image"], *new_prev)


def export_step(step: GeneratorStep, labels: torch.Tensor, instances: torch.Tensor | None,
                prev_outputs: list[torch.Tensor]) -> torch.export.ExportedProgram:
    """``torch.export`` of ``step`` for inputs shaped like the examples (fixed sizes: export one program per
    frame size)."""
    with torch.no_grad():
        return torch.export.export(step, (labels, instances, *prev_outputs))
