"""Turn your own video (or a folder of frames) into a dataset that train.py and test.py read.

    python scripts/video_to_dataset.py my_video.mp4 --kind edges --dataroot datasets/my_video
    python scripts/video_to_dataset.py talk.mp4 --kind face --dataroot datasets/my_face
    python scripts/video_to_dataset.py street.mp4 --kind labels --segmenter my_segmenter.pt --dataroot datasets/street

The frames are cut into sequences (``--seq_length`` frames each, or at shot cuts with ``--split shots``); the last
``--n_test`` sequences form the test split. Kinds:
  edges   Canny edge maps of the frames (<phase>_A, 1 channel) + the frames (<phase>_B): sketch -> video,
          trained with --label_nc 0 --input_nc 1;
  face    the frames (<phase>_img) + 68-point landmarks (<phase>_keypoints), the face dataset mode;
  pose    the frames (<phase>_img) + one person's OpenPose keypoints (<phase>_openpose) and a DensePose
          stand-in (<phase>_densepose), from MediaPipe (an optional install; docs/POSE.md): the pose mode.
          Frames without the person are left out; pose_stats.json (for scripts/pose/transfer.py) is written;
  labels  semantic label maps (<phase>_A) from a segmentation model + the frames (<phase>_B): a TorchScript
          file of yours (its argmax classes are the label ids) or torchvision's DeepLabV3 whose weights are in
          the local torch cache (its classes mapped to Cityscapes ids, see docs/DATA.md).
The settings are recorded in <dataroot>/video_to_dataset.json: finished frames are kept, so a rerun of the same
command resumes an interrupted run (Ctrl-C: exit 130), while a rerun with other settings is refused unless
--overwrite makes the dataset again. A failed run removes what it wrote. The end prints what is on disk (counted
from the files) and the train.py and test.py commands to run next.
"""
from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from tqdm import tqdm  # noqa: E402

from data.dataset_record import RecordError, claim, input_identity, on_disk, remove_new, write_record  # noqa: E402
from data.face_landmarks import LandmarkError, find_predictor, load_dlib, process_sequence  # noqa: E402
from data.image_folder import DataError, is_image_file  # noqa: E402
from data.pose_video.extract import ExtractSettings, extract  # noqa: E402
from data.pose_video.layout import (  # noqa: E402
    in_central_half,
    person_centre_x,
    pose_sequences,
    ranges_text,
    recentred,
    write_pose_frame,
)
from data.pose_video.normalization import STATS_FILE, compute_stats  # noqa: E402
from data.video_frames import VideoInputError, canny_edges, iter_frames, video_fps  # noqa: E402
from data.video_sequences import (  # noqa: E402
    Built,
    VideoDatasetError,
    check_enough_sequences,
    histogram,
    sequence_indices,
    sequence_record,
    split_point,
    split_sequences,  # noqa: F401 - (tests call it through the script)
)
from models.segmenters import Segmenter, SegmenterError, load_segmenter  # noqa: E402
from util.atomic import write_atomically  # noqa: E402
from util.cli import INTERRUPTED, interrupted_line, one_line  # noqa: E402

PROG = "video_to_dataset"
POSE_CACHE = ".pose_cache"  # --kind pose: the estimates per frame, kept when a run fails (data/pose_video/extract.py)

KINDS = ("edges", "face", "labels", "pose")


def save_once(path: Path, image: Image.Image) -> bool:
    """Write ``image`` unless ``path`` exists (resume); returns whether it wrote."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda temporary: image.save(temporary, quality=95) if path.suffix == ".jpg"
                     else image.save(temporary))
    return True


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="a video file (mp4/avi/mov) or a folder of frames")
    parser.add_argument("--kind", required=True, choices=KINDS, help="what the input maps are (see above)")
    parser.add_argument("--dataroot", required=True, help="dataset folder to write (train.py --dataroot)")
    parser.add_argument("--name", default=None, help="sequence name prefix (default: the input's name)")
    parser.add_argument("--overwrite", action="store_true",
                        help="delete the dataset already in --dataroot (its train_*/test_* folders) and make it "
                             "again; without it a rerun resumes, and only with the settings of the earlier run")
    parser.add_argument("--every", type=int, default=1, help="keep every N-th frame")
    parser.add_argument("--max_frames", type=int, default=None, help="at most this many frames in all")
    parser.add_argument("--size", type=int, default=None, help="resize frames to this width in pixels")
    parser.add_argument("--split", choices=("length", "shots"), default="length",
                        help="cut sequences every --seq_length frames, or at shot cuts")
    parser.add_argument("--seq_length", type=int, default=30, help="frames per sequence with --split length")
    parser.add_argument("--n_test", type=int, default=1, help="sequences (the last ones) for the test split")
    parser.add_argument("--test_tail", type=int, default=0,
                        help="instead of --n_test: the last N frames of every sequence (of at least N + 4) form "
                             "its test sequence, the frames before them train: held-out frames of the same shots")
    parser.add_argument("--canny", type=int, nargs=2, default=(100, 200), metavar=("LOW", "HIGH"),
                        help="--kind edges: Canny hysteresis thresholds")
    parser.add_argument("--segmenter", default=None,
                        help="--kind labels: a TorchScript file, or deeplabv3_resnet50 | deeplabv3_resnet101 | "
                             "deeplabv3_mobilenet_v3_large with weights in the local torch cache")
    parser.add_argument("--predictor", default=None, help="--kind face: dlib's 68-point predictor file")
    parser.add_argument("--fill_missing", action="store_true",
                        help="--kind face: interpolate the landmarks of frames without a detected face")
    pose = parser.add_argument_group("--kind pose (docs/POSE.md)")
    pose.add_argument("--max_people", type=int, default=3,
                      help="people looked for per frame; the one largest over the video is followed (1: faster, "
                           "for videos with one person)")
    pose.add_argument("--max_gap", type=int, default=5,
                      help="frames without the person (or a joint) up to this long are interpolated")
    pose.add_argument("--no_smooth", action="store_true", help="keep the raw keypoints (no One Euro filter)")
    pose.add_argument("--min_cutoff", type=float, default=1.0,
                      help="One Euro filter cutoff (Hz) of a still joint: lower = less jitter, more lag")
    pose.add_argument("--beta", type=float, default=0.05,
                      help="One Euro filter speed coefficient: higher = less lag on fast moves")
    pose.add_argument("--recenter", action="store_true",
                      help="shift the whole video sideways so the person's median position is the frame's centre "
                           "(edge columns repeated): the pose mode trains on the central half of the width only")
    pose.add_argument("--fps", type=float, default=None,
                      help="frame rate of the input (default: the video's, 30 for a folder; divided by --every)")
    return parser


def check_args(args: argparse.Namespace) -> None:
    if args.every < 1 or args.seq_length < 4 or args.n_test < 0 or 0 < args.test_tail < 4 or args.test_tail < 0:
        raise VideoDatasetError("--every must be >= 1, --seq_length >= 4 (n_frames_G 3 + one generated frame), "
                                "--n_test >= 0 and --test_tail 0 or >= 4")
    if args.max_people < 1 or args.max_gap < 0 or args.min_cutoff <= 0 or args.beta < 0 or (
            args.fps is not None and args.fps <= 0):
        raise VideoDatasetError("--max_people must be >= 1, --max_gap >= 0, --min_cutoff > 0, --beta >= 0 and "
                                "--fps > 0")
    if (args.size is not None and args.size < MIN_SIZE) or (args.max_frames is not None and args.max_frames < 1):
        raise VideoDatasetError(f"--size must be >= {MIN_SIZE} pixels and --max_frames >= 1 (leave them out for the "
                                "video's width and every frame)")
    if not 0 <= args.canny[0] <= args.canny[1] <= 255 * 4:
        raise VideoDatasetError(f"--canny {args.canny[0]} {args.canny[1]}: give LOW <= HIGH, both >= 0 (gradient "
                                "strengths; 100 200 by default)")
    if args.name is not None and not re.fullmatch(r"[\w.-]+", args.name) or args.name in (".", ".."):
        raise VideoDatasetError(f"--name {args.name!r}: a sequence name prefix is one folder name (letters, digits, "
                                "'_', '-', '.'), without '/' or '..'")
    if args.kind == "labels" and not args.segmenter:
        raise VideoDatasetError("--kind labels needs --segmenter (a TorchScript file or a torchvision DeepLabV3 "
                                "name, see --help)")


MIN_SIZE = 32  # --size: the smallest width the generator's downsampling leaves room for


def next_commands(args: argparse.Namespace, label_nc: int | None, size: tuple[int, int]) -> list[str]:
    root, name = shlex.quote(args.dataroot), shlex.quote(Path(args.dataroot).name or "my_video")
    load = f"--loadSize {size[0]}"
    if args.kind == "edges":
        flags = f"--label_nc 0 --input_nc 1 {load}"
    elif args.kind == "face":
        flags = f"--dataset_mode face --input_nc 15 {load}"
    elif args.kind == "pose":
        flags = f"--dataset_mode pose {POSE_FLAGS} --loadSize {pose_load_size(size)}"
        return [f"python train.py --name {name} --dataroot {root} {flags} {POSE_TRAIN_FLAGS}",
                f"python test.py --name {name} --dataroot {root} --resize_or_crop scaleHeight",
                f"python scripts/pose/transfer.py SOURCE_VIDEO.mp4 --name {name}"]
    else:
        flags = f"--label_nc {label_nc} {load}"
    if args.kind == "face":
        return [f"python train.py --name {name} --dataroot {root} {flags}",
                f"python test.py --name {name} --dataroot {root} --use_real_img"]
    # the small-budget recipe of docs/RESULTS.md: a per-frame run first, vid2vid warm-started from it
    per_frame = shlex.quote(f"{Path(args.dataroot).name or 'my_video'}_per_frame")
    warm = f"checkpoints/{per_frame}/latest_net_G_{size[0]}.pth"
    return [f"python train.py --model single_frame --name {per_frame} --dataroot {root} {flags}",
            f"python train.py --name {name} --dataroot {root} {flags} --warm_start_G {warm} {RECIPE_FLAGS}",
            f"python test.py --name {name} --dataroot {root} --use_single_G --single_G_name {per_frame}"]


# what the recipe adds to a vid2vid run besides the warm start (docs/RESULTS.md, docs/TRAINING.md)
RECIPE_FLAGS = "--occlusion_init 0.95 --niter_step 1000"


# --kind pose: the reference's pose recipes (scripts/pose/train_256p.sh) at the frames' height, at most 256
POSE_FLAGS = "--input_nc 6 --resize_or_crop scaleHeight"
POSE_TRAIN_FLAGS = "--num_D 2 --n_frames_total 12 --max_t_step 4 --no_first_img"


def pose_load_size(size: tuple[int, int]) -> int:
    """--loadSize (the height with scaleHeight) for frames of ``size``: 256, or the frame height when smaller
    (rounded down to a multiple of 32)."""
    return max(32, min(256, size[1] // 32 * 32))


def pose_stage(total: int) -> Callable[[str], Callable[[], None]]:
    """A progress bar per extraction stage (`extract`'s ``progress``)."""
    def stage(name: str) -> Callable[[], None]:
        bar = tqdm(total=total, unit="frame", desc=name, dynamic_ncols=True, leave=False)

        def step() -> None:
            bar.update(1)
            if bar.n >= total:
                bar.close()
        return step
    return stage


def make_pose_dataset(args: argparse.Namespace) -> Built:
    """--kind pose: estimate one person's pose in every frame, then write the pose mode's layout and
    pose_stats.json; frames without the person are reported and left out."""
    root = Path(args.dataroot)
    prefix = prefix_of(args)
    fps = (args.fps or video_fps(args.input)) / args.every
    settings = ExtractSettings(max_people=args.max_people, max_gap=args.max_gap, smooth=not args.no_smooth,
                               min_cutoff=args.min_cutoff, beta=args.beta, fps=fps)

    def frames() -> Iterator[np.ndarray]:
        return (np.asarray(frame) for frame in iter_frames(args.input, args.every, args.max_frames, args.size))

    n_frames, size = 0, (0, 0)
    for frame in iter_frames(args.input, args.every, args.max_frames, args.size):
        n_frames, size = n_frames + 1, frame.size
    if n_frames == 0:
        raise VideoDatasetError(f"no frames could be read from {args.input}")
    key = {"input": str(Path(args.input).resolve()), "every": args.every, "max_frames": args.max_frames,
           "size": args.size, "max_people": args.max_people}
    extraction = extract(frames, root / POSE_CACHE / prefix, key, settings, pose_stage(n_frames))
    found = extraction.found
    if not found:
        raise VideoDatasetError(f"no person found in any of the {n_frames} frames of {args.input}; the estimator "
                                "needs a person whose body is mostly in view (see docs/POSE.md, recording)")
    sequences, dropped = pose_sequences(found, args.seq_length)
    if not sequences:
        raise VideoDatasetError(f"the person is found in {len(found)} of {n_frames} frames of {args.input}, never "
                                "in 4 consecutive ones: too few for a sequence; check the video (docs/POSE.md)")
    check_enough_sequences(args, len(found), sequences, "frames with the person")
    place = {index: (k, t) for k, indices in enumerate(sequences) for t, index in enumerate(indices)}
    centre = person_centre_x([extraction.people[i] for i in found])
    shift = round(size[0] / 2 - centre) if args.recenter and np.isfinite(centre) else 0
    written, summary = 0, {}
    with tqdm(total=len(place), unit="frame", desc="writing", dynamic_ncols=True) as progress:
        for index, frame in enumerate(iter_frames(args.input, args.every, args.max_frames, args.size)):
            if index not in place:
                continue
            k, t = place[index]
            split = split_point(args, sequences, k)
            phase = "test" if t >= split else "train"
            if t in (0, split):
                summary[phase] = summary.get(phase, 0) + 1
            seq = f"{prefix}_{k:03d}"
            frame, person, mask = recentred(frame, extraction.people[index], extraction.mask(index), shift)
            written += write_pose_frame(root, phase, seq, f"{seq}_{t:05d}", frame, person, mask)
            progress.update(1)
    bodies = np.stack([extraction.people[i].body for i in found])
    bodies[..., 0] += np.where(bodies[..., 2] > 0, shift, 0)
    try:
        compute_stats(bodies, size).save(root / STATS_FILE)
    except ValueError as error:
        print(f"notice: no {STATS_FILE} ({error}); scripts/pose/transfer.py will need --target_stats")
    built = Built(n_frames, sequences)
    built.written, built.kept = written, len(place) - written
    built.report = lambda: report_pose(args, extraction, n_frames, found, dropped, summary, written, size)
    if shift:
        print(f"recentred: the video moved {shift:+d} pixels sideways (--recenter)")
    elif np.isfinite(centre) and not in_central_half(centre, size[0]):
        print(f"warning: the person is mostly at x = {centre:.0f} of {size[0]} pixels, outside the central half "
              "that the pose mode trains on; make the dataset again with --recenter --overwrite, or film with the "
              "person in the middle")
    return built


def report_pose(args: argparse.Namespace, extraction, n_frames: int, found: list[int], dropped: list[int],  # noqa: ANN001
                summary: dict[str, int], written: int, size: tuple[int, int]) -> None:
    """What --kind pose did: frames, the person found, speed, jitter, frames left out, the next commands."""
    print(f"of the {n_frames} frames, the person in {len(found)} ({100 * len(found) / n_frames:.0f} %; "
          f"{extraction.detected} detected, {extraction.filled} interpolated); {written} files written")
    if extraction.estimated:
        print(f"estimation: {extraction.estimated} frames in {extraction.seconds:.1f} s "
              f"({extraction.estimated / max(extraction.seconds, 1e-9):.2f} frames/s)")
    raw, smooth = extraction.jitter.get("raw", float("nan")), extraction.jitter.get("smoothed", float("nan"))
    print(f"keypoint jitter of still joints: {raw:.2f} px raw, {smooth:.2f} px "
          f"{'after smoothing' if not args.no_smooth else '(not smoothed: --no_smooth)'}")
    missing = sorted(set(range(n_frames)) - set(found))
    if missing:
        print(f"left out, nobody found: {len(missing)} frames ({ranges_text(missing)})")
    if dropped:
        print(f"left out, fewer than 4 frames in a row with the person: {len(dropped)} frames "
              f"({ranges_text(dropped)})")
    print("next:")
    for command in next_commands(args, None, size):
        if " test.py " in command and "test" not in summary:
            command = f"{command} --phase train   # no test split (--n_test 0): the training frames"
        print(f"  {command}")


def frame_settings(args: argparse.Namespace, predictor: str | None) -> dict[str, object]:
    """The settings that decide which file holds which frame: a rerun with others is refused
    (data/dataset_record.py). --fill_missing is left out: a rerun with it only adds the missing landmarks."""
    identity = input_identity(args.input)
    settings = {"input": identity["path"], "input size": identity["bytes"], "--kind": args.kind,
                "--name": prefix_of(args), "--every": args.every, "--max_frames": args.max_frames,
                "--size": args.size, "--split": args.split, "--n_test": args.n_test, "--test_tail": args.test_tail}
    if "files" in identity:
        settings["input files"] = identity["files"]
    if args.split == "length" or args.kind == "pose":
        settings["--seq_length"] = args.seq_length
    if args.kind == "edges":
        settings["--canny"] = list(args.canny)
    elif args.kind == "labels":
        segmenter = Path(args.segmenter)
        settings["--segmenter"] = str(segmenter.resolve()) if segmenter.is_file() else args.segmenter
    elif args.kind == "face":
        settings["--predictor"] = str(Path(predictor).resolve())
    else:
        settings.update({"--max_people": args.max_people, "--max_gap": args.max_gap, "--no_smooth": args.no_smooth,
                         "--min_cutoff": args.min_cutoff, "--beta": args.beta, "--recenter": args.recenter,
                         "--fps": args.fps})
    return settings


def prefix_of(args: argparse.Namespace) -> str:
    return args.name or Path(args.input.rstrip("/")).stem


def make_frames_dataset(args: argparse.Namespace, segmenter: Segmenter | None, landmarks: tuple | None) -> Built:
    """--kind edges / labels / face: every frame written, with its edge map, label map or landmarks."""
    # pass 1 counts the frames (and their histograms for shot cuts); pass 2 writes them, one in memory at a time
    n_frames, histograms = 0, [] if args.split == "shots" else None
    for frame in iter_frames(args.input, args.every, args.max_frames, args.size):
        n_frames += 1
        if histograms is not None:
            histograms.append(histogram(frame))
    if n_frames == 0:
        raise VideoDatasetError(f"no frames could be read from {args.input}")
    sequences = sequence_indices(n_frames, histograms, args.seq_length)
    check_enough_sequences(args, n_frames, sequences, "frames")
    prefix, root = prefix_of(args), Path(args.dataroot)
    place = {index: (k, t) for k, indices in enumerate(sequences) for t, index in enumerate(indices)}
    built = Built(n_frames, sequences)
    faces = 0
    first_size: tuple[int, int] | None = None
    with tqdm(total=n_frames, unit="frame", dynamic_ncols=True) as progress:
        for index, frame in enumerate(iter_frames(args.input, args.every, args.max_frames, args.size)):
            check_frame_size(args, index, frame.size, first_size := first_size or frame.size)
            k, t = place[index]
            split = split_point(args, sequences, k)
            phase = "test" if t >= split else "train"
            seq = f"{prefix}_{k:03d}"
            img_dir = root / (f"{phase}_img" if args.kind == "face" else f"{phase}_B") / seq
            stem = f"{seq}_{t:05d}"
            done = False
            if args.kind == "edges":
                done = save_once(root / f"{phase}_A" / seq / f"{stem}.png", canny_edges(frame, *args.canny))
            elif args.kind == "labels":
                target = root / f"{phase}_A" / seq / f"{stem}.png"
                if not target.exists():  # (the label map first: a failing segmenter leaves no frame without one)
                    label = segmenter(frame)
                    built.label_ids.update(np.unique(np.asarray(label)).tolist())
                    done = save_once(target, label)
            done = save_once(img_dir / f"{stem}.jpg", frame) or done
            built.written, built.kept = built.written + done, built.kept + (not done)
            if args.kind != "face":
                progress.update(1)
            elif t in (len(sequences[k]) - 1, split - 1):  # this part's frames are on disk: its landmarks
                part = sorted(img_dir.glob("*.jpg"))
                missing = process_sequence(part, root / f"{phase}_keypoints" / seq, *landmarks, 1,
                                           args.fill_missing, progress)[2]
                faces += len(part) - missing
    if args.kind == "face":
        check_faces(args, n_frames, faces)
    return built


def check_frame_size(args: argparse.Namespace, index: int, size: tuple[int, int], first: tuple[int, int]) -> None:
    """Frames of one video have one size (a folder may hold a stray one): name it, before it is written."""
    if size == first:
        return
    source = Path(args.input)
    name = (str(sorted(p for p in source.iterdir() if p.is_file() and is_image_file(p.name))[::args.every][index])
            if source.is_dir() else f"frame {index * args.every} of {args.input}")
    scaled = f" at --size {args.size}" if args.size else ""
    raise VideoDatasetError(f"{name} is {size[0]}x{size[1]}{scaled}, the frames before it {first[0]}x{first[1]}: "
                            "the frames of one video must have one size; resize or remove it and rerun")


def check_faces(args: argparse.Namespace, n_frames: int, faces: int) -> None:
    """No face anywhere is an error; some frames without one are reported with the share, and without
    --fill_missing (those frames would have no landmark file, which the face mode refuses) are an error too."""
    if faces == 0:
        raise LandmarkError(f"no face found in any of the {n_frames} frames of {args.input}; --kind face needs a "
                            "video of one face seen from the front (docs/DATA.md), or use --kind edges")
    share = f"a face in {faces} of {n_frames} frames ({100 * faces / n_frames:.0f} %) of {args.input}"
    if faces < MIN_FACE_SHARE * n_frames:  # (a street video: a few false detections, nothing to interpolate from)
        raise LandmarkError(f"only {share}; --kind face needs a video of one face seen from the front "
                            "(docs/DATA.md), or use --kind edges")
    if faces < n_frames:
        if not args.fill_missing:
            raise PartlyFound(f"{share}: the {n_frames - faces} others have no landmarks, which the face mode "
                              "needs; rerun the same command with --fill_missing to interpolate them (what was "
                              "written is kept for that rerun)")
        print(f"{share}; the landmarks of the {n_frames - faces} others are interpolated (--fill_missing)")


MIN_FACE_SHARE = 0.5  # --kind face: below this share of frames with a face the video is not a face video


class PartlyFound(LandmarkError):
    """Some frames lack what --kind extracts: the files written stay for a rerun that fills them in."""


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    root = Path(args.dataroot)
    before = set(root.rglob("*")) if root.is_dir() else None
    try:
        check_args(args)
        if root.exists() and not root.is_dir():
            raise VideoDatasetError(f"--dataroot {root} is a file, not a folder; choose a folder to write the "
                                    "dataset in")
        if not Path(args.input).exists():
            raise VideoInputError(f"{args.input} is neither a video file nor a folder of frames; check the path")
        segmenter = load_segmenter(args.segmenter) if args.kind == "labels" else None
        predictor = find_predictor(args.predictor, args.dataroot) if args.kind == "face" else None
        landmarks = load_dlib(predictor) if predictor else None
        settings = frame_settings(args, predictor)
        resumed = claim(root, settings, args.overwrite)
        built = make_pose_dataset(args) if args.kind == "pose" else make_frames_dataset(args, segmenter, landmarks)
        disk = on_disk(root, "img" if args.kind in ("face", "pose") else "B")
        sequences = sequence_record(args, built.sequences, prefix_of(args))
        write_record(root, settings, complete=True, result={**disk, "frames read": built.n_frames,
                                                            "sequences": sequences})
    except KeyboardInterrupt:
        print(interrupted_line(PROG, "every file written is complete; rerun the same command to resume"),
              file=sys.stderr)
        return INTERRUPTED
    except PartlyFound as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except (VideoDatasetError, DataError, SegmenterError, LandmarkError, RecordError, OSError, ValueError) as error:
        remove_new(root, before, keep=(POSE_CACHE,))
        print(f"{PROG}: error: {one_line(error)}", file=sys.stderr)
        return 1
    report(args, built, disk, resumed, segmenter)
    return 0


def report(args: argparse.Namespace, built: Built, disk: dict, resumed: bool, segmenter: Segmenter | None) -> None:
    """What is on disk now (counted from the files, not from this run's plan) and the commands to run next."""
    size = tuple(disk["size"])
    splits = disk["splits"]
    parts = ", ".join(f"{n['sequences']} {phase}" for phase, n in splits.items())
    on_disk_frames = sum(n["frames"] for n in splits.values())
    n_sequences = sum(n["sequences"] for n in splits.values())
    print(f"{built.n_frames} frames of {args.input} -> {args.dataroot} ({args.kind}): on disk {n_sequences} "
          f"sequences ({parts}), {on_disk_frames} frames of {size[0]}x{size[1]}; {built.written} frames written now"
          + (f", {built.kept} kept from the earlier run" if resumed else ""))
    planned = sum(len(s) for s in built.sequences)
    if on_disk_frames != planned:
        print(f"warning: {on_disk_frames} frames on disk, {planned} made from the input: files were added or "
              f"removed by hand in {args.dataroot}; add --overwrite to make it again")
    if built.label_ids:
        print(f"label ids present: {sorted(built.label_ids)}")
    if args.kind == "pose":
        built.report()
        return
    label_nc = segmenter.label_nc if segmenter is not None else None
    print("next:")
    for command in next_commands(args, label_nc, size):
        if " test.py " in command and "test" not in splits:
            command = f"{command} --phase train   # no test split (--n_test 0): the training frames"
        print(f"  {command}")


if __name__ == "__main__":
    sys.exit(main())  # (Ctrl-C is handled in main: it knows what was written)
