"""Optical flow between consecutive frames, with a confidence mask, for vid2vid's warping losses.

One interface, several backends chosen by name (``--flow_net``):

* ``flownet2`` (default, as in NVIDIA's vid2vid): FlowNet2 in plain PyTorch with the official checkpoint;
  reproduces the reference wrapper ``models/flownet.py`` including its resizing quirks (README §6.5).
* ``raft``: torchvision's RAFT-large with its published weights, read from the local torch hub cache.
* ``dis``: OpenCV's DIS optical flow on the CPU; needs no weights.

Every backend returns the flow current -> previous in pixels, i.e. ``previous(p + flow(p)) ~ current(p)``, so
``resample2d(previous, flow)`` warps the previous frame onto the current one; and the confidence
``conf = (sum_c (current - warped_previous)^2 < 0.02)``.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.checkpoint import check_state_dict, read_checkpoint, read_state_dict
from models.flownet2 import FlowNet2, resample2d
from options.choices import FLOW_NETS

# The reference's location (relative to the repository root there and here).
DEFAULT_FLOWNET2_CHECKPOINT = Path(__file__).resolve().parent / "flownet2_pytorch" / "FlowNet2_checkpoint.pth.tar"
CONFIDENCE_THRESHOLD = 0.02  # on the per-pixel sum over RGB of the squared warp error, frames in [-1, 1]


class FlowResult(NamedTuple):
    """Flow current -> previous in pixels, (B, 2, H, W) or (B, N, 2, H, W), and confidence (B[, N], 1, H, W)."""

    flow: torch.Tensor
    conf: torch.Tensor


def warp_confidence(current: torch.Tensor, previous: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """1 where warping ``previous`` by ``flow`` reproduces ``current`` well, else 0.

    Shapes: current, previous (B, 3, H, W); flow (B, 2, H, W) pixels -> (B, 1, H, W) float 0/1.
    """
    error = (current - resample2d(previous, flow)).pow(2).sum(dim=1, keepdim=True)  # (B, 1, H, W)
    return (error < CONFIDENCE_THRESHOLD).float()


class FlowEstimator(nn.Module):
    """Frozen flow estimator: ``estimator(current, previous) -> FlowResult``.

    Keep it outside the modules whose state_dict is saved or that are wrapped in DDP (FlowNet2 alone is
    650 MB of frozen weights): hold it on the trainer, not as a submodule of the generator or discriminator.

    Subclasses implement ``estimate`` at a working size they choose (``working_size``); this class handles
    (B, N, ...) inputs, resizing to the working size and back, and the confidence, which is computed at the
    working size and then resized bilinearly (so it has fractional values at 0/1 edges after a resize, as in
    the reference).
    """

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """Size (H', W') at which ``estimate`` runs for input frames of ``height`` x ``width``."""
        return height, width

    def estimate(self, current: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        """(B, 3, H', W') frames in [-1, 1] -> (B, 2, H', W') flow current -> previous in pixels."""
        raise NotImplementedError

    def rescale_flow(self, flow: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Resize a (B, 2, h, w) pixel flow to (height, width) and rescale its components to match."""
        small_height, small_width = flow.shape[-2:]
        flow = F.interpolate(flow, size=(height, width), mode="bilinear", align_corners=False)
        scale = torch.tensor([width / small_width, height / small_height], device=flow.device, dtype=flow.dtype)
        return flow * scale.view(1, 2, 1, 1)

    def forward(self, current: torch.Tensor, previous: torch.Tensor) -> FlowResult:
        """Flow current -> previous and its confidence.

        Args:
            current: (B, 3, H, W) or (B, N, 3, H, W) frames in [-1, 1].
            previous: same shape as ``current``.

        Returns:
            FlowResult with flow (B[, N], 2, H, W) in pixels and conf (B[, N], 1, H, W).
        """
        if current.shape != previous.shape:
            raise ValueError(f"flow: current {tuple(current.shape)} and previous {tuple(previous.shape)} differ")
        if current.dim() not in (4, 5) or current.shape[-3] != 3:
            raise ValueError(f"flow expects (B, 3, H, W) or (B, N, 3, H, W) RGB frames, got {tuple(current.shape)}")
        leading = current.shape[:-3]  # (B,) or (B, N)
        height, width = current.shape[-2:]
        current = current.reshape(-1, 3, height, width)  # (B*N, 3, H, W)
        previous = previous.reshape(-1, 3, height, width)

        current, previous = current.float(), previous.float()

        work_height, work_width = self.working_size(height, width)
        resized = (work_height, work_width) != (height, width)
        # Frozen and float32 whatever the caller's autocast says: the reference runs FlowNet2 in float32 and
        # the 0.02 confidence threshold is sensitive to reduced precision.
        with torch.no_grad(), torch.autocast(current.device.type, enabled=False):
            if resized:
                current = F.interpolate(current, size=(work_height, work_width), mode="bilinear",
                                        align_corners=False)
                previous = F.interpolate(previous, size=(work_height, work_width), mode="bilinear",
                                         align_corners=False)
            flow = self.estimate(current, previous)  # (B*N, 2, H', W')
            conf = warp_confidence(current, previous, flow)  # (B*N, 1, H', W')
            if resized:
                flow = self.rescale_flow(flow, height, width)
                conf = F.interpolate(conf, size=(height, width), mode="bilinear", align_corners=False)
        return FlowResult(flow.reshape(*leading, 2, height, width), conf.reshape(*leading, 1, height, width))


class FlowNet2Estimator(FlowEstimator):
    """vid2vid's FlowNet2 wrapper.

    Frames go in as they are (in [-1, 1], rgb_max 1). Frames whose size is not a multiple of 64 are resized
    bilinearly to (H//64*64, W//64*64); the flow is resized back and, like the reference, BOTH components are
    multiplied by the height ratio (``exact_flow_scaling=True`` scales x by the width ratio instead). The
    reference only checks the height; we also resize when only the width is off, where the reference fails.
    """

    def __init__(self, network: FlowNet2, exact_flow_scaling: bool = False) -> None:
        super().__init__()
        self.network = network.eval().requires_grad_(False)
        self.exact_flow_scaling = exact_flow_scaling

    def train(self, mode: bool = True) -> FlowNet2Estimator:
        """The network stays in eval mode: it is frozen and eval decides which outputs its sub-nets return."""
        super().train(mode)
        self.network.eval()
        return self

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        if height < 64 or width < 64:
            raise ValueError(f"FlowNet2 needs frames of at least 64x64 pixels, got {height}x{width}")
        return height // 64 * 64, width // 64 * 64

    def estimate(self, current: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        pair = torch.stack((current, previous), dim=2)  # (B, 3, 2, H', W')
        return self.network(pair)

    def rescale_flow(self, flow: torch.Tensor, height: int, width: int) -> torch.Tensor:
        if self.exact_flow_scaling:
            return super().rescale_flow(flow, height, width)
        small_height = flow.shape[-2]
        flow = F.interpolate(flow, size=(height, width), mode="bilinear", align_corners=False)
        return flow * (height / small_height)


def load_flownet2(checkpoint: str | Path | None = None, device: torch.device | str = "cpu",
                  correlation_method: str = "banded") -> FlowNet2:
    """FlowNet2 with NVIDIA's ``FlowNet2_checkpoint.pth.tar`` loaded strictly, frozen, in eval mode.

    Args:
        checkpoint: path to the checkpoint (``--flownet_checkpoint``); default
            ``models/flownet2_pytorch/FlowNet2_checkpoint.pth.tar`` as in the reference.
        device: where the network lives.
        correlation_method: see ``models.flownet2.ops.correlation``.

    Raises:
        FileNotFoundError: the checkpoint does not exist (one line: where it is expected, what it is, the fixes).
        ValueError: the file cannot be read or holds no ``state_dict``.
        CheckpointError: the state_dict does not match FlowNet2 (names the file and the missing/unexpected keys).
    """
    path = Path(checkpoint) if checkpoint is not None else DEFAULT_FLOWNET2_CHECKPOINT
    fix = ("run python scripts/download_flownet2.py, put NVIDIA's FlowNet2_checkpoint.pth.tar (flownet2-pytorch) "
           "there by hand, pass --flownet_checkpoint PATH, or use --flow_net dis|raft")
    container = read_checkpoint(path, "FlowNet2 checkpoint", fix)
    if not isinstance(container, dict) or not isinstance(container.get("state_dict"), dict):
        found = sorted(container)[:10] if isinstance(container, dict) else type(container).__name__
        raise ValueError(f"'{path}' is not a FlowNet2 checkpoint: expected a dict with key 'state_dict', got {found}")
    state_dict = container["state_dict"]

    with torch.device("meta"):  # no 650 MB random init that the checkpoint would overwrite anyway
        network = FlowNet2(correlation_method=correlation_method)
    state_dict = check_state_dict(network, state_dict, str(path), "FlowNet2")
    network.load_state_dict({key: value.contiguous() for key, value in state_dict.items()}, strict=True, assign=True)
    return network.to(device).eval().requires_grad_(False)


class RaftEstimator(FlowEstimator):
    """torchvision's RAFT-large; frames are resized to a multiple of 8 (flow rescaled per axis)."""

    def __init__(self, network: nn.Module, num_flow_updates: int = 12) -> None:
        super().__init__()
        self.network = network.eval().requires_grad_(False)
        self.num_flow_updates = num_flow_updates

    def train(self, mode: bool = True) -> RaftEstimator:
        super().train(mode)
        self.network.eval()
        return self

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        if height < 128 or width < 128:
            # RAFT's 1/8-resolution correlation pyramid has 4 levels, which needs at least 128 pixels.
            raise ValueError(f"RAFT needs frames of at least 128x128 pixels, got {height}x{width}")
        return round(height / 8) * 8, round(width / 8) * 8

    def estimate(self, current: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        # torchvision's RAFT expects RGB in [-1, 1], like vid2vid frames; flow maps image1 -> image2.
        return self.network(current.contiguous(), previous.contiguous(),
                            num_flow_updates=self.num_flow_updates)[-1]


def raft_weights_path() -> Path:
    """Where torchvision caches the RAFT-large weights (``torch.hub.get_dir()/checkpoints/<file>``)."""
    from torchvision.models.optical_flow import Raft_Large_Weights

    file_name = Raft_Large_Weights.DEFAULT.url.rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / file_name


def load_raft(weights: str | Path | None = None, device: torch.device | str = "cpu") -> nn.Module:
    """RAFT-large with its published weights from a local file (never downloads).

    Raises:
        FileNotFoundError: weights absent; one line saying how to get them and the alternatives.
    """
    from torchvision.models.optical_flow import raft_large

    path = Path(weights) if weights is not None else raft_weights_path()
    fix = ("on a machine with internet run `python -c \"from torchvision.models.optical_flow import raft_large, "
           "Raft_Large_Weights; raft_large(weights=Raft_Large_Weights.DEFAULT)\"` and copy the file there, or use "
           "--flow_net flownet2|dis instead")
    state_dict = read_state_dict(path, "RAFT weights", fix)
    network = raft_large(weights=None)
    network.load_state_dict(check_state_dict(network, state_dict, str(path)), strict=True)
    return network.to(device)


class DisEstimator(FlowEstimator):
    """OpenCV's DIS optical flow on grayscale uint8 frames, computed on the CPU one pair at a time."""

    def __init__(self, preset: str = "medium") -> None:
        super().__init__()
        import cv2

        presets = {
            "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
            "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
        }
        if preset not in presets:
            raise ValueError(f"DIS preset must be one of {sorted(presets)}, got '{preset}'")
        self._cv2 = cv2
        self._dis = cv2.DISOpticalFlow_create(presets[preset])

    def _to_gray(self, frame: torch.Tensor) -> np.ndarray:
        """(3, H, W) in [-1, 1] -> (H, W) uint8 gray."""
        rgb = ((frame.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
        return self._cv2.cvtColor(np.ascontiguousarray(rgb), self._cv2.COLOR_RGB2GRAY)

    def estimate(self, current: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        flows = []
        for current_frame, previous_frame in zip(current, previous, strict=True):
            # calc(I0, I1) gives flow with I0(p) ~ I1(p + flow(p)): current -> previous.
            flow = self._dis.calc(self._to_gray(current_frame), self._to_gray(previous_frame), None)  # (H, W, 2)
            flows.append(torch.from_numpy(flow).permute(2, 0, 1))
        return torch.stack(flows).to(device=current.device, dtype=current.dtype)  # (B, 2, H, W)


def build_flow_estimator(
    name: str = "flownet2",
    device: torch.device | str = "cpu",
    flownet_checkpoint: str | Path | None = None,
    raft_weights: str | Path | None = None,
) -> FlowEstimator:
    """The flow backend named by ``--flow_net``, frozen and on ``device``.

    Args:
        name: one of ``FLOW_NETS`` (options/choices.py).
        device: torch device for the network and its outputs.
        flownet_checkpoint: ``--flownet_checkpoint`` (FlowNet2 only); default the reference's location.
        raft_weights: RAFT-large weights file (RAFT only); default torchvision's hub cache.
    """
    if name == "flownet2":
        return FlowNet2Estimator(load_flownet2(flownet_checkpoint, device))
    if name == "raft":
        return RaftEstimator(load_raft(raft_weights, device))
    if name == "dis":
        return DisEstimator()
    raise ValueError(f"--flow_net must be one of {', '.join(FLOW_NETS)}; got '{name}'")


__all__ = [
    "DEFAULT_FLOWNET2_CHECKPOINT", "FlowEstimator", "FlowNet2Estimator", "FlowResult",
    "RaftEstimator", "DisEstimator", "build_flow_estimator", "load_flownet2", "load_raft", "warp_confidence",
]
