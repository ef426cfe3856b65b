"""Semantic segmenters that turn a user's frames into label maps (scripts/video_to_dataset.py --kind labels).

Two sources, both local (nothing is downloaded):
* a TorchScript (``.pt``) or torch.export (``.pt2``) file of your own: called on (1, 3, H, W) float RGB in
  [0, 1], it returns (1, C, H, W) class scores (or a dict with ``out``); the argmax is the label id, so its C
  classes are the ids (``--label_nc C``);
* torchvision's DeepLabV3 (``deeplabv3_resnet50`` / ``deeplabv3_resnet101`` / ``deeplabv3_mobilenet_v3_large``)
  with its published weights already in the torch cache. It knows the 21 Pascal VOC classes; the ones that
  exist in Cityscapes become Cityscapes ids (`VOC_TO_CITYSCAPES`), everything else 0 (unlabeled), so train with
  ``--label_nc 35``. For whole street scenes (road, buildings, vegetation) export a Cityscapes-trained model to
  TorchScript instead.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .checkpoint import check_state_dict, read_state_dict

CITYSCAPES_LABEL_NC = 35
# Pascal VOC class index -> Cityscapes label id (cityscapesScripts' labels.py); unlisted VOC classes -> 0
VOC_TO_CITYSCAPES = {2: 33, 6: 28, 7: 26, 14: 32, 15: 24, 19: 31}  # bicycle, bus, car, motorbike, person, train
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
DEEPLAB_MODELS = {
    "deeplabv3_resnet50": "DeepLabV3_ResNet50_Weights",
    "deeplabv3_resnet101": "DeepLabV3_ResNet101_Weights",
    "deeplabv3_mobilenet_v3_large": "DeepLabV3_MobileNet_V3_Large_Weights",
}


class SegmenterError(RuntimeError):
    """The segmenter cannot be loaded; the message says what to provide."""


class Segmenter:
    """``segmenter(frame)`` -> 'L' label image of the frame's size; ``label_nc`` once known."""

    def __init__(self, network: Callable, label_nc: int | None, normalise: bool,
                 id_map: dict[int, int] | None, source: str = "the segmenter") -> None:
        self.network = network
        self.source = source  # what messages call it: "--segmenter seg.pt"
        self.label_nc = label_nc
        self.normalise = normalise
        self.lookup = None
        if id_map is not None:
            self.lookup = np.zeros(256, dtype=np.uint8)
            for source, target in id_map.items():
                self.lookup[source] = target

    @torch.no_grad()
    def __call__(self, frame: Image.Image) -> Image.Image:
        x = torch.from_numpy(np.asarray(frame.convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
        if self.normalise:
            x = (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        expected = ("a segmenter takes a (1, 3, H, W) float RGB frame in [0, 1] and returns (1, classes, H, W) "
                    "scores (or a dict with 'out')")
        try:
            scores = self.network(x)
        except (RuntimeError, TypeError, ValueError, IndexError) as error:  # a TorchScript call raises these
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            reason = (lines[-1] if lines else "").removeprefix("RuntimeError: ")[:200]  # (TorchScript: the cause)
            raise SegmenterError(f"{self.source} failed on a (1, 3, {x.shape[-2]}, {x.shape[-1]}) frame "
                                 f"({type(error).__name__}: {reason}); {expected}") from None
        if isinstance(scores, dict):
            if "out" not in scores:
                raise SegmenterError(f"{self.source} returned a dict without 'out' (keys: {sorted(scores)}); "
                                     f"{expected}")
            scores = scores["out"]
        if not isinstance(scores, torch.Tensor):
            raise SegmenterError(f"{self.source} returned a {type(scores).__name__}, not a tensor; {expected}")
        if scores.dim() != 4 or scores.shape[0] != 1 or scores.shape[-2:] != x.shape[-2:]:
            raise SegmenterError(f"{self.source} returned {tuple(scores.shape)}; expected (1, classes, "
                                 f"{x.shape[-2]}, {x.shape[-1]}) scores for a {x.shape[-1]}x{x.shape[-2]} frame")
        if scores.shape[1] > 256:
            raise SegmenterError(f"{self.source} has {scores.shape[1]} classes; label maps hold at most 256")
        if self.lookup is None:
            self.label_nc = int(scores.shape[1])
        ids = scores[0].argmax(0).to(torch.uint8).numpy()
        if self.lookup is not None:
            ids = self.lookup[ids]
        return Image.fromarray(ids, mode="L")


def deeplab_weights_file(name: str) -> Path:
    import torchvision.models.segmentation as segmentation

    weights = getattr(segmentation, DEEPLAB_MODELS[name]).DEFAULT
    return Path(torch.hub.get_dir()) / "checkpoints" / weights.url.rsplit("/", 1)[-1]


def load_segmenter(source: str) -> Segmenter:
    """A TorchScript file path, or a torchvision DeepLabV3 name whose weights are in the torch cache."""
    if source in DEEPLAB_MODELS:
        path = deeplab_weights_file(source)
        if not path.is_file():
            raise SegmenterError(
                f"{source}: weights not found at {path}; on a machine with internet run `python -c \"import "
                f"torchvision; torchvision.models.segmentation.{source}(weights='DEFAULT')\"` and copy the file "
                "there, or pass a TorchScript segmenter file")
        import torchvision.models.segmentation as segmentation

        network = getattr(segmentation, source)(weights=None, weights_backbone=None, aux_loss=True)
        state = read_state_dict(path, f"{source} weights", "re-download them")
        network.load_state_dict(check_state_dict(network, state, str(path)), strict=True)
        return Segmenter(network.eval(), CITYSCAPES_LABEL_NC, normalise=True, id_map=VOC_TO_CITYSCAPES,
                         source=f"--segmenter {source}")
    path = Path(source)
    if not path.is_file():
        raise SegmenterError(f"--segmenter {source}: no such file, and not one of {', '.join(DEEPLAB_MODELS)}")
    try:
        if path.suffix == ".pt2":  # torch.export's format, TorchScript's successor
            network = torch.export.load(str(path)).module()
        else:
            network = torch.jit.load(str(path), map_location="cpu").eval()
    except (RuntimeError, ValueError) as error:
        raise SegmenterError(f"--segmenter {source} is not a TorchScript (.pt) or torch.export (.pt2) file "
                             f"({type(error).__name__}); export your model with torch.jit.script / "
                             "torch.jit.trace or torch.export.save") from None
    return Segmenter(network, None, normalise=False, id_map=None, source=f"--segmenter {source}")
