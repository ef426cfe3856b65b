"""What the generators hand to the rest of the code: typed records with their tensor shapes.

`GeneratorChunk` crosses from the generator models (`GeneratorModel.forward`, `SingleFrameModel.forward`) to the
discriminators' losses, the trainer and its logger; `GeneratedFrame` from their ``inference`` to test-time
generation (`models.inference.generate`). This module imports nothing of the project, so every model can use it.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

Pyramid = list[torch.Tensor]  # finest first, each (B, T, C, h, w)


class GeneratorChunk(NamedTuple):
    """What `GeneratorModel.forward` makes of one training chunk of n new frames, read by the discriminators'
    losses, the trainer and its logger. (A NamedTuple: DistributedDataParallel finds the tensors inside it.)

    fake_image, fake_raw_image: (B, n, 3, H, W) generated frames, after and before the flow-warp blend;
    real_label: (B, n, C, H, W) the encoded input of the generated frames;
    real_image, real_prev_image: (B, n, 3, H, W) the real frames t and t-1;
    fake_prev_image: (B, n, 3, H, W) the generated frame t-1, detached (the real previous frame for the first frame
        of a sequence; the previous chunk's last output for a later chunk's first frame, as the reference on GPU);
    flow: (B, n, 2, H, W) G's flow t -> t-1 in pixels, weight: (B, n, 1, H, W) its blend weight, both None
        without a flow branch;
    prev_outputs: the per-scale last n_frames_G-1 outputs, detached, finest first, for the next chunk.
    The per-frame model fills fake_image and real_label (the trainer adds real_image); the rest stays None.
    """

    fake_image: torch.Tensor
    real_label: torch.Tensor
    real_image: torch.Tensor | None = None
    fake_raw_image: torch.Tensor | None = None
    flow: torch.Tensor | None = None
    weight: torch.Tensor | None = None
    real_prev_image: torch.Tensor | None = None
    fake_prev_image: torch.Tensor | None = None
    prev_outputs: Pyramid | None = None


class GeneratedFrame(NamedTuple):
    """What `GeneratorModel.inference` (and the per-frame model's) makes of one test window.

    fake_image: (B, 3, H, W) the newest frame in [-1, 1]; real_label: (B, C, H, W) its encoded input;
    scale_outputs: one output dict of the generator per spatial scale, coarsest first (``image``, ``raw_image``,
    ``flow``, ``weight``, features); prev_outputs: per-scale (B, n_frames_G-1, 3, h, w), finest first, the
    history to pass with the next window.
    """

    fake_image: torch.Tensor
    real_label: torch.Tensor
    scale_outputs: list[dict[str, torch.Tensor | None]]
    prev_outputs: Pyramid
