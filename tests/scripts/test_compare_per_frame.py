"""scripts/compare_per_frame.py end to end on a tiny dataset: both runs train to each CPU budget (the second
budget continues them), test.py and evaluate.py run on both, and the summary, figures and pages exist."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

from tests.helpers import tiny_sample_dataset

REPO = Path(__file__).resolve().parents[2]
TINY = ["--label_nc", "35", "--use_instance", "--fg", "--loadSize", "64", "--ngf", "8", "--ndf", "8",
        "--n_blocks", "2", "--n_downsample_G", "2", "--num_D", "1", "--no_vgg", "--flow_net", "dis",
        "--n_frames_total", "4", "--max_frames_per_gpu", "2"]


def test_compare_trains_both_to_each_budget_and_reports(tmp_path: Path) -> None:
    data = tmp_path / "data"
    tiny_sample_dataset(data)
    out, checkpoints = tmp_path / "cmp", tmp_path / "ck"
    command = [sys.executable, "scripts/compare_per_frame.py", "--name", "t", "--dataroot", str(data),
               "--checkpoints_dir", str(checkpoints), "--out", str(out), "--budgets", "0.02", "0.04", "--", *TINY]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600,
                            env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert [b["budget_cpu_minutes"] for b in summary["budgets"]] == [0.02, 0.04]
    for model in ("per_frame", "vid2vid"):
        used = [b["models"][model]["cpu_minutes"] for b in summary["budgets"]]
        items = [b["models"][model]["training_items"] for b in summary["budgets"]]
        assert 0.02 <= used[0] < used[1] and used[1] >= 0.04 and items[0] < items[1]  # continued, not restarted
        assert 10 < summary["budgets"][-1]["models"][model]["psnr"] < 60
        assert (out / "0.04min" / f"t_{model}" / "evaluation" / "index.html").is_file()
    state = torch.load(checkpoints / "t_per_frame" / "latest_training_state.pth", weights_only=True)
    assert state["options"]["model"] == "single_frame"
    table = (out / "summary.md").read_text()
    assert table.count("| vid2vid |") == 2 and table.count("| per_frame |") == 2
    assert (out / "frames.jpg").stat().st_size > 0 and (out / "flicker.png").stat().st_size > 0
    # a second comparison under the same name would overwrite the first: refused
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "t_per_frame exists" in again.stderr
