"""H.264 mp4 writing with imageio-ffmpeg's bundled ffmpeg (libx264, yuv420p, even frame sizes), which every
browser plays, including Chromium."""
from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np


def even_size(image: np.ndarray) -> np.ndarray:
    """Pad an (H, W, 3) frame by repeating its last row/column so H and W are even (yuv420p needs it)."""
    h, w = image.shape[:2]
    pad_h, pad_w = h % 2, w % 2
    if pad_h or pad_w:
        image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return image


def as_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 1) grey -> (H, W, 3); (H, W, 3) unchanged. uint8 only."""
    if image.dtype != np.uint8:
        raise ValueError(f"video frames must be uint8, got {image.dtype}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ValueError(f"video frames must be (H, W, 3) or (H, W), got {image.shape}")
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return image


def side_by_side(*images: np.ndarray) -> np.ndarray:
    """Concatenate frames of the same height horizontally (input | output)."""
    frames = [as_rgb(image) for image in images]
    heights = {f.shape[0] for f in frames}
    if len(heights) != 1:
        raise ValueError(f"side-by-side frames need the same height, got {sorted(heights)}")
    return np.concatenate(frames, axis=1)


class Mp4Writer:
    """Streams uint8 RGB frames into an H.264 mp4; the file appears at ``path`` only after ``close()``
    (it is written under a temporary name and renamed), so an aborted run leaves no broken video.

    ``quality`` is imageio-ffmpeg's 0..10 scale (10 = best). The size is fixed by the first frame.
    """

    def __init__(self, path: str, fps: float = 15.0, quality: float = 8.0) -> None:
        self.path = path
        self.fps = fps
        self.quality = quality
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        self.tmp_path = os.path.join(folder, f".tmp_{os.path.basename(path)}")
        self.size: tuple[int, int] | None = None  # (W, H)
        self.count = 0
        self._writer = None

    def append(self, frame: np.ndarray) -> None:
        frame = np.ascontiguousarray(even_size(as_rgb(frame)))
        h, w = frame.shape[:2]
        if self._writer is None:
            import imageio_ffmpeg  # only video writing needs it

            self.size = (w, h)
            self._writer = imageio_ffmpeg.write_frames(
                self.tmp_path,
                self.size,
                fps=self.fps,
                codec="libx264",
                pix_fmt_in="rgb24",
                pix_fmt_out="yuv420p",
                quality=self.quality,
                macro_block_size=1,  # sizes are already even; keep imageio from resizing
                output_params=["-movflags", "+faststart", "-f", "mp4"],
                ffmpeg_log_level="error",
            )
            self._writer.send(None)  # start ffmpeg
        elif (w, h) != self.size:
            raise ValueError(f"frame {self.count} of {self.path} is {w}x{h}, expected {self.size[0]}x{self.size[1]}")
        self._writer.send(frame)
        self.count += 1

    def close(self) -> int:
        """Finish the file and move it into place; returns the number of frames."""
        if self._writer is None:
            raise ValueError(f"no frames were written to {self.path}")
        try:
            self._writer.close()
            self._writer = None
            os.replace(self.tmp_path, self.path)
        except BaseException:  # (ffmpeg failed, or ``path`` is a folder): no temporary file stays behind
            self.abort()
            raise
        return self.count

    def abort(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            finally:
                self._writer = None
        if os.path.exists(self.tmp_path):
            os.remove(self.tmp_path)

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_mp4(frames: Iterable[np.ndarray], path: str, fps: float = 15.0, quality: float = 8.0) -> int:
    """Encode uint8 RGB frames (all the same size) to an H.264 mp4 at ``path``; returns the frame count."""
    with Mp4Writer(path, fps, quality) as writer:
        for frame in frames:
            writer.append(frame)
    return writer.count


def read_mp4_info(path: str) -> dict:
    """Decode ``path`` completely: ``{'n_frames', 'size': (W, H), 'codec', 'pix_fmt', 'fps'}`` (for checks)."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(path)
    meta = next(reader)
    n_frames = sum(1 for _ in reader)
    return {"n_frames": n_frames, "size": tuple(meta["size"]), "codec": meta.get("codec", ""),
            "pix_fmt": meta.get("pix_fmt", ""), "fps": meta.get("fps")}
