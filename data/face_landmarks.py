"""68-point face landmarks with dlib (frontal face detector + shape predictor), shared by
scripts/face/detect_landmarks.py and scripts/video_to_dataset.py --kind face.

A keypoint file holds 68 lines ``x,y`` (integer pixels of the largest face found), the format the reference's
landmark script wrote and the face dataset mode reads.
"""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from util.atomic import NewFolder, write_atomically, write_text_atomically

from .dataset_record import input_identity
from .image_folder import is_image_file

PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
N_POINTS = 68
EXTRACTION_RECORD = "extraction.json"  # beside a video's extracted frames: how they were made (`extract_video`)


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


def extraction_settings(video: str, every: int, max_frames: int | None) -> dict[str, object]:
    """What `extract_video` records beside the frames: the video (resolved path and size) and the flags."""
    return {"video": input_identity(video), "every": every, "max_frames": max_frames}


def check_earlier_extraction(folder: Path, settings: dict[str, object]) -> None:
    """Frames already in ``folder`` are resumed only when made from the same video with the same settings: other
    ones would be kept and mixed with the new (a different --every or --max_frames numbers the frames alike)."""
    frames = [p for p in folder.iterdir() if p.is_file() and is_image_file(p.name)] if folder.is_dir() else []
    if not frames:
        return
    try:
        earlier = json.loads((folder / EXTRACTION_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        earlier = None
    if earlier == settings:
        return
    if isinstance(earlier, dict) and isinstance(earlier.get("video"), dict):
        how = (f"from {earlier['video'].get('path')} with --every {earlier.get('every')} --max_frames "
               f"{earlier.get('max_frames')}")
    else:
        how = "by other means (no record of how)"
    raise LandmarkError(f"{folder} already holds {len(frames)} frames extracted earlier {how}; use another "
                        "--sequence or remove that folder (rerunning the earlier command resumes it)")


def extract_video(video: str, folder: Path, every: int, max_frames: int | None) -> int:
    """Write every ``every``-th frame of ``video`` as <folder>/<index>.jpg, and the settings beside them
    (<folder>/extraction.json); frames already there are kept when they were made with the same settings, and
    refused (`LandmarkError`) otherwise."""
    import cv2

    settings = extraction_settings(video, every, max_frames)
    check_earlier_extraction(folder, settings)
    capture = cv2.VideoCapture(video)
    if not capture.isOpened():
        raise LandmarkError(f"cannot open video {video} (OpenCV reads mp4/avi/mov); check the path and codec")
    written = index = 0
    recorded = False
    try:
        with NewFolder(folder):  # (removed again when not one frame could be read)
            while max_frames is None or written < max_frames:
                ok, frame = capture.read()
                if not ok:
                    break
                if index % every == 0:
                    path = folder / f"{written:05d}.jpg"
                    if not path.exists():
                        if not recorded:  # (before the first new frame: a folder of frames always says how)
                            write_text_atomically(folder / EXTRACTION_RECORD, json.dumps(settings, indent=1) + "\n")
                            recorded = True
                        image = Image.fromarray(frame[:, :, ::-1])  # OpenCV gives BGR
                        write_atomically(path, lambda temporary, image=image: image.save(temporary, quality=95))
                    written += 1
                index += 1
            if written == 0:
                raise LandmarkError(f"no frames could be read from {video}")
    finally:
        capture.release()
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


def load_dlib(predictor_path: str):  # noqa: ANN201 - dlib's detector and predictor objects
    """dlib's frontal face detector and the 68-point predictor at ``predictor_path``."""
    import dlib

    try:
        predictor = dlib.shape_predictor(predictor_path)
    except RuntimeError as error:  # dlib's "Error deserializing object of type ..." for a damaged or wrong file
        reason = " ".join(str(error).split())[:120]
        raise LandmarkError(f"{predictor_path} is not a dlib 68-point shape predictor ({reason}); it is damaged or "
                            f"another file: replace it with {PREDICTOR_FILE} (pip install --force-reinstall "
                            "face-recognition-models ships it), or pass --predictor PATH") from None
    return dlib.get_frontal_face_detector(), predictor
