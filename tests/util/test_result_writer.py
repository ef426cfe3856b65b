"""The results folder test.py writes gets the permissions of any folder the user makes (not mkdtemp's 0700)."""
from __future__ import annotations

import os
import stat
from argparse import Namespace
from pathlib import Path

import torch

from models.inference import TestFrame
from util.result_writer import ResultWriter


def test_results_folder_has_normal_permissions(tmp_path: Path) -> None:
    opt = Namespace(results_dir=str(tmp_path / "results"), name="run", phase="test", which_epoch="latest",
                    label_nc=0, input_nc=3)
    previous = os.umask(0o022)
    try:
        writer = ResultWriter(opt)
        writer.add(TestFrame(fake_image=torch.zeros(3, 8, 8), real_label=torch.zeros(3, 8, 8), scale_outputs=[],
                             label_path=str(tmp_path / "seq" / "f_000.png"), frame_index=0, starts_sequence=True))
        final = Path(writer.finish())
    finally:
        os.umask(previous)
    assert stat.S_IMODE(final.stat().st_mode) == 0o755
    assert stat.S_IMODE((final / "seq").stat().st_mode) == 0o755
    assert (final / "seq" / "fake_B_f_000.jpg").is_file()
