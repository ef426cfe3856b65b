"""Writing test results where NVIDIA's test.py puts them, with the same names and encodings, plus an HTML page
and one H.264 mp4 per sequence. Everything goes into a temporary folder that replaces the results folder only
when the run finished (a failed run leaves the previous results as they were)."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from argparse import Namespace
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from util.atomic import write_text_atomically
from util.html import HTMLPage
from util.image import save_image, tensor2im, tensor2label
from util.video import Mp4Writer, side_by_side

VIDEO_FPS = 15  # Cityscapes sequences are 17 fps; the reference wrote no videos
PAGE_IMAGE_WIDTH = 256


def input_image(real_label: torch.Tensor, opt: Namespace) -> np.ndarray:
    """The reference's ``real_A`` picture: colourised labels, or the first 1 or 3 input channels times 255."""
    if opt.label_nc != 0:
        return tensor2label(real_label, opt.label_nc)
    channels = 3 if opt.input_nc == 3 else 1
    return tensor2im(real_label[:channels], normalize=False)


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class FrameToWrite(Protocol):
    """What `ResultWriter.add` reads of a generated frame (``models.inference.TestFrame``)."""

    fake_image: torch.Tensor  # (3, H, W) in [-1, 1]
    real_label: torch.Tensor  # (C, H, W) the frame's encoded input
    label_path: str  # the frame's input file; its folder names the sequence
    starts_sequence: bool


RESULTS_RECORD = "results.json"  # which run, dataset and split made a results folder (scripts/evaluate.py reads it)


def read_results_record(results: str | os.PathLike) -> dict | None:
    """The record test.py left in a results folder, None without one (results of an older version); ValueError
    naming it when it cannot be read or lacks the dataset and split."""
    path = Path(results) / RESULTS_RECORD
    if not os.path.lexists(path):
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} cannot be read ({error})") from None
    if not isinstance(record, dict) or not {"dataroot", "phase"} <= set(record):
        raise ValueError(f"{path} cannot be read (no 'dataroot' and 'phase' in it)")
    return record if record["dataroot"] is not None else None  # (written without a dataset: nothing to hold to)


OWN_ENTRIES = ("index.html", RESULTS_RECORD, "videos", "evaluation")  # (evaluation: evaluate.py's default --out)
OWN_FRAME_PREFIXES = ("real_A_", "fake_B_")


def foreign_entries(results: str) -> list[str]:
    """Names in an earlier results folder that test.py did not write (a rerun would delete them): anything
    besides its page, record, videos, the evaluation of it and sequence folders of real_A_/fake_B_ images."""
    if not os.path.isdir(results):
        return []
    foreign = []
    for entry in sorted(os.scandir(results), key=lambda e: e.name):
        if entry.name in OWN_ENTRIES:
            continue
        if entry.is_dir(follow_symlinks=False) and all(
                child.is_file(follow_symlinks=False) and child.name.startswith(OWN_FRAME_PREFIXES)
                for child in os.scandir(entry.path)):
            continue
        foreign.append(entry.name)
    return foreign


class ResultWriter:
    """Writes the frames of one run into a temporary folder, then moves it into place with ``finish()``."""

    def __init__(self, opt: Namespace) -> None:
        self.opt = opt
        self.final_dir = os.path.normpath(os.path.join(opt.results_dir, opt.name, f"{opt.phase}_{opt.which_epoch}"))
        foreign = foreign_entries(self.final_dir)
        if foreign:  # (checked before anything is made)
            raise ValueError(f"{self.final_dir} holds files test.py did not write ({', '.join(foreign[:3])}"
                             f"{', …' if len(foreign) > 3 else ''}); a rerun replaces the folder as a whole: move "
                             "them away, or choose another --results_dir")
        parent = os.path.dirname(self.final_dir)
        self.created = [d for d in (os.path.normpath(opt.results_dir), parent) if not os.path.isdir(d)]
        os.makedirs(parent, exist_ok=True)
        self.tmp_dir = tempfile.mkdtemp(prefix=f".tmp_{os.path.basename(self.final_dir)}_", dir=parent)
        os.chmod(self.tmp_dir, 0o777 & ~current_umask())  # mkdtemp makes it 0700; results are for sharing
        self.label_ext = "png" if opt.label_nc != 0 else "jpg"  # as the reference's Visualizer.save_images
        self.sequences: list[dict] = []  # {'name', 'video', 'frames': [(real_A, fake_B, stem)]}
        self.video: Mp4Writer | None = None

    def add(self, frame: FrameToWrite) -> None:
        """Save one generated frame: ``real_A_<stem>`` and ``fake_B_<stem>.jpg`` in the sequence's folder."""
        seq_name = os.path.basename(os.path.dirname(frame.label_path))
        stem = os.path.splitext(os.path.basename(frame.label_path))[0]
        if frame.starts_sequence or not self.sequences:
            self.start_sequence(seq_name)
        real_A = input_image(frame.real_label, self.opt)
        fake_B = tensor2im(frame.fake_image)
        names = (f"{seq_name}/real_A_{stem}.{self.label_ext}", f"{seq_name}/fake_B_{stem}.jpg")
        save_image(real_A, os.path.join(self.tmp_dir, names[0]))
        save_image(fake_B, os.path.join(self.tmp_dir, names[1]))
        self.video.append(side_by_side(real_A, fake_B))
        self.sequences[-1]["frames"].append((*names, stem))

    def start_sequence(self, seq_name: str) -> None:
        self.close_video()
        used = {s["video"] for s in self.sequences}
        video = f"videos/{seq_name}.mp4"
        suffix = 1
        while video in used:  # two sequence folders with the same name (nested dataroot)
            suffix += 1
            video = f"videos/{seq_name}_{suffix}.mp4"
        self.sequences.append({"name": seq_name, "video": video, "frames": []})
        self.video = Mp4Writer(os.path.join(self.tmp_dir, video), fps=VIDEO_FPS)

    def close_video(self) -> None:
        if self.video is not None:
            self.video.close()
            self.video = None

    def write_page(self) -> None:
        opt = self.opt
        page = HTMLPage(self.tmp_dir, f"{opt.name}: {opt.phase} results, epoch {opt.which_epoch}")
        for seq in self.sequences:
            page.add_header(f"{seq['name']} ({len(seq['frames'])} frames)")
            page.add_videos([seq["video"]], [f"{seq['name']}: input | output"], width=2 * PAGE_IMAGE_WIDTH)
            for real_A, fake_B, stem in seq["frames"]:
                page.add_images([real_A, fake_B], [f"real_A {stem}", f"fake_B {stem}"], width=PAGE_IMAGE_WIDTH)
        page.save()

    def finish(self) -> str:
        """Close the videos, write index.html and `RESULTS_RECORD`, and replace the results folder; returns its
        path."""
        self.close_video()
        self.write_page()
        opt = self.opt
        dataroot = getattr(opt, "dataroot", None)
        record = {"name": opt.name, "which_epoch": opt.which_epoch,
                  "dataroot": os.path.abspath(dataroot) if dataroot else None,
                  "phase": opt.phase, "frames": sum(len(seq["frames"]) for seq in self.sequences),
                  "sequences": [seq["name"] for seq in self.sequences]}
        write_text_atomically(os.path.join(self.tmp_dir, RESULTS_RECORD), json.dumps(record, indent=1) + "\n")
        old = None
        try:
            if os.path.exists(self.final_dir):
                old = tempfile.mkdtemp(prefix=".old_", dir=os.path.dirname(self.final_dir))
                os.replace(self.final_dir, os.path.join(old, "results"))
            os.replace(self.tmp_dir, self.final_dir)
        except BaseException:  # (Ctrl-C between the two renames) the earlier results go back in place
            if old is not None and not os.path.exists(self.final_dir):
                os.replace(os.path.join(old, "results"), self.final_dir)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.final_dir

    def abort(self) -> None:
        """Remove everything this run wrote."""
        if self.video is not None:
            self.video.abort()
            self.video = None
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        for folder in reversed(self.created):
            if os.path.isdir(folder) and not os.listdir(folder):
                os.rmdir(folder)
