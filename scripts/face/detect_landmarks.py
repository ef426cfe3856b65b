"""68-point face landmarks for the face dataset mode, with dlib's frontal face detector and shape predictor.

    python scripts/face/detect_landmarks.py --dataroot datasets/face --phase train
        every sequence folder <dataroot>/<phase>_img/<seq>/ -> <dataroot>/<phase>_keypoints/<seq>/<frame>.txt
    python scripts/face/detect_landmarks.py --dataroot datasets/face --phase train --video talk.mp4 [--sequence talk]
        the video's frames go to <phase>_img/<sequence>/ first (JPEG), then their landmarks as above

A keypoint file holds 68 lines ``x,y`` (integer pixels, the largest face found), the format the reference's
landmark script wrote and the face mode reads. Frames where no face is found get no file and are counted;
``--fill_missing`` writes them interpolated from the nearest frames with a face instead. Finished files are
kept, so an interrupted run resumes where it stopped; a --video's frames only when the same video and --every /
--max_frames made them (recorded in <sequence>/extraction.json), other frames in the folder are refused. Frames
without one face anywhere, or any other error, leave --dataroot as it was.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from data.dataset_record import remove_new  # noqa: E402
from data.face_landmarks import (  # noqa: E402
    PREDICTOR_FILE,
    LandmarkError,
    extract_video,
    find_predictor,
    load_dlib,
    process_sequence,
)
from data.image_folder import is_image_file  # noqa: E402
from options.run_folder import name_problem  # noqa: E402
from util.cli import exit_on_interrupt  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataroot", default="datasets/face/", help="face dataset folder (face mode layout)")
    parser.add_argument("--phase", default="train", help="split: reads <phase>_img, writes <phase>_keypoints")
    parser.add_argument("--video", default=None, help="a video file whose frames become one sequence first")
    parser.add_argument("--sequence", default=None, help="sequence folder name for --video (default: its stem)")
    parser.add_argument("--every", type=int, default=1, help="with --video: keep every N-th frame")
    parser.add_argument("--max_frames", type=int, default=None, help="with --video: at most this many frames")
    parser.add_argument("--predictor", default=None, help=f"path to dlib's {PREDICTOR_FILE}")
    parser.add_argument("--upsample", type=int, default=1,
                        help="times the detector upsamples each frame (finds smaller faces, slower)")
    parser.add_argument("--fill_missing", action="store_true",
                        help="write frames without a detected face, interpolated from their neighbours")
    return parser


def check_names(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """--phase (one folder name) and the sequence of --video (nested allowed) stay inside --dataroot; returns
    the sequence name."""
    problem = name_problem(args.phase, nested=False)
    if problem:
        parser.error(f"--phase {args.phase!r} {problem}; give a split name such as 'train' or 'test'")
    if args.video is None:
        if args.sequence is not None:
            parser.error("--sequence names the folder of --video's frames: give --video too")
        return None
    name = args.sequence if args.sequence is not None else Path(args.video).stem
    problem = name_problem(name, nested=True)
    if problem:
        parser.error(f"--sequence {name!r} {problem}; give a folder name inside <dataroot>/{args.phase}_img, "
                     "e.g. --sequence talk")
    return name


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.every < 1 or args.upsample < 0:
        print("detect_landmarks: error: --every must be >= 1 and --upsample >= 0", file=sys.stderr)
        return 2
    name = check_names(parser, args)
    root = Path(args.dataroot)
    img_root, key_root = root / f"{args.phase}_img", root / f"{args.phase}_keypoints"
    before = set(root.rglob("*")) if root.is_dir() else None  # what a failed run leaves as it was
    try:
        detector, predictor = load_dlib(find_predictor(args.predictor, str(root)))  # (before any frame is written)
        if args.video is not None:
            n = extract_video(args.video, img_root / name, args.every, args.max_frames)
            print(f"{n} frames of {args.video} in {img_root / name}")
        if not img_root.is_dir():
            raise LandmarkError(f"folder {img_root} not found: put one sub-folder of frames per sequence there, "
                                "or pass --video")
        sequences = {}
        for folder in sorted(p for p in img_root.rglob("*") if p.is_dir()) + [img_root]:
            frames = sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p.name))
            if frames:
                sequences[folder] = frames
        if not sequences:
            raise LandmarkError(f"no frames found under {img_root}")
        totals = np.zeros(3, dtype=np.int64)
        with tqdm(total=sum(len(f) for f in sequences.values()), unit="frame", dynamic_ncols=True) as progress:
            for folder, frames in sequences.items():
                out_dir = key_root / folder.relative_to(img_root)
                totals += process_sequence(frames, out_dir, detector, predictor, args.upsample,
                                           args.fill_missing, progress)
        if totals[0] + totals[1] == 0:  # not one face
            raise LandmarkError(f"no face found in any of the {int(totals[2])} frames under {img_root}; the face "
                                "mode needs frames of one face seen from the front (docs/DATA.md)")
    except LandmarkError as error:  # what this run added (frames of --video, keypoint folders) goes again
        remove_new(root, before)
        print(f"detect_landmarks: error: {error}", file=sys.stderr)
        return 1
    written, kept, missing = (int(v) for v in totals)
    summary = f"{written} keypoint files written, {kept} kept from an earlier run, into {key_root}"
    if missing:
        summary += (f"; {missing} frames without a face were " + ("interpolated" if args.fill_missing else
                    "skipped (no file: remove those frames from the dataset or rerun with --fill_missing)"))
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_interrupt(main, "detect_landmarks", "every frame and keypoint file written is complete; rerun "
                               "the same command to resume"))
