"""Our side: our options for the run, our networks written in the reference format (the --self_check writer), and
the two runners, ``GeneratorModel.inference`` and ``Trainer.train_item`` with the flow and VGG loss handed to the
Trainer. Our packages are imported inside the functions: this module is also loaded in NVIDIA's process."""
from __future__ import annotations

import argparse

import torch

from .inputs import (
    autocast,
    device_of,
    given_flow,
    preset_history,
    redraw_bn_biases,
    save_reference_format,
    synthetic_frames,
    synthetic_labels,
    write_vgg,
)
from .spec import run_name


def our_options(spec: dict, training: bool) -> argparse.Namespace:
    from options import TestOptions, TrainOptions

    argv = ["--name", run_name(spec), "--checkpoints_dir", spec["checkpoints_dir"], "--gpu_ids", "-1"]
    if not training:  # (--no_first_img: a first-frame source the loader accepts; the history is given anyway)
        return TestOptions().parse(argv + ["--no_first_img"] + spec["flags"], save=False, verbose=False)
    argv += ["--dataroot", spec["tmp"], "--nThreads", "0", "--flow_net", "dis", "--seed", str(spec["seed"])]
    argv += ["--no_vgg"] if spec["no_vgg"] else []  # else the Trainer gets the shared random VGG19 (OursTraining)
    argv += {"bf16": ["--bf16"], "fp16": ["--fp16"]}.get(spec["dtype"], [])
    return TrainOptions().parse(argv + spec["flags"], save=False, verbose=False)


def write_ours(spec: dict) -> None:
    """Our networks for the spec, seeded, saved in the reference format (the --self_check writer)."""
    from models.networks.factory import build_networks

    torch.manual_seed(spec["seed"])
    opt = our_options(spec, spec["mode"] == "training")
    networks = {k: v for k, v in build_networks(opt).items() if k not in ("G_single", "E_single")}
    redraw_bn_biases(networks, spec["seed"])
    save_reference_format(networks, spec)
    write_vgg(spec)


class OursInference:
    """Our test-time model loaded from the files; one ``GeneratorModel.inference`` call per run."""

    def __init__(self, spec: dict) -> None:
        from models.inference import load_test_model

        self.spec, device = spec, device_of(spec)
        self.model = load_test_model(our_options(spec, training=False), device)
        label, instances = synthetic_labels(spec["width"], spec["height"], spec["n_frames_G"])
        self.label, self.instances = label.to(device), instances.to(device)
        self.history = [h.to(device) for h in preset_history(spec["width"], spec["height"], self.model.n_scales,
                                                             spec["n_frames_G"])]

    def prepare(self) -> None:
        pass

    def run(self) -> tuple[torch.Tensor, dict[str, float]]:
        with autocast(self.spec):
            out = self.model.inference(self.label, None, self.instances, self.history)
        return out.fake_image, {}

    def trained_networks(self) -> dict[str, torch.nn.Module]:
        return {}


class OursTraining:
    """Our Trainer, networks loaded from the files, flow given, the shared random VGG19 as its VGG loss (unless
    --no_vgg); one ``train_item`` per run."""

    def __init__(self, spec: dict) -> None:
        from data.clip import Clip
        from models.flow import FlowResult
        from models.networks.vgg import VGGLoss
        from models.trainer import Trainer

        def flow(current: torch.Tensor, previous: torch.Tensor) -> FlowResult:
            return FlowResult(*given_flow(current, previous))

        vgg = None if spec["no_vgg"] else VGGLoss(spec["vgg_path"])
        self.trainer = Trainer(our_options(spec, training=True), device_of(spec), flow=flow, vgg=vgg)
        self.trainer.load_networks("latest")
        self.trainer.set_epoch(1)
        label, instances = synthetic_labels(spec["width"], spec["height"], spec["n_frames"])
        self.clip = Clip(label=label, real=synthetic_frames(spec["width"], spec["height"], spec["n_frames"]),
                         instance=instances, sequence=["synthetic"],
                         frame_paths=[[""] * spec["n_frames"]]).to(device_of(spec))

    def prepare(self) -> None:
        pass

    def run(self) -> tuple[torch.Tensor, dict[str, float]]:
        result = self.trainer.train_item(self.clip)
        return result.visuals["fake_image"], {k: float(v) for k, v in result.losses.items()}

    def trained_networks(self) -> dict[str, torch.nn.Module]:
        return self.trainer.networks()
