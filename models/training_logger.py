"""Training logs: console lines, ``checkpoints/<name>/loss_log.txt``, TensorBoard (``runs/<name>``) and the
HTML snapshot page ``checkpoints/<name>/web/index.html``. Only rank 0 makes a logger that writes."""
from __future__ import annotations

import argparse
import glob
import os
import re
import time

import numpy as np
import torch
from torch.utils.tensorboard import SummaryWriter

from data.clip import encoded_label_channels
from options.run_folder import RunFolder
from util.atomic import write_atomically
from util.html import HTMLPage
from util.image import save_image, tensor2flow, tensor2im, tensor2label
from util.video import as_rgb

HTML_IMAGE_WIDTH = 256


def visuals_to_images(opt: argparse.Namespace, visuals: dict[str, torch.Tensor | None]) -> dict[str, np.ndarray]:
    """The trainer's display tensors -> uint8 images (H, W, 3) of the first clip's newest frame, named as the
    reference's training page: input_image, fake_image, fake_first_image, fake_raw_image, real_image,
    flow_ref, conf_ref, and flow and weight when the generator predicts flow (each that is not None)."""
    label = visuals["real_label"]
    if opt.label_nc != 0:
        input_image = tensor2label(label[..., : opt.label_nc, :, :], opt.label_nc)
    else:
        channels = 3 if opt.input_nc >= 3 else 1
        input_image = tensor2im(label[..., :channels, :, :], normalize=opt.input_nc >= 3)
    if opt.use_instance and label.size(-3) == encoded_label_channels(opt):  # (the per-frame model has no edges)
        # instance boundaries drawn in white on top of the labels, as in the reference
        edges = tensor2im(label[..., -1:, :, :], normalize=False)
        input_image = np.where(edges[..., None] > 0, 255, as_rgb(input_image)).astype(np.uint8)
    images = {"input_image": input_image}
    for name, normalize in (("fake_image", True), ("fake_first_image", True), ("fake_raw_image", True),
                            ("real_image", True), ("flow_ref", None), ("conf_ref", False), ("flow", None),
                            ("weight", False)):
        value = visuals.get(name)
        if value is not None:  # the per-frame model has no flows, raw images or first frame
            images[name] = tensor2flow(value) if normalize is None else tensor2im(value, normalize=normalize)
    return {name: as_rgb(image) for name, image in images.items()}


def format_losses(epoch: int, epoch_iter: int, seconds_per_item: float, losses: dict[str, float]) -> str:
    """One loss line: epoch, item within the epoch, seconds per item, then the non-zero losses sorted by name."""
    message = f"[epoch {epoch}, item {epoch_iter}, {seconds_per_item:.3f} s/seq]"
    return message + "".join(f" {name}={value:.3f}" for name, value in sorted(losses.items()) if value != 0)


class TrainingLogger:
    """Writes the logs of one training run. ``enabled=False`` (ranks other than 0) makes every call a no-op."""

    def __init__(self, opt: argparse.Namespace, enabled: bool = True, run_folder: RunFolder | None = None) -> None:
        self.opt = opt
        self.enabled = enabled
        self.writer: SummaryWriter | None = None
        if not enabled:
            return
        run_folder = run_folder or RunFolder.of(opt)
        run_folder.create()
        self.log_path = run_folder.loss_log
        self.web_dir = run_folder.web_dir
        self.image_dir = os.path.join(self.web_dir, "images")
        self.use_html = not opt.no_html
        self.writer = SummaryWriter(log_dir=run_folder.events_dir)
        with open(self.log_path, "a") as handle:
            handle.write(f"# training log opened {time.strftime('%Y-%m-%d %H:%M:%S')}\n")

    def message(self, text: str) -> None:
        """A line on the console (without breaking a tqdm bar) and in loss_log.txt."""
        if not self.enabled:
            return
        from tqdm import tqdm

        tqdm.write(text)
        with open(self.log_path, "a") as handle:
            handle.write(text + "\n")

    def log_losses(self, epoch: int, epoch_iter: int, step: int, losses: dict[str, float],
                   seconds_per_item: float, learning_rates: dict[str, float], frames_per_second: float) -> None:
        if not self.enabled:
            return
        self.message(format_losses(epoch, epoch_iter, seconds_per_item, losses))
        for name, value in losses.items():
            self.writer.add_scalar(f"loss/{name}", value, step)
        for name, value in learning_rates.items():
            self.writer.add_scalar(f"lr/{name}", value, step)
        self.writer.add_scalar("speed/frames_per_s", frames_per_second, step)
        self.writer.flush()

    def log_scalar(self, tag: str, value: float, step: int) -> None:
        if self.enabled:
            self.writer.add_scalar(tag, value, step)
            self.writer.flush()

    def log_images(self, epoch: int, step: int, images: dict[str, np.ndarray]) -> None:
        """TensorBoard images and, unless --no_html, ``web/images/epoch%03d_<name>.jpg`` and the page."""
        if not self.enabled:
            return
        for name, image in images.items():
            self.writer.add_image(f"images/{name}", image, step, dataformats="HWC")
        self.writer.flush()
        if not self.use_html:
            return
        for name, image in images.items():
            path = os.path.join(self.image_dir, f"epoch{epoch:03d}_{name}.jpg")
            write_atomically(path, lambda temporary, image=image: save_image(image, temporary))
        self.write_page(list(images))

    def write_page(self, order: list[str]) -> str:
        """One row of images per epoch that has any, newest epoch first; only files that exist are listed."""
        page = HTMLPage(self.web_dir, f"{self.opt.name}: training snapshots", refresh=1)
        by_epoch: dict[int, list[str]] = {}
        for path in glob.glob(os.path.join(self.image_dir, "epoch*_*.jpg")):
            match = re.fullmatch(r"epoch(\d+)_(.+)\.jpg", os.path.basename(path))
            if match:
                by_epoch.setdefault(int(match.group(1)), []).append(match.group(2))
        rank = {name: i for i, name in enumerate(order)}
        for epoch in sorted(by_epoch, reverse=True):
            names = sorted(by_epoch[epoch], key=lambda name: (rank.get(name, len(rank)), name))
            page.add_header(f"epoch {epoch}")
            paths = [f"images/epoch{epoch:03d}_{name}.jpg" for name in names]
            half = (len(paths) + 1) // 2 if len(paths) >= 6 else len(paths)
            for row in (slice(0, half), slice(half, None)):
                if paths[row]:
                    page.add_images(paths[row], names[row], width=HTML_IMAGE_WIDTH)
        return page.save()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
