"""68-point face landmarks for the face dataset mode, with dlib's frontal face detector and shape predictor.

    python scripts/face/detect_landmarks.py --dataroot datasets/face --phase train
        every sequence folder <dataroot>/<phase>_img/<seq>/ -> <dataroot>/<phase>_keypoints/<seq>/<frame>.txt
    python scripts/face/detect_landmarks.py --dataroot datasets/face --phase train --video talk.mp4 [--sequence talk]
        the video's frames go to <phase>_img/<sequence>/ first (JPEG), then their landmarks as above

A keypoint file holds 68 lines ``x,y`` (integer pixels, the largest face found), the format the reference's
landmark script wrote and the face mode reads. Frames where no face is found get no file and are counted;
``--fill_missing`` writes them interpolated from the nearest frames with a face instead. Finished files are
kept, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from data.image_folder import is_image_file  # noqa: E402
from util.atomic import write_atomically, write_text_atomically  # noqa: E402

PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
N_POINTS = 68


class LandmarkError(RuntimeError):
    """A missing input, predictor or unreadable file; the message names it and the fix."""


def find_predictor(explicit: str | None, dataroot: str) -> str:
    """--predictor, else <dataroot>/shape_predictor_68_face_landmarks.dat (where the reference kept it), else the
    copy shipped in the PyPI package face-recognition-models (located without importing it: its import needs
    pkg_resources, which torch's setuptools lacks)."""
    if explicit:
        if not os.path.isfile(explicit):
            raise LandmarkError(f"--predictor {explicit} not found")
        return explicit
    candidates = [os.path.join(dataroot, PREDICTOR_FILE)]
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is not None and spec.submodule_search_locations:
        candidates += [os.path.join(p, "models", PREDICTOR_FILE) for p in spec.submodule_search_locations]
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise LandmarkError(f"no dlib 68-point predictor found (looked for {', '.join(candidates)}): "
                        "pip install face-recognition-models, or pass --predictor PATH to "
                        f"{PREDICTOR_FILE}")


def extract_video(video: str, folder: Path, every: int, max_frames: int | None) -> int:
    """Write every ``every``-th frame of ``video`` as <folder>/<index>.jpg (kept if already there)."""
    import cv2

    capture = cv2.VideoCapture(video)
    if not capture.isOpened():
        raise LandmarkError(f"cannot open video {video} (OpenCV reads mp4/avi/mov); check the path and codec")
    folder.mkdir(parents=True, exist_ok=True)
    written = index = 0
    while max_frames is None or written < max_frames:
        ok, frame = capture.read()
        if not ok:
            break
        if index % every == 0:
            path = folder / f"{written:05d}.jpg"
            if not path.exists():
                image = Image.fromarray(frame[:, :, ::-1])  # OpenCV gives BGR
                write_atomically(path, lambda temporary, image=image: image.save(temporary, quality=95))
            written += 1
        index += 1
    capture.release()
    if written == 0:
        raise LandmarkError(f"no frames could be read from {video}")
    return written


def detect(detector, predictor, image: np.ndarray, upsample: int) -> np.ndarray | None:  # noqa: ANN001
    """(68, 2) integer landmarks of the largest face, or None."""
    faces = detector(image, upsample)
    if len(faces) == 0:
        return None
    face = max(faces, key=lambda r: r.width() * r.height())
    shape = predictor(image, face)
    return np.array([[shape.part(i).x, shape.part(i).y] for i in range(N_POINTS)], dtype=np.int64)


def fill_gaps(points: list[np.ndarray | None]) -> list[np.ndarray | None]:
    """Missing frames linearly interpolated between the nearest frames with a face (copied at the ends)."""
    known = [i for i, p in enumerate(points) if p is not None]
    if not known:
        return points
    filled = list(points)
    for i, p in enumerate(points):
        if p is not None:
            continue
        before = max((k for k in known if k < i), default=None)
        after = min((k for k in known if k > i), default=None)
        if before is None or after is None:
            filled[i] = points[after if before is None else before].copy()
        else:
            w = (i - before) / (after - before)
            filled[i] = np.rint((1 - w) * points[before] + w * points[after]).astype(np.int64)
    return filled


def write_points(path: Path, points: np.ndarray) -> None:
    write_text_atomically(path, "".join(f"{x},{y}\n" for x, y in points))


def process_sequence(frames: list[Path], out_dir: Path, detector, predictor, upsample: int,  # noqa: ANN001
                     fill_missing: bool, progress: tqdm) -> tuple[int, int, int]:
    """Landmarks of one sequence's frames; returns (written, kept from an earlier run, without a face)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    points: list[np.ndarray | None] = []
    kept = 0
    for frame in frames:
        target = out_dir / f"{frame.stem}.txt"
        if target.exists():
            points.append(np.loadtxt(target, delimiter=",", dtype=np.int64).reshape(N_POINTS, 2))
            kept += 1
        else:
            try:
                image = np.asarray(Image.open(frame).convert("RGB"))
            except OSError as error:
                raise LandmarkError(f"cannot read image {frame}: {error}; replace or remove it") from None
            points.append(detect(detector, predictor, image, upsample))
        progress.update(1)
    missing = sum(p is None for p in points)
    if fill_missing:
        points = fill_gaps(points)
    written = 0
    for frame, p in zip(frames, points, strict=True):
        target = out_dir / f"{frame.stem}.txt"
        if p is not None and not target.exists():
            write_points(target, p)
            written += 1
    return written, kept, missing


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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.every < 1 or args.upsample < 0:
        print("detect_landmarks: error: --every must be >= 1 and --upsample >= 0", file=sys.stderr)
        return 2
    root = Path(args.dataroot)
    img_root, key_root = root / f"{args.phase}_img", root / f"{args.phase}_keypoints"
    try:
        predictor_path = find_predictor(args.predictor, str(root))
        if args.video is not None:
            name = args.sequence or Path(args.video).stem
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
        import dlib

        detector, predictor = dlib.get_frontal_face_detector(), dlib.shape_predictor(predictor_path)
        totals = np.zeros(3, dtype=np.int64)
        with tqdm(total=sum(len(f) for f in sequences.values()), unit="frame", dynamic_ncols=True) as progress:
            for folder, frames in sequences.items():
                out_dir = key_root / folder.relative_to(img_root)
                totals += process_sequence(frames, out_dir, detector, predictor, args.upsample,
                                           args.fill_missing, progress)
    except LandmarkError as error:
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
    sys.exit(main())
