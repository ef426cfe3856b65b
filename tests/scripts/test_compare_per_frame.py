"""scripts/compare_per_frame.py end to end on a tiny dataset: the per-frame run and each vid2vid variant train to
each CPU budget (the second budget continues them; a warm-started variant starts from the per-frame run's snapshot
at --warm_budget and is charged its minutes), test.py and evaluate.py run on each run's snapshot, and the summary,
figures and pages exist."""
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
    tiny_sample_dataset(tmp_path / "data")
    # relative paths and the default --out, run from another folder: all of them are the caller folder's
    out, checkpoints = tmp_path / "results" / "compare_t", tmp_path / "ck"
    command = [sys.executable, str(REPO / "scripts" / "compare_per_frame.py"), "--name", "t", "--dataroot", "data",
               "--checkpoints_dir", "ck", "--budgets", "0.02", "0.04",
               "--variant", "vid2vid", "", "--variant", "warm", "WARM --occlusion_init 0.9", "--", *TINY]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert [b["budget_cpu_minutes"] for b in summary["budgets"]] == [0.02, 0.04]
    assert "warm" not in summary["budgets"][0]["models"]  # it starts from the per-frame run at 0.02
    warm = summary["budgets"][1]["models"]["warm"]
    assert warm["cpu_minutes"] >= 0.04 and warm["flags"] == "WARM --occlusion_init 0.9"
    assert 10 < warm["psnr"] < 60
    log = (out / "train_warm.log").read_text()
    assert "warm start from the per-frame generator" in log and "t_per_frame_0.02min" in log
    for model in ("per_frame", "vid2vid"):
        used = [b["models"][model]["cpu_minutes"] for b in summary["budgets"]]
        items = [b["models"][model]["training_items"] for b in summary["budgets"]]
        assert 0.02 <= used[0] < used[1] and used[1] >= 0.04 and items[0] < items[1]  # continued, not restarted
        assert 10 < summary["budgets"][-1]["models"][model]["psnr"] < 60
        assert (out / "0.04min" / f"t_{model}_0.04min" / "evaluation" / "index.html").is_file()
        assert (checkpoints / f"t_{model}_0.02min" / "latest_training_state.pth").is_file()  # the snapshot
    state = torch.load(checkpoints / "t_per_frame" / "latest_training_state.pth", weights_only=True)
    assert state["options"]["model"] == "single_frame"
    table = (out / "summary.md").read_text()
    assert table.count("| vid2vid |") == 2 and table.count("| per_frame |") == 2 and table.count("| warm |") == 1
    assert (out / "frames.jpg").stat().st_size > 0 and (out / "flicker.png").stat().st_size > 0
    # the same command again resumes: every run's snapshot and evaluation exist, nothing trains or is tested
    logs = {p.name: p.stat().st_size for p in out.rglob("*.log")}
    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((out / "summary.json").read_text())["budgets"] == summary["budgets"]
    assert {p.name: p.stat().st_size for p in out.rglob("*.log")} == logs  # no train.py or test.py ran
    # a larger budget without --continue_runs would continue runs of an earlier comparison: refused
    bigger = [*command[:command.index("--budgets")], "--budgets", "0.02", "0.04", "0.06",
              *command[command.index("--variant"):]]
    refused = subprocess.run(bigger, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "t_per_frame exists" in refused.stderr and "--continue_runs" in refused.stderr
