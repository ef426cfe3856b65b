"""Measure a test run against the real video: PSNR, SSIM, temporal flicker (and LPIPS / FID when their weights
are on this machine: in the torch hub cache, or given with --lpips_weights / --fid_weights).

    python scripts/evaluate.py --results results/demo/test_latest   # --dataroot, --phase: from its results.json

Reads the ``<sequence>/fake_B_<frame>.jpg`` files test.py wrote and the real frames of the same names in
``<dataroot>/<phase>_B`` (or ``<phase>_img`` for the face and pose layouts). Flicker is the warping error between
consecutive generated frames with the flow of the real frames (``--flow_net dis`` by default; flownet2 / raft
when their weights exist), over the pixels where that flow is reliable; the real video's own error is reported
beside it as the floor. Writes ``evaluation.json`` and an ``index.html`` with per-frame plots and the worst
frames side by side into ``--out`` (default: ``<results>/evaluation``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, UnidentifiedImageError  # noqa: E402

from data.image_folder import is_image_file  # noqa: E402
from models.checkpoint import CheckpointError  # noqa: E402
from models.flow import build_flow_estimator  # noqa: E402
from models.video_metrics import flicker, optional_metric, psnr_ssim, resize_like  # noqa: E402
from util.atomic import write_text_atomically  # noqa: E402
from util.cli import exit_on_interrupt  # noqa: E402
from util.html import HTMLPage  # noqa: E402
from util.result_writer import RESULTS_RECORD, read_results_record  # noqa: E402

REAL_FOLDERS = ("{phase}_B", "{phase}_img")
N_WORST = 3


class EvaluationError(RuntimeError):
    """A missing folder or frame; the message names it and the fix."""


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL RGB -> (3, H, W) in [-1, 1]."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1)


def read_image(path: Path, fix: str) -> Image.Image:
    """The RGB image at ``path``; an empty, truncated or foreign file is an `EvaluationError` naming it."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise EvaluationError(f"cannot read image {path} ({error}); {fix}") from None


def read_frames(paths: list[Path], what: str, fix: str) -> torch.Tensor:
    """(T, 3, H, W) in [-1, 1] of the frames of one sequence, which must have one size."""
    images = [read_image(path, fix) for path in paths]
    size = images[0].size
    for path, image in zip(paths, images, strict=True):
        if image.size != size:
            raise EvaluationError(f"{path} is {image.width}x{image.height} but {paths[0]} is {size[0]}x{size[1]}; "
                                  f"the {what} of a sequence must have one size: {fix}")
    return torch.stack([to_tensor(image) for image in images])


REWRITE_FAKE = "rerun test.py to write the results again (it replaces the whole folder)"
FIX_REAL = "replace the frame, or pass the --dataroot and --phase test.py used"


def find_pairs(results: Path, dataroot: Path, phase: str) -> dict[str, list[tuple[str, Path, Path]]]:
    """Per sequence: (frame stem, generated file, real file), in frame order."""
    if not results.is_dir():
        raise EvaluationError(f"results folder {results} not found; run test.py first (it prints the folder)")
    if dataroot.is_file():
        raise EvaluationError(f"--dataroot {dataroot} is a file, not a folder; pass the dataset folder test.py read "
                              "(the one holding test_A, test_B)")
    roots = [dataroot / pattern.format(phase=phase) for pattern in REAL_FOLDERS]
    real_root = next((root for root in roots if root.is_dir()), None)
    if real_root is None:
        raise EvaluationError(f"no real frames: neither {roots[0]} nor {roots[1]} exists; pass the --dataroot and "
                              "--phase test.py used")
    pairs: dict[str, list[tuple[str, Path, Path]]] = {}
    for fake in sorted(results.glob("*/fake_B_*.jpg")):
        sequence, stem = fake.parent.name, fake.stem[len("fake_B_"):]
        candidates = [p for p in (real_root / sequence).glob(f"{stem}.*") if is_image_file(p.name)]
        if not candidates:
            raise EvaluationError(f"no real frame for {fake}: expected {real_root / sequence / stem}.png/.jpg")
        pairs.setdefault(sequence, []).append((stem, fake, candidates[0]))
    if not pairs:
        raise EvaluationError(f"no fake_B_*.jpg frames in {results}/<sequence>/; pass the folder test.py printed "
                              "(results/<name>/<phase>_<which_epoch>)")
    return pairs


def mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def evaluate(pairs: dict, flow_net: str, flownet_checkpoint: str | None, lpips_weights: str | None = None,
             fid_weights: str | None = None) -> dict:
    """Per-frame PSNR / SSIM (/ LPIPS), per-pair flicker of each sequence, their means, and FID over all frames;
    ``skipped`` lists the metrics whose weights are not on this machine."""
    flow = build_flow_estimator(flow_net, "cpu", flownet_checkpoint)
    lpips, lpips_note = optional_metric("LPIPS", lpips_weights)
    fid, fid_note = optional_metric("FID", fid_weights)
    report: dict = {"flow_net": flow_net, "sequences": {}, "skipped": [n for n in (lpips_note, fid_note) if n]}
    for sequence, frames in pairs.items():
        fake = read_frames([f for _, f, _ in frames], "generated frames", REWRITE_FAKE)  # (T, 3, H, W)
        real = resize_like(read_frames([r for _, _, r in frames], "real frames", FIX_REAL), fake.shape[-2:])
        psnr, ssim = psnr_ssim(fake, real)
        entry = {"frames": [s for s, _, _ in frames], "psnr": psnr.tolist(), "ssim": ssim.tolist()}
        if lpips is not None:
            entry["lpips"] = lpips(fake, real).tolist()
        if fid is not None:
            fid.update(fake, real)
        if len(frames) > 1:
            warp = flicker(fake, real, flow)
            entry.update(flicker=warp["fake"].tolist(), flicker_real=warp["real"].tolist(),
                         flicker_valid=warp["valid"].tolist())
        report["sequences"][sequence] = entry
    every = list(report["sequences"].values())
    report["mean"] = {key: mean([v for e in every for v in e.get(key, [])])
                      for key in ("psnr", "ssim", "flicker", "flicker_real", *(["lpips"] if lpips else []))}
    if fid is not None:
        if fid.count < 2:
            report["skipped"].append("FID skipped: it needs at least 2 frames")
        else:
            report["mean"]["fid"], report["fid_frames"] = fid.compute(), fid.count
    return report


def summary(report: dict) -> str:
    m = report["mean"]
    text = (f"PSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.4f}, flicker {m['flicker']:.4f} (real video "
            f"{m['flicker_real']:.4f})")
    if "lpips" in m:
        text += f", LPIPS {m['lpips']:.4f}"
    if "fid" in m:
        text += f", FID {m['fid']:.2f} ({report['fid_frames']} frames)"
    return text


def write_page(report: dict, pairs: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    page = HTMLPage(str(out), "evaluation")
    page.add_text(f"{summary(report)}; flow: {report['flow_net']}")
    for note in report.get("skipped", []):
        page.add_text(note)
    for sequence, entry in report["sequences"].items():
        figure, axes = plt.subplots(1, 2, figsize=(10, 3))
        axes[0].plot(entry["psnr"], label="PSNR (dB)")
        axes[0].set_xlabel("frame")
        axes[0].legend()
        if "flicker" in entry:
            axes[1].plot(entry["flicker"], label="generated")
            axes[1].plot(entry["flicker_real"], label="real (floor)")
            axes[1].set_xlabel("frame pair")
            axes[1].legend(title="warping error")
        plot = out / f"{sequence}_metrics.png"
        figure.tight_layout()
        figure.savefig(plot)
        plt.close(figure)
        page.add_header(sequence)
        page.add_images([plot.name], [f"{sequence}: per-frame metrics"], width=800)
        worst = np.argsort(entry["psnr"])[:N_WORST]
        for index in worst:
            stem, fake, real = pairs[sequence][index]
            both = out / f"{sequence}_{stem}_real_fake.jpg"
            images = [Image.open(real).convert("RGB"), Image.open(fake).convert("RGB")]
            images[0] = images[0].resize(images[1].size)
            canvas = Image.new("RGB", (images[1].width * 2, images[1].height))
            canvas.paste(images[0], (0, 0))
            canvas.paste(images[1], (images[1].width, 0))
            canvas.save(both, quality=95)
            page.add_images([both.name], [f"{stem}: real | generated, PSNR {entry['psnr'][index]:.2f}"],
                            width=512)
    page.save()


def write_outputs(report: dict, pairs: dict, out: Path) -> None:
    """evaluation.json and the page with its images, written into a temporary folder beside ``out`` that
    replaces ``out`` when complete: an interrupted or failed write leaves the previous evaluation (or none)."""
    created = [folder for folder in (out.parent, *out.parent.parents) if not folder.exists()]  # deepest first
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    old = None
    try:
        os.chmod(partial, 0o777 & ~current_umask())  # mkdtemp makes it private; results are for sharing
        write_text_atomically(partial / "evaluation.json", json.dumps(report, indent=1) + "\n")
        write_page(report, pairs, partial)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / out.name)
        os.replace(partial, out)
    except BaseException:
        if old is not None and not out.exists():
            os.replace(old / out.name, out)  # the previous evaluation, back in place
        shutil.rmtree(partial, ignore_errors=True)
        for folder in created:  # the folders made for --out, when nothing else went in
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_out(out: Path) -> None:
    """``out`` is replaced as a whole: only a new name or an earlier evaluation may be."""
    if out.exists() and not (out.is_dir() and (out / "evaluation.json").is_file()):
        what = "a file" if not out.is_dir() else "a folder that holds no evaluation.json"
        raise EvaluationError(f"--out {out} is {what}; the evaluation replaces --out as a whole, so it must be a new "
                              "folder or an earlier evaluation: choose another --out (default <results>/evaluation)")


def with_run_of(args: argparse.Namespace) -> argparse.Namespace:
    """--dataroot and --phase from the results' results.json (written by test.py) when not given; given ones must
    match it, or the generated frames would be measured against other real frames."""
    try:
        recorded = read_results_record(args.results)
    except ValueError as error:  # (damaged: the flags decide, as for results without one)
        if args.dataroot is None:
            raise EvaluationError(f"{error}; pass --dataroot (and --phase)") from None
        recorded = None
    if recorded is not None and args.dataroot is not None and not Path(recorded["dataroot"]).exists():
        print(f"notice: {recorded['dataroot']}, which test.py read, is gone; measuring against --dataroot "
              f"{args.dataroot}")
        recorded = {**recorded, "dataroot": args.dataroot}
    if recorded is None:
        if args.dataroot is None:
            raise EvaluationError(f"{args.results} has no {RESULTS_RECORD} saying which dataset test.py read; pass "
                                  "--dataroot (and --phase)")
        return argparse.Namespace(**{**vars(args), "phase": args.phase or "test"})
    dataroot, phase = recorded["dataroot"], recorded["phase"]
    if args.dataroot is not None and Path(args.dataroot).resolve() != Path(dataroot).resolve() \
            or args.phase is not None and args.phase != phase:
        given = " ".join(f"--{k} {v}" for k, v in (("dataroot", args.dataroot), ("phase", args.phase)) if v)
        raise EvaluationError(f"{args.results} was generated by test.py from --dataroot {dataroot} --phase {phase}; "
                              f"{given} would measure it against other real frames: drop the flag(s) (they come "
                              f"from {Path(args.results) / RESULTS_RECORD})")
    return argparse.Namespace(**{**vars(args), "dataroot": dataroot, "phase": phase})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", required=True, help="test.py's results folder (…/test_latest)")
    parser.add_argument("--dataroot", default=None,
                        help="the dataset test.py read (default: from the results' results.json)")
    parser.add_argument("--phase", default=None, help="its split (default: from results.json, else test)")
    parser.add_argument("--flow_net", default="dis", help="flow of the real frames: dis | flownet2 | raft")
    parser.add_argument("--flownet_checkpoint", default=None)
    parser.add_argument("--out", default=None, help="where evaluation.json and index.html go")
    parser.add_argument("--lpips_weights", default=None,
                        help="torchvision AlexNet state_dict for LPIPS (default: the torch hub cache's copy)")
    parser.add_argument("--fid_weights", default=None,
                        help="torch-fidelity's Inception state_dict for FID (default: the torch hub cache's copy)")
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else Path(args.results) / "evaluation"
    try:
        check_out(out)
        args = with_run_of(args)
        pairs = find_pairs(Path(args.results), Path(args.dataroot), args.phase)
        report = evaluate(pairs, args.flow_net, args.flownet_checkpoint, args.lpips_weights, args.fid_weights)
    except (EvaluationError, FileNotFoundError, ValueError, CheckpointError) as error:
        print(f"evaluate: error: {error}", file=sys.stderr)
        return 1
    try:
        write_outputs(report, pairs, out)
    except OSError as error:  # (write_outputs left the previous evaluation, or none)
        print(f"evaluate: error: cannot write --out {out} ({error.strerror or error}: {error.filename}); choose "
              "another --out", file=sys.stderr)
        return 1
    print(f"{summary(report)} over {sum(len(p) for p in pairs.values())} frames; {out / 'evaluation.json'}, "
          f"{out / 'index.html'}")
    for note in report["skipped"]:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_interrupt(main, "evaluate", "nothing was written (an earlier evaluation.json stays as it was)"))
