"""Train vid2vid and the per-frame baseline for the same CPU time, test both on held-out sequences, measure them.

    python scripts/compare_per_frame.py --name sample --dataroot datasets/Cityscapes/ --budgets 4 8 16 -- \\
        --label_nc 35 --loadSize 256 --use_instance --fg --n_downsample_G 2 --ngf 32 --n_blocks 4 --num_D 1 \\
        --ndf 32 --no_vgg --flow_net dis --max_frames_per_gpu 3 --n_frames_total 6

The flags after ``--`` go to both train.py runs (``<name>_vid2vid`` and ``<name>_per_frame``, the latter with
``--model single_frame``). For each budget (CPU minutes per model, increasing) both runs train, side by side and
with the same number of threads each, until their process has used that much CPU time (``--cpu_budget_minutes``;
a later budget continues the same runs), then test.py runs both on the ``test`` split — the vid2vid run makes its
first frames with the per-frame run (``--use_single_G``), as the paper's setup — and scripts/evaluate.py measures
both. Writes ``<out>/summary.json``, ``summary.md`` (one table), ``frames.jpg`` (real | per-frame | vid2vid at the
last budget) and ``flicker.png`` (warping error over time), besides every run's evaluation page.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # models.checkpoint, imported where it is used

from options.run_folder import RunFolder  # noqa: E402

MODELS = {"per_frame": ["--model", "single_frame"], "vid2vid": []}
METRICS = ("psnr", "ssim", "flicker", "flicker_real")


def run(command: list[str], log: Path, threads: int) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    handle = open(log, "a")  # noqa: SIM115 - closed by the caller through wait_all
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT)


def wait_all(processes: dict[str, subprocess.Popen], logs: dict[str, Path]) -> None:
    failed = []
    for key, process in processes.items():
        if process.wait() != 0:
            failed.append(key)
        process.stdout and process.stdout.close()
    if failed:
        tails = "; ".join(f"{key}: {logs[key].read_text().strip().splitlines()[-1:]}" for key in failed)
        raise SystemExit(f"compare_per_frame: {', '.join(failed)} failed ({tails}); logs in {logs[failed[0]].parent}")


def train_both(args: argparse.Namespace, budget: float, first: bool, out: Path) -> dict[str, float]:
    """Both runs to ``budget`` CPU minutes, concurrently; returns each one's wall seconds."""
    threads = max(1, (os.cpu_count() or 2) // 2)
    processes, logs, started = {}, {}, time.time()
    for model, extra in MODELS.items():
        logs[model] = out / f"train_{model}.log"
        command = [sys.executable, "train.py", "--name", f"{args.name}_{model}", "--dataroot", args.dataroot,
                   "--checkpoints_dir", args.checkpoints_dir, "--gpu_ids", "-1", "--nThreads", "0",
                   "--niter", "100000", "--niter_decay", "0", "--save_epoch_freq", "100000",
                   "--cpu_budget_minutes", f"{budget:g}", *extra, *args.flags]
        if not first:
            command.append("--continue_train")
        processes[model] = run(command, logs[model], threads)
    wait_all(processes, logs)
    return {model: time.time() - started for model in MODELS}


def test_and_evaluate(args: argparse.Namespace, budget_dir: Path) -> dict[str, dict]:
    reports = {}
    for model in MODELS:
        name = f"{args.name}_{model}"
        command = [sys.executable, "test.py", "--name", name, "--dataroot", args.dataroot, "--checkpoints_dir",
                   args.checkpoints_dir, "--results_dir", str(budget_dir), "--gpu_ids", "-1", "--nThreads", "0",
                   "--how_many", str(args.how_many)]
        if model == "vid2vid":
            command += ["--use_single_G", "--single_G_name", f"{args.name}_per_frame"]
        log = budget_dir / f"test_{model}.log"
        wait_all({model: run(command, log, os.cpu_count() or 1)}, {model: log})
        results = budget_dir / name / "test_latest"
        evaluation = budget_dir / name / "evaluation"
        command = [sys.executable, "scripts/evaluate.py", "--results", str(results), "--dataroot", args.dataroot,
                   "--out", str(evaluation)]
        wait_all({model: run(command, log, os.cpu_count() or 1)}, {model: log})
        reports[model] = json.loads((evaluation / "evaluation.json").read_text())
    return reports


def run_folder(args: argparse.Namespace, model: str) -> RunFolder:
    """The run of ``model`` in this comparison: ``<--name>_<model>`` under --checkpoints_dir."""
    return RunFolder(args.checkpoints_dir, f"{args.name}_{model}")


def cpu_minutes(args: argparse.Namespace, model: str) -> tuple[float, int]:
    """CPU minutes trained and items seen, from the run's training state."""
    from models.checkpoint import read_checkpoint

    path = run_folder(args, model).training_state_file("latest")
    state = read_checkpoint(path, f"training state of the {model} run",
                            f"its train.py run saved none; see train_{model}.log in --out")
    return state.get("cpu_seconds", 0.0) / 60, state["total_steps"]


def write_figures(args: argparse.Namespace, budget_dir: Path, reports: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sequence = sorted(reports["vid2vid"]["sequences"])[0]
    frames = reports["vid2vid"]["sequences"][sequence]["frames"]
    picks = [frames[i] for i in np.linspace(0, len(frames) - 1, min(4, len(frames))).round().astype(int)]
    rows = []
    for model in ("real", *MODELS):
        row = []
        for stem in picks:
            if model == "real":
                real_dir = Path(args.dataroot) / "test_B" / sequence
                image = Image.open(next(real_dir.glob(f"{stem}.*"))).convert("RGB")
            else:
                image = Image.open(budget_dir / f"{args.name}_{model}" / "test_latest" / sequence /
                                   f"fake_B_{stem}.jpg").convert("RGB")
            row.append(image)
        size = row[-1].size
        rows.append(np.concatenate([np.asarray(im.resize(size)) for im in row], axis=1))
    Image.fromarray(np.concatenate(rows, axis=0)).save(out / "frames.jpg", quality=92)
    figure, axis = plt.subplots(figsize=(8, 3))
    for model, report in reports.items():
        axis.plot(report["sequences"][sequence]["flicker"], label=model.replace("_", "-"))
    axis.plot(reports["vid2vid"]["sequences"][sequence]["flicker_real"], label="real video (floor)", color="k")
    axis.set_xlabel(f"frame pair of test sequence {sequence}")
    axis.set_ylabel("warping error")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out / "flicker.png")
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    flags = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="prefix of the two run names")
    parser.add_argument("--dataroot", required=True)
    parser.add_argument("--budgets", type=float, nargs="+", required=True, help="CPU minutes per model, increasing")
    parser.add_argument("--checkpoints_dir", default="./checkpoints")
    parser.add_argument("--out", default=None, help="default: results/compare_<name>")
    parser.add_argument("--how_many", type=int, default=300, help="generated test frames per model")
    parser.add_argument("--continue_runs", action="store_true",
                        help="extend an earlier comparison of this --name to larger --budgets (its summary grows)")
    args = parser.parse_args(argv)
    args.flags = flags
    if sorted(args.budgets) != args.budgets or min(args.budgets) <= 0:
        parser.error("--budgets must be positive and increasing (each continues the runs of the previous one)")
    out = Path(args.out or REPO / "results" / f"compare_{args.name}")
    existing = [run_folder(args, m) for m in MODELS if run_folder(args, m).exists()]
    if existing and not args.continue_runs:
        parser.error(f"{existing[0]} exists: remove the runs of an earlier comparison, choose another --name, or "
                     "pass --continue_runs to extend it")
    if args.continue_runs and len(existing) != len(MODELS):
        parser.error(f"--continue_runs: runs {args.name}_{'/'.join(MODELS)} not found in {args.checkpoints_dir}")
    out.mkdir(parents=True, exist_ok=True)
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    summary = {"commands": [command], "budgets": []}
    if args.continue_runs and (out / "summary.json").is_file():
        summary = json.loads((out / "summary.json").read_text())
        summary["commands"] = [*summary.get("commands", [summary.pop("command", "")]), command]
    for i, budget in enumerate(args.budgets):
        budget_dir = out / f"{budget:g}min"
        budget_dir.mkdir(exist_ok=True)
        wall = train_both(args, budget, first=i == 0 and not args.continue_runs, out=out)
        reports = test_and_evaluate(args, budget_dir)
        entry = {"budget_cpu_minutes": budget, "models": {}}
        for model, report in reports.items():
            used, steps = cpu_minutes(args, model)
            entry["models"][model] = {**{k: report["mean"][k] for k in METRICS}, "cpu_minutes": used,
                                      "training_items": steps, "wall_seconds_this_budget": wall[model]}
        summary["budgets"].append(entry)
        write_figures(args, budget_dir, reports, out)
        print(f"{budget:g} CPU min: " + "; ".join(
            f"{m} PSNR {v['psnr']:.2f} SSIM {v['ssim']:.3f} flicker {v['flicker']:.4f}"
            for m, v in entry["models"].items()), flush=True)
    lines = ["| CPU min / model | model | items trained | PSNR (dB) | SSIM | flicker | real video's flicker |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for entry in summary["budgets"]:
        for model, v in entry["models"].items():
            lines.append(f"| {entry['budget_cpu_minutes']:g} ({v['cpu_minutes']:.2f} used) | {model} | "
                         f"{v['training_items']} | {v['psnr']:.2f} | {v['ssim']:.4f} | {v['flicker']:.4f} | "
                         f"{v['flicker_real']:.4f} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"{out / 'summary.md'}, {out / 'frames.jpg'}, {out / 'flicker.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
