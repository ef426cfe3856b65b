"""Motion transfer: make the person of a trained pose run move like the person in another video.

    python scripts/pose/transfer.py dance.mp4 --name my_person

1. The source video's poses are estimated as `video_to_dataset.py --kind pose` does (one person chosen, gaps
   filled, keypoints smoothed).
2. They are normalised to the trained person's body and floor (Everybody Dance Now's global pose normalisation,
   data/pose_video/normalization.py) with the statistics that `video_to_dataset.py --kind pose` saved beside the
   training data (``<dataroot>/pose_stats.json``; --target_stats to give another file).
3. The normalised poses (skeleton and DensePose stand-in, at the training frames' size) are written as a pose
   dataset and the trained generator runs through them frame by frame (test.py).
4. ``<results_dir>/<name>/transfer_<video>/transfer.mp4`` shows source | normalised pose | generated side by
   side, and ``index.html`` next to it plays it.

The run must have been trained with --no_first_img (the pose recipes' setting): there is no real first frame of
the trained person doing the source's moves.
"""
from __future__ import annotations

import argparse
import json
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from tqdm import tqdm  # noqa: E402

from data.image_folder import DataError  # noqa: E402
from data.pose_drawing import draw_people, read_people  # noqa: E402
from data.pose_video.extract import Extraction, ExtractSettings, extract  # noqa: E402
from data.pose_video.keypoints import OpenPosePerson  # noqa: E402
from data.pose_video.layout import pose_sequences, write_pose_frame  # noqa: E402
from data.pose_video.normalization import (  # noqa: E402
    STATS_FILE,
    PoseNormalisation,
    PoseStats,
    apply_affine,
    compute_stats,
    track_ankle_ys,
)
from data.video_frames import iter_frames, video_fps  # noqa: E402
from options.run_folder import RunFolder, path_flag_problem  # noqa: E402
from util.atomic import write_text_atomically  # noqa: E402
from util.cli import exit_on_interrupt  # noqa: E402
from util.html import HTMLPage  # noqa: E402
from util.video import Mp4Writer, side_by_side  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PHASE = "test"
ONE_SEQUENCE = 10**9  # a run of frames with the person stays one sequence (the generator carries its history)


class TransferError(RuntimeError):
    """Bad input or flag; the message names it and the fix."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="video (or folder of frames) of the person whose motion to copy")
    parser.add_argument("--name", required=True, help="the trained pose run (checkpoints/<name>)")
    parser.add_argument("--checkpoints_dir", default="checkpoints", help="where the run's folder is")
    parser.add_argument("--which_epoch", default="latest", help="checkpoint to use (latest, or an epoch number)")
    parser.add_argument("--results_dir", default="results", help="output goes to <results_dir>/<name>/transfer_*")
    parser.add_argument("--target_stats", default=None,
                        help=f"the trained person's {STATS_FILE} (default: the one in the run's --dataroot)")
    parser.add_argument("--no_normalize", action="store_true",
                        help="use the source's poses as they are, only scaled to the training frame size")
    parser.add_argument("--every", type=int, default=1, help="keep every N-th source frame")
    parser.add_argument("--max_frames", type=int, default=None, help="at most this many source frames")
    parser.add_argument("--gpu_ids", default="-1", help="test.py's --gpu_ids (-1: CPU)")
    parser.add_argument("--max_people", type=int, default=3, help="as video_to_dataset.py --kind pose")
    parser.add_argument("--max_gap", type=int, default=5, help="as video_to_dataset.py --kind pose")
    parser.add_argument("--no_smooth", action="store_true", help="as video_to_dataset.py --kind pose")
    parser.add_argument("--min_cutoff", type=float, default=1.0, help="as video_to_dataset.py --kind pose")
    parser.add_argument("--beta", type=float, default=0.05, help="as video_to_dataset.py --kind pose")
    return parser


def run_options(args: argparse.Namespace) -> dict:
    """The trained run's saved options, checked to be a pose run that makes its own first frames."""
    run = RunFolder(args.checkpoints_dir, args.name)
    try:
        saved = run.read_options()
    except ValueError as error:
        raise TransferError(str(error)) from None
    if saved is None:
        raise TransferError(f"no {run.options_json}: --name must be a run trained here with --dataset_mode pose "
                            "(see docs/POSE.md)")
    options = saved[1]
    if options.get("dataset_mode") != "pose":
        raise TransferError(f"run {args.name} was trained with --dataset_mode {options.get('dataset_mode')}; "
                            "motion transfer needs a pose run (docs/POSE.md)")
    if not options.get("no_first_img"):
        raise TransferError(f"run {args.name} was trained without --no_first_img: it needs real first frames of "
                            "the person, which a transfer does not have; train with --no_first_img (docs/POSE.md)")
    return options


def target_stats(args: argparse.Namespace, options: dict) -> PoseStats:
    path = Path(args.target_stats) if args.target_stats else Path(options.get("dataroot", "")) / STATS_FILE
    if not path.is_file():
        raise TransferError(f"no {path}: make the training data with `scripts/video_to_dataset.py --kind pose`, "
                            f"which writes it, or give --target_stats")
    try:
        return PoseStats.load(path)
    except (DataError, ValueError) as error:
        raise TransferError(str(error)) from None


def frame_map(source: PoseStats, target: PoseStats, ankle_y: float, normalize: bool) -> tuple[float, float, float]:
    """(scale, dx, dy) with target = source * scale + (dx, dy) for a source frame whose ankle y is ``ankle_y``:
    the normalisation's, or with ``normalize`` off the source frame scaled into the target frame and centred."""
    if normalize:
        return PoseNormalisation(source, target).affine(ankle_y)
    scale = min(target.frame_width / source.frame_width, target.frame_height / source.frame_height)
    return (scale, (target.frame_width - scale * source.frame_width) / 2,
            (target.frame_height - scale * source.frame_height) / 2)


def moved_mask(mask: np.ndarray, affine: tuple[float, float, float], size: tuple[int, int]) -> np.ndarray:
    """The (H, W) mask through ``affine`` into a frame of ``size`` (width, height), nearest neighbour."""
    import cv2

    scale, dx, dy = affine
    matrix = np.array([[scale, 0, dx], [0, scale, dy]], dtype=np.float64)
    return cv2.warpAffine(mask, matrix, size, flags=cv2.INTER_NEAREST, borderValue=0)


def normalised_people(extraction: Extraction, source: PoseStats, target: PoseStats,
                      normalize: bool) -> dict[int, tuple[OpenPosePerson, tuple[float, float, float]]]:
    """Per found frame: the person mapped into the target's frame and the frame's map."""
    found = extraction.found
    ankles = track_ankle_ys(np.stack([extraction.people[i].body for i in found]))
    result = {}
    for index, ankle in zip(found, ankles, strict=True):
        affine = frame_map(source, target, float(ankle), normalize)
        person = extraction.people[index]
        result[index] = (OpenPosePerson(*(apply_affine(points, affine) for points in person)), affine)
    return result


def run_generator(args: argparse.Namespace, dataset: Path, generated: Path) -> Path:
    """test.py on the transfer dataset; returns the folder of its frames."""
    command = [sys.executable, str(ROOT / "test.py"), "--name", args.name, "--checkpoints_dir",
               args.checkpoints_dir, "--dataroot", str(dataset), "--dataset_mode", "pose", "--phase", PHASE,
               "--which_epoch", args.which_epoch, "--results_dir", str(generated), "--gpu_ids", args.gpu_ids,
               "--resize_or_crop", "scaleHeight", "--how_many", str(10**9)]
    log = generated.parent / "test.log"
    print(f"generating: {shlex.join(command)}  (output in {log})")
    generated.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            returncode = process.wait()
        except KeyboardInterrupt:
            stop_test_py(process)
            raise
    last = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()][-1:] or [""]
    if returncode != 0:
        raise TransferError(f"test.py failed: {last[0].strip()} (all of its output: {log})")
    return generated / args.name / f"{PHASE}_{args.which_epoch}"


def stop_test_py(process: subprocess.Popen) -> None:
    """After a Ctrl-C: let test.py remove its partial results itself (a Ctrl-C in the terminal reached it too;
    killing it would leave its temporary folder), asking it with SIGINT when the Ctrl-C was ours alone."""
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        process.wait()


def compose(args: argparse.Namespace, out: Path, frames_dir: Path, sequences: list[list[int]],
            people: dict, size: tuple[int, int], fps: float) -> tuple[Path, int]:
    """transfer.mp4: source | normalised pose | generated, each at the generated frames' height."""
    video = out / "transfer.mp4"
    stems = {index: (f"transfer_{k:03d}", f"transfer_{k:03d}_{t:05d}")
             for k, indices in enumerate(sequences) for t, index in enumerate(indices)}
    count = 0
    with Mp4Writer(str(video), fps=fps) as writer:
        for index, frame in enumerate(iter_frames(args.source, args.every, args.max_frames, None)):
            if index not in stems:
                continue
            sequence, stem = stems[index]
            fake_path = frames_dir / sequence / f"fake_B_{stem}.jpg"
            if not fake_path.exists():
                continue  # the generator's history frames (n_frames_G - 1 per sequence) are not generated
            fake = np.asarray(Image.open(fake_path).convert("RGB"))
            height = fake.shape[0]
            pose = draw_people(read_people(str(out / "dataset" / f"{PHASE}_openpose" / sequence /
                                               f"{stem}_keypoints.json")), size)
            iuv = np.asarray(Image.open(out / "dataset" / f"{PHASE}_densepose" / sequence / f"{stem}_IUV.png"))
            panel = np.maximum(pose, (iuv * [1, 1, 10]).clip(0, 255).astype(np.uint8) // 2)
            source_panel, pose_panel = (np.asarray(image.resize((max(2, round(image.width * height / image.height)),
                                                                 height), Image.BICUBIC))
                                        for image in (frame, Image.fromarray(panel)))
            # the pose mode generates the central columns only (data/modes/pose.py): show the same part of the pose
            left = max(0, (pose_panel.shape[1] - fake.shape[1]) // 2)
            writer.append(side_by_side(source_panel, pose_panel[:, left:left + fake.shape[1]], fake))
            count += 1
    return video, count


def write_page(out: Path, args: argparse.Namespace, count: int, summary: str) -> Path:
    page = HTMLPage(str(out), f"{args.name}: moves of {Path(args.source).name}")
    page.add_text(summary)
    page.add_videos(["transfer.mp4"], ["source | normalised pose | generated"], width=900)
    page.add_text(f"{count} frames; the generated frames alone: generated/{args.name}/{PHASE}_{args.which_epoch}/")
    return Path(page.save())


def transfer(args: argparse.Namespace) -> int:
    options = run_options(args)
    target = target_stats(args, options)
    size = (target.frame_width, target.frame_height)
    out = Path(args.results_dir) / args.name / f"transfer_{Path(args.source.rstrip('/')).stem}"
    fps = video_fps(args.source) / args.every
    settings = ExtractSettings(args.max_people, args.max_gap, not args.no_smooth, args.min_cutoff, args.beta, fps)

    def frames() -> Iterator[np.ndarray]:
        return (np.asarray(f) for f in iter_frames(args.source, args.every, args.max_frames, None))

    key = {"input": str(Path(args.source).resolve()), "every": args.every, "max_frames": args.max_frames,
           "size": None, "max_people": args.max_people}
    extraction = extract(frames, out / ".pose_cache", key, settings)
    found = extraction.found
    if not found:
        raise TransferError(f"no person found in {args.source}; the source needs one person with the body in "
                            "view (docs/POSE.md)")
    first = next(iter(iter_frames(args.source, args.every, args.max_frames, None)))
    try:
        source = compute_stats(np.stack([extraction.people[i].body for i in found]), first.size)
    except ValueError as error:
        if not args.no_normalize:
            raise TransferError(f"{error} (or pass --no_normalize)") from None
        source = PoseStats(0, 0, 1, 1, first.width / 2, first.width, first.height)
    people = normalised_people(extraction, source, target, not args.no_normalize)
    sequences, dropped = pose_sequences(found, ONE_SEQUENCE)
    if not sequences:
        raise TransferError(f"the person is found in {len(found)} frames of {args.source}, never 4 in a row")
    dataset = out / "dataset"
    place = {index: (k, t) for k, indices in enumerate(sequences) for t, index in enumerate(indices)}
    canvas = Image.new("RGB", size)  # names each frame and gives its size; the generator never sees it
    for index, (k, t) in tqdm(sorted(place.items()), unit="frame", desc="normalising"):
        person, affine = people[index]
        mask = moved_mask(extraction.mask(index), affine, size)
        write_pose_frame(dataset, PHASE, f"transfer_{k:03d}", f"transfer_{k:03d}_{t:05d}", canvas, person, mask)
    frames_dir = run_generator(args, dataset, out / "generated")
    video, count = compose(args, out, frames_dir, sequences, people, size, fps)
    summary = (f"{len(extraction.people)} source frames, the person in {len(found)}; {count} generated frames "
               f"(normalisation: {'off' if args.no_normalize else 'Everybody Dance Now, to ' + STATS_FILE})")
    if dropped:
        summary += f"; {len(dropped)} frames left out (fewer than 4 in a row with the person)"
    write_text_atomically(out / "source_stats.json", json.dumps(source.to_json(), indent=1))
    page = write_page(out, args, count, summary)
    print(f"{summary}\nvideo: {video}\npage:  {page}")
    return 0


def path_problem(args: argparse.Namespace) -> str | None:
    """A flag that would put files outside its folder (as train.py and test.py check theirs), or an empty folder
    flag (files straight into the working folder)."""
    problem = path_flag_problem(argparse.Namespace(name=args.name, which_epoch=args.which_epoch))
    if problem:
        return problem
    for dest in ("checkpoints_dir", "results_dir"):
        if not getattr(args, dest).strip():
            return f"--{dest} is empty: give a folder (leave the flag out for {build_parser().get_default(dest)})"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = path_problem(args)
    if problem:
        parser.error(problem)
    try:
        return transfer(args)
    except (TransferError, DataError) as error:
        print(f"transfer: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(exit_on_interrupt(main, "transfer", "every file written is complete (the pose cache and the frames "
                               "normalised so far are kept); rerun the same command to resume"))
