"""Frames of a video file or of a folder of images, one in memory at a time (scripts/video_to_dataset.py and
scripts/pose/transfer.py read their input through this)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from .image_folder import DataError, is_image_file

DEFAULT_FPS = 30.0  # a folder of frames has no frame rate


class VideoInputError(DataError):
    """An input video or frame folder that cannot be read; the message names it and the fix."""


def iter_frames(source: str, every: int, max_frames: int | None, width: int | None,
                keep_mode: bool = False) -> Iterator[Image.Image]:
    """RGB frames of a video file or of a folder of images (sorted by name), every ``every``-th, resized to
    ``width`` pixels wide (height keeps the aspect ratio) when given. One frame in memory at a time.
    ``keep_mode``: a folder's images keep their mode and are resized nearest-neighbour (label and instance maps)."""
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and is_image_file(p.name))
        if not files:
            raise VideoInputError(f"no images in folder {source}")

        def decoded() -> Iterator[Image.Image]:
            for file in files[::every]:
                try:
                    image = Image.open(file)
                    yield image if keep_mode else image.convert("RGB")
                except OSError as error:
                    raise VideoInputError(f"cannot read image {file}: {error}; remove or replace it") from None
    elif path.is_file():
        import cv2

        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            raise VideoInputError(f"cannot open video {source} (OpenCV reads mp4/avi/mov); check the codec")

        def decoded() -> Iterator[Image.Image]:
            index = 0
            try:
                while True:
                    ok, frame = capture.read()
                    if not ok:
                        return
                    if index % every == 0:
                        yield Image.fromarray(frame[:, :, ::-1])  # BGR -> RGB
                    index += 1
            finally:
                capture.release()
    else:
        raise VideoInputError(f"{source} is neither a video file nor a folder of frames; check the path")
    for count, frame in enumerate(decoded()):
        if max_frames is not None and count >= max_frames:
            return
        if width is not None:
            frame = frame.resize((width, max(1, round(frame.height * width / frame.width))),
                                 Image.NEAREST if keep_mode else Image.BICUBIC)
        yield frame


def video_fps(source: str) -> float:
    """Frames per second of a video file (OpenCV's reading of its header), DEFAULT_FPS for a folder of frames or a
    file that does not say."""
    path = Path(source)
    if not path.is_file():
        return DEFAULT_FPS
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        fps = capture.get(cv2.CAP_PROP_FPS) if capture.isOpened() else 0.0
    finally:
        capture.release()
    return float(fps) if fps and fps > 0 else DEFAULT_FPS


def canny_edges(frame: Image.Image, low: int, high: int) -> Image.Image:
    """The Canny edge map (0 / 255, one channel) of a frame: the input of edge runs (video_to_dataset.py --kind
    edges writes it, scripts/stream.py derives it from live frames)."""
    import cv2
    import numpy as np

    return Image.fromarray(cv2.Canny(np.asarray(frame.convert("L")), low, high))
