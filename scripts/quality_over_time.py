"""Quality against frame index on long test sequences: does a model drift once its history is its own output?

    python scripts/quality_over_time.py --dataroot datasets/carphone_long --out results/drift_carphone \\
        --run reference=results/carphone_ref/test_latest --run reanchor_10=results/carphone_ra/test_latest

Each ``--run LABEL=FOLDER`` is a test.py results folder on ``--dataroot``'s test split (evaluate.py is run on it
when ``evaluation_<folder name>/evaluation.json`` beside it is missing). Writes ``<out>/quality_over_time.png``
(PSNR and flicker per frame, one line per run, of the longest sequence), ``quality_over_time.json`` and
``.md``: per run the mean PSNR of the first and the last ``--window`` frames, the least-squares slope of PSNR
in dB per 100 frames, and the mean flicker, so a decay shows as a negative slope and a last-window PSNR below the first.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

from util.atomic import write_atomically, write_text_atomically  # noqa: E402
from util.cli import exit_on_interrupt  # noqa: E402


def evaluation_of(results: Path, dataroot: str) -> dict:
    """evaluate.py's report of a results folder (computed once, kept beside it)."""
    out = results.parent / f"evaluation_{results.name}"
    report = out / "evaluation.json"
    if not report.is_file():
        command = [sys.executable, str(REPO / "scripts" / "evaluate.py"), "--results", str(results),
                   "--dataroot", dataroot, "--out", str(out)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise SystemExit(f"quality_over_time: error: evaluate.py failed on {results}: {tail}")
    return json.loads(report.read_text())


def summarise(psnr: list[float], flicker: list[float], window: int) -> dict:
    values = np.asarray(psnr, dtype=float)
    n = max(1, min(window, len(values) // 2))  # (a 1-frame sequence: its one frame is first and last)
    slope = float(np.polyfit(np.arange(len(values)), values, 1)[0] * 100) if len(values) > 1 else 0.0
    return {"frames": len(values), "psnr_mean": float(values.mean()), "psnr_first": float(values[:n].mean()),
            "psnr_last": float(values[-n:].mean()), "psnr_slope_per_100": slope,
            "flicker_mean": float(np.mean(flicker)) if flicker else float("nan")}


def positive_int(text: str) -> int:
    """An argparse type for --window: a whole number of frames above 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of frames, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: at least 1 frame must be averaged at each end")
    return value


def out_problem(out: Path) -> str | None:
    """Why --out cannot be the folder of the plot and tables (checked before any evaluation runs), or None."""
    for path in (out, *out.parents):
        if path.exists() and not path.is_dir():
            return (f"{out} is a file" if path == out else f"{path} (in {out}) is a file") + \
                "; give a folder for the plot and the tables"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataroot", required=True, help="the dataset the results were tested on")
    parser.add_argument("--run", action="append", required=True, metavar="LABEL=FOLDER",
                        help="a test.py results folder (…/test_latest) and its label in the plot; repeat")
    parser.add_argument("--out", required=True, help="folder for the plot and the tables")
    parser.add_argument("--window", type=positive_int, default=10, help="frames averaged at the start and at the end")
    parser.add_argument("--title", default="", help="plot title")
    args = parser.parse_args(argv)
    problem = out_problem(Path(args.out))
    if problem:
        parser.error(f"--out {problem}")
    folders = {}
    for text in args.run:
        label, sep, folder = text.partition("=")
        if not sep or not label or not Path(folder).is_dir():
            parser.error(f"--run {text!r}: expected LABEL=FOLDER with an existing test.py results folder")
        if label in folders:
            parser.error(f"--run {text!r}: the label {label!r} is already given to {folders[label]}; give each "
                         "run its own label (they name the lines of the plot and the rows of the tables)")
        folders[label] = folder
    runs = {label: evaluation_of(Path(folder), args.dataroot) for label, folder in folders.items()}
    first = next(iter(runs.values()))
    sequence = max(first["sequences"], key=lambda s: len(first["sequences"][s]["psnr"]))
    summary = {"dataroot": args.dataroot, "sequence": sequence, "runs": {}}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    for label, report in runs.items():
        entry = report["sequences"].get(sequence)
        if entry is None:
            raise SystemExit(f"quality_over_time: error: run {label} has no sequence {sequence}; test all runs on the "
                             "same --dataroot")
        flicker = entry.get("flicker", [])
        summary["runs"][label] = summarise(entry["psnr"], flicker, args.window)
        top.plot(entry["psnr"], label=label, linewidth=1)
        bottom.plot(range(1, len(flicker) + 1), flicker, label=label, linewidth=1)
    real_flicker = first["sequences"][sequence].get("flicker_real", [])
    bottom.plot(range(1, len(real_flicker) + 1), real_flicker, label="real video", color="k", linewidth=1)
    top.set_ylabel("PSNR (dB)")
    bottom.set_ylabel("flicker (warping error)")
    bottom.set_xlabel(f"generated frame of {sequence}")
    top.legend(fontsize=8)
    if args.title:
        top.set_title(args.title)
    figure.tight_layout()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomically(out / "quality_over_time.png", lambda path: figure.savefig(path, dpi=110))
    plt.close(figure)
    lines = [f"| run | frames | PSNR first {args.window} | PSNR last {args.window} | PSNR slope (dB / 100 frames) "
             "| mean PSNR | mean flicker |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for label, s in summary["runs"].items():
        lines.append(f"| {label} | {s['frames']} | {s['psnr_first']:.2f} | {s['psnr_last']:.2f} | "
                     f"{s['psnr_slope_per_100']:+.2f} | {s['psnr_mean']:.2f} | {s['flicker_mean']:.4f} |")
    write_text_atomically(out / "quality_over_time.md", "\n".join(lines) + "\n")
    write_text_atomically(out / "quality_over_time.json", json.dumps(summary, indent=1) + "\n")
    print("\n".join(lines))
    print(f"{out / 'quality_over_time.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_interrupt(main, "quality_over_time", "every file written is complete (evaluations are kept); "
                               "rerun the same command to finish"))
