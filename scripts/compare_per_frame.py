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
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

from options.run_folder import RunFolder, name_problem  # noqa: E402
from util.atomic import write_atomically, write_text_atomically  # noqa: E402
from util.cli import exit_on_interrupt  # noqa: E402

PER_FRAME = "per_frame"
METRICS = ("psnr", "ssim", "flicker", "flicker_real")
WARM = "WARM"  # in a --variant's flags: a warm start from the per-frame run at --warm_budget (charged to it)


def run(command: list[str], log: Path, threads: int) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    handle = open(log, "a")  # noqa: SIM115 - closed by the caller through wait_all
    # in the caller's working folder (the scripts by absolute path), where relative flags after -- point
    return subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)


def wait_all(processes: dict[str, subprocess.Popen], logs: dict[str, Path]) -> None:
    failed = []
    try:
        for key, process in processes.items():
            if process.wait() != 0:
                failed.append(key)
            process.stdout and process.stdout.close()
    except KeyboardInterrupt:
        stop_all(processes.values())
        raise
    if failed:
        tails = "; ".join(f"{key}: {logs[key].read_text().strip().splitlines()[-1:]}" for key in failed)
        raise SystemExit(f"compare_per_frame: error: {', '.join(failed)} failed ({tails}); logs in "
                         f"{logs[failed[0]].parent}")


def stop_all(processes: Iterable[subprocess.Popen]) -> None:
    """After a Ctrl-C: let each child stop itself (a Ctrl-C in the terminal reached them too: train.py saves
    'latest', test.py removes its partial results); SIGINT the ones still running after a few seconds, which the
    Ctrl-C was not sent to."""
    processes = list(processes)
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
    for process in processes:
        process.wait()


def variant_flags(args: argparse.Namespace, variant: str) -> tuple[list[str], float]:
    """The train.py flags of a vid2vid variant and the CPU minutes charged to it before its own training (the
    per-frame minutes of a warm start, ``WARM`` in its flags)."""
    flags = args.variants[variant]
    if WARM not in flags:
        return list(flags), 0.0
    start = run_folder(args, f"{PER_FRAME}_{args.warm_budget:g}min")
    label = f"G_{loadsize(args.flags)}"
    warm = ["--warm_start_G", start.network_file(label, "latest")]
    i = flags.index(WARM)
    return [*flags[:i], *warm, *flags[i + 1:]], args.warm_budget


def loadsize(flags: list[str]) -> str:
    return flags[flags.index("--loadSize") + 1] if "--loadSize" in flags else "512"


def train_runs(args: argparse.Namespace, budget: float, runs: list[str], started_runs: set[str], out: Path
               ) -> dict[str, float]:
    """``runs`` to ``budget`` CPU minutes (less what a warm start charged), concurrently, with equal threads;
    returns each one's wall seconds."""
    threads = args.threads or max(1, (os.cpu_count() or 2) // len(runs))
    processes, logs, started = {}, {}, time.time()
    for model in runs:
        extra, charged = (["--model", "single_frame"], 0.0) if model == PER_FRAME else variant_flags(args, model)
        logs[model] = out / f"train_{model}.log"
        command = [sys.executable, str(REPO / "train.py"), "--name", f"{args.name}_{model}", "--dataroot",
                   args.dataroot, "--checkpoints_dir", args.checkpoints_dir, "--gpu_ids", "-1", "--nThreads", "0",
                   "--niter", "100000", "--niter_decay", "0", "--save_epoch_freq", "100000",
                   "--cpu_budget_minutes", f"{budget - charged:g}", *args.flags]
        if model in started_runs:
            command += ["--continue_train", *strip_start_flags(extra)]
        else:
            command += extra
        processes[model] = run(command, logs[model], threads)
    wait_all(processes, logs)
    for model in runs:
        snapshot(run_folder(args, model), budget)
        started_runs.add(model)
    return {model: time.time() - started for model in runs}


def strip_start_flags(flags: list[str]) -> list[str]:
    """A variant's flags without the ones that only start a run (a resumed run keeps its weights)."""
    kept, skip = [], False
    for flag in flags:
        if skip:
            skip = False
        elif flag == "--warm_start_G":
            skip = True
        else:
            kept.append(flag)
    return kept


def snapshot(folder: RunFolder, budget: float) -> None:
    """Copy the run as it stands at this budget to the run folder ``<run>_<budget>min`` (its 'latest' files and
    options): what later variants start from (``WARM``) and test against, whatever the run does next."""
    import shutil

    target = RunFolder(folder.checkpoints_dir, f"{folder.name}_{budget:g}min")
    partial = Path(f"{target.path}.partial")  # its existence marks the budget done: it appears complete or not at all
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        for name in os.listdir(folder.path):
            if name.startswith("latest_") or name.startswith("opt.") or name == "iter.txt":
                shutil.copyfile(folder.file(name), partial / name)
        if target.exists():  # (a snapshot of an earlier call at this budget: replaced)
            shutil.rmtree(target.path)
        os.replace(partial, target.path)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def test_and_evaluate(args: argparse.Namespace, budget: float, budget_dir: Path, models: list[str]
                      ) -> dict[str, dict]:
    """test.py and evaluate.py on each model's run as it stood at ``budget`` (the snapshots)."""
    reports = {}
    per_frame = f"{args.name}_{PER_FRAME}_{budget:g}min"
    for model in models:
        name = f"{args.name}_{model}_{budget:g}min"
        evaluation = budget_dir / name / "evaluation"
        if (evaluation / "evaluation.json").is_file():  # tested by an earlier call (the snapshot is unchanged)
            reports[model] = json.loads((evaluation / "evaluation.json").read_text())
            continue
        command = [sys.executable, str(REPO / "test.py"), "--name", name, "--dataroot", args.dataroot,
                   "--checkpoints_dir", args.checkpoints_dir, "--results_dir", str(budget_dir), "--gpu_ids", "-1",
                   "--nThreads", "0", "--how_many", str(args.how_many)]
        if model != PER_FRAME:
            command += ["--use_single_G", "--single_G_name", per_frame]
        log = budget_dir / f"test_{model}.log"
        wait_all({model: run(command, log, os.cpu_count() or 1)}, {model: log})
        results = budget_dir / name / "test_latest"
        evaluation = budget_dir / name / "evaluation"
        command = [sys.executable, str(REPO / "scripts" / "evaluate.py"), "--results", str(results), "--dataroot",
                   args.dataroot, "--out", str(evaluation)]
        wait_all({model: run(command, log, os.cpu_count() or 1)}, {model: log})
        reports[model] = json.loads((evaluation / "evaluation.json").read_text())
    return reports


def run_folder(args: argparse.Namespace, model: str) -> RunFolder:
    """The run of ``model`` in this comparison: ``<--name>_<model>`` under --checkpoints_dir."""
    return RunFolder(args.checkpoints_dir, f"{args.name}_{model}")


def cpu_minutes(args: argparse.Namespace, model: str, budget: float) -> tuple[float, int]:
    """CPU minutes trained (a warm start's per-frame minutes included) and items seen at ``budget``."""
    from models.checkpoint import read_checkpoint

    path = run_folder(args, f"{model}_{budget:g}min").training_state_file("latest")
    state = read_checkpoint(path, f"training state of the {model} run",
                            f"its train.py run saved none; see train_{model}.log in --out")
    charged = 0.0 if model == PER_FRAME else variant_flags(args, model)[1]
    return state.get("cpu_seconds", 0.0) / 60 + charged, state["total_steps"]


def write_figures(args: argparse.Namespace, budget: float, budget_dir: Path, reports: dict, out: Path) -> None:
    """frames.jpg (real, then each model's row) and flicker.png of the first test sequence at ``budget``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = next(iter(reports.values()))
    sequence = sorted(first["sequences"])[0]
    frames = first["sequences"][sequence]["frames"]
    picks = [frames[i] for i in np.linspace(0, len(frames) - 1, min(4, len(frames))).round().astype(int)]
    rows: list = []
    for model in ("real", *reports):
        row = []
        for stem in picks:
            if model == "real":
                real_dir = Path(args.dataroot) / "test_B" / sequence
                image = Image.open(next(real_dir.glob(f"{stem}.*"))).convert("RGB")
            else:
                image = Image.open(budget_dir / f"{args.name}_{model}_{budget:g}min" / "test_latest" / sequence /
                                   f"fake_B_{stem}.jpg").convert("RGB")
            row.append(image)
        rows.append(row)
    size = rows[-1][-1].size  # every row at the generated frames' size
    rows = [np.concatenate([np.asarray(im.resize(size)) for im in row], axis=1) for row in rows]
    frames = Image.fromarray(np.concatenate(rows, axis=0))
    write_atomically(out / "frames.jpg", lambda path: frames.save(path, quality=92))
    figure, axis = plt.subplots(figsize=(8, 3))
    for model, report in reports.items():
        axis.plot(report["sequences"][sequence]["flicker"], label=model.replace("_", "-"))
    axis.plot(first["sequences"][sequence]["flicker_real"], label="real video (floor)", color="k")
    axis.set_xlabel(f"frame pair of test sequence {sequence}")
    axis.set_ylabel("warping error")
    axis.legend()
    figure.tight_layout()
    write_atomically(out / "flicker.png", figure.savefig)
    plt.close(figure)


def parse(argv: list[str]) -> argparse.Namespace:
    flags = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="prefix of the run names (<name>_per_frame, <name>_<variant>)")
    parser.add_argument("--dataroot", required=True)
    parser.add_argument("--budgets", type=float, nargs="+", required=True, help="CPU minutes per model, increasing")
    parser.add_argument("--checkpoints_dir", default="./checkpoints")
    parser.add_argument("--out", default=None, help="default: results/compare_<name> (in the working folder)")
    parser.add_argument("--how_many", type=int, default=300, help="generated test frames per model")
    parser.add_argument("--continue_runs", action="store_true",
                        help="extend an earlier comparison of this --name to larger --budgets (its summary grows)")
    parser.add_argument("--variant", nargs=2, action="append", metavar=("NAME", "FLAGS"),
                        help="a vid2vid run <name>_NAME with these extra train.py flags (quoted; may be empty); "
                             "repeat for several, trained side by side; default: one variant 'vid2vid' with none. "
                             f"{WARM} in FLAGS: a warm start (--warm_start_G) from the per-frame run at "
                             "--warm_budget, whose minutes count in the variant's budget")
    parser.add_argument("--warm_budget", type=float, default=None,
                        help=f"CPU minutes of per-frame training a {WARM} variant starts from (default: the first "
                             "budget; it must be one of this comparison's budgets)")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads of each training process (default: the cores shared out among the runs "
                             "that train together); keep it equal across comparisons, as the budget counts all "
                             "threads and idle spinning threads count too")
    parser.add_argument("--untested", type=float, nargs="*", default=[],
                        help="budgets (of --budgets) the runs train to but are not tested at (e.g. a warm start's)")
    args = parser.parse_args(argv)
    problem = name_problem(args.name, nested=True)
    if problem:
        parser.error(f"--name {args.name!r} {problem}; give a run name such as 'sample'")
    # the caller's paths, absolute: the children and the checks here read them alike
    args.dataroot, args.checkpoints_dir = os.path.abspath(args.dataroot), os.path.abspath(args.checkpoints_dir)
    args.out = os.path.abspath(args.out or os.path.join("results", f"compare_{args.name}"))
    args.flags = flags
    args.variants = {name: shlex.split(text) for name, text in (args.variant or [["vid2vid", ""]])}
    if PER_FRAME in args.variants or len(args.variants) != len(args.variant or [0]):
        parser.error(f"--variant names must differ from each other and from '{PER_FRAME}'")
    if sorted(args.budgets) != args.budgets or min(args.budgets) <= 0:
        parser.error("--budgets must be positive and increasing (each continues the runs of the previous one)")
    if args.warm_budget is None:
        args.warm_budget = args.budgets[0]
    return args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    out = Path(args.out)
    models = [PER_FRAME, *args.variants]
    done = {m: {b for b in args.budgets if run_folder(args, f"{m}_{b:g}min").exists() or
                (WARM in args.variants.get(m, []) and b <= args.warm_budget)} for m in models}
    existing = [m for m in models if run_folder(args, m).exists() and done[m] != set(args.budgets)]
    if existing and not args.continue_runs:
        print(f"compare_per_frame: error: {run_folder(args, existing[0])} exists: remove the runs of an earlier "
              "comparison, choose another --name, or pass --continue_runs to extend it", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    command = " ".join([Path(sys.argv[0]).name, *(argv if argv else sys.argv[1:])])
    summary = {"commands": [], "budgets": []}
    if (out / "summary.json").is_file():
        summary = json.loads((out / "summary.json").read_text())
    summary["commands"] = [*summary.get("commands", [summary.pop("command", "")]), command]
    started = {m for m in models if run_folder(args, m).exists()}
    for budget in args.budgets:
        budget_dir = out / f"{budget:g}min"
        budget_dir.mkdir(exist_ok=True)
        runs = [m for m in models if budget not in done[m] and
                not (WARM in args.variants.get(m, []) and budget <= args.warm_budget)]
        wall = train_runs(args, budget, runs, started, out) if runs else {}
        if budget in args.untested:
            continue
        tested = [m for m in models if run_folder(args, f"{m}_{budget:g}min").exists()]
        reports = test_and_evaluate(args, budget, budget_dir, tested)
        entry = next((e for e in summary["budgets"] if e["budget_cpu_minutes"] == budget), None)
        if entry is None:
            entry = {"budget_cpu_minutes": budget, "models": {}}
            summary["budgets"].append(entry)
        for model, report in reports.items():
            used, steps = cpu_minutes(args, model, budget)
            entry["models"][model] = {**{k: report["mean"][k] for k in METRICS}, "cpu_minutes": used,
                                      "training_items": steps,
                                      "wall_seconds_this_budget": wall.get(model, entry["models"].get(
                                          model, {}).get("wall_seconds_this_budget", 0.0)),
                                      "flags": " ".join(args.variants.get(model, ["--model", "single_frame"]))}
        write_figures(args, budget, budget_dir, reports, out)
        print(f"{budget:g} CPU min: " + "; ".join(
            f"{m} PSNR {v['psnr']:.2f} SSIM {v['ssim']:.3f} flicker {v['flicker']:.4f}"
            for m, v in entry["models"].items()), flush=True)
    summary["budgets"].sort(key=lambda e: e["budget_cpu_minutes"])
    lines = ["| CPU min / model | model | items trained | PSNR (dB) | SSIM | flicker | real video's flicker |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for entry in summary["budgets"]:
        for model, v in entry["models"].items():
            lines.append(f"| {entry['budget_cpu_minutes']:g} ({v['cpu_minutes']:.2f} used) | {model} | "
                         f"{v['training_items']} | {v['psnr']:.2f} | {v['ssim']:.4f} | {v['flicker']:.4f} | "
                         f"{v['flicker_real']:.4f} |")
    write_text_atomically(out / "summary.md", "\n".join(lines) + "\n")
    write_text_atomically(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    print(f"{out / 'summary.md'}, {out / 'frames.jpg'}, {out / 'flicker.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_interrupt(main, "compare_per_frame", "its train.py runs saved 'latest' and stopped, partial "
                               "results were removed; rerun the same command with --continue_runs to go on"))
