"""Frame groups for the temporal discriminators (the reference's non-sparse ``get_skipped_frames``).

Temporal scale s looks at n_frames_D frames spaced n_frames_D**s apart. Groups are taken backwards from the
newest frame in steps of n_frames_D and stacked along the batch dimension. Past frames (detached) are carried
over from earlier chunks of the same sequence, so keep one `TemporalFrameHistory` per sequence.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

FlowFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def skipped_groups(
    history: torch.Tensor | None, new: torch.Tensor, n_scales: int, n_frames_D: int
) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
    """Append ``new`` (B, n, ...) to ``history`` (detached) and cut frame groups per temporal scale.

    Returns the trimmed history (at most the frames the coarsest scale can need) and per scale either None
    or (B * n_groups, n_frames_D, ...) groups, oldest frame first in each group.
    """
    tD = n_frames_D
    frames = torch.cat([history.detach(), new], dim=1) if history is not None else new
    groups: list[torch.Tensor | None] = [None] * n_scales
    for s in range(n_scales):
        step = tD**s
        span = step * (tD - 1)
        n_groups = min(frames.size(1) - span, new.size(1))
        for t in range(0, max(n_groups, 0), tD):
            end = frames.size(1) - t  # exclusive end of this group
            group = frames[:, end - span - 1 : end : step].contiguous()  # (B, tD, ...)
            groups[s] = group if groups[s] is None else torch.cat([groups[s], group])
    max_history = tD ** (n_scales - 1) * (tD - 1)
    if frames.size(1) > max_history:
        frames = frames[:, -max_history:]
    return frames, groups


class TemporalFrameHistory:
    """Running real/fake frames and reference flows of one training sequence.

    ``update`` takes a chunk's real frames, generated frames (B, n, 3, H, W), reference flows (B, n, 2, H, W)
    and confidences (B, n, 1, H, W) and returns, per temporal scale, None or a dict with ``real`` and ``fake``
    (G, tD, 3, H, W), ``flow_ref`` (G, tD-1, 2, H, W) and ``conf_ref`` (G, tD-1, 1, H, W). Scale 0 reuses the
    chunk's flows; coarser scales call ``flow_fn(current, previous)`` on the skipped real frames.
    """

    def __init__(self, n_scales_temporal: int, n_frames_D: int, sparse: bool = False) -> None:
        if sparse:
            raise ValueError("--sparse_D temporal sampling is not implemented; drop --sparse_D")
        self.n_scales = n_scales_temporal
        self.tD = n_frames_D
        self.real = self.fake = self.flow = self.conf = None

    def update(
        self,
        real: torch.Tensor,
        fake: torch.Tensor,
        flow_ref: torch.Tensor,
        conf_ref: torch.Tensor,
        flow_fn: FlowFn | None = None,
    ) -> list[dict[str, torch.Tensor] | None]:
        self.real, real_groups = skipped_groups(self.real, real, self.n_scales, self.tD)
        self.fake, fake_groups = skipped_groups(self.fake, fake, self.n_scales, self.tD)
        self.flow, flow_groups = skipped_groups(self.flow, flow_ref, 1, self.tD)
        self.conf, conf_groups = skipped_groups(self.conf, conf_ref, 1, self.tD)
        results: list[dict[str, torch.Tensor] | None] = [None] * self.n_scales
        for s in range(self.n_scales):
            if real_groups[s] is None:
                continue
            if s == 0:
                if flow_groups[0] is None:
                    continue
                flows, confs = flow_groups[0][:, 1:], conf_groups[0][:, 1:]  # flows into frames 1..tD-1
            else:
                if real_groups[s].size(1) != self.tD:
                    continue
                if flow_fn is None:
                    raise ValueError(f"temporal scale {s} needs a flow network (flow_fn) for its skipped frames")
                with torch.no_grad():
                    flows, confs = flow_fn(real_groups[s][:, 1:], real_groups[s][:, :-1])
            results[s] = {"real": real_groups[s], "fake": fake_groups[s], "flow_ref": flows, "conf_ref": confs}
        return results
