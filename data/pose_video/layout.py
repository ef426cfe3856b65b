"""Writing the pose mode's layout (data/modes/pose.py) from an `Extraction`: which frames form which sequence, and
the three files of a frame (``<phase>_img``, ``<phase>_openpose``, ``<phase>_densepose``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from util.atomic import write_atomically

from .densepose_standin import iuv_image
from .extract import anchor, shifted
from .keypoints import OpenPosePerson, write_keypoints
from .normalization import apply_affine

MIN_SEQUENCE = 4  # frames: n_frames_G 3 history frames + one generated frame


def runs(indices: list[int]) -> list[list[int]]:
    """Runs of consecutive numbers in the sorted ``indices``: [1, 2, 3, 7, 8] -> [[1, 2, 3], [7, 8]]."""
    result: list[list[int]] = []
    for index in indices:
        if result and index == result[-1][-1] + 1:
            result[-1].append(index)
        else:
            result.append([index])
    return result


def pose_sequences(found: list[int], seq_length: int) -> tuple[list[list[int]], list[int]]:
    """(sequences, frames dropped): the frames with a person cut where a frame without one breaks the motion, each
    run into pieces of ``seq_length`` (a shorter tail joins the last piece); runs shorter than MIN_SEQUENCE frames
    are dropped (they cannot train)."""
    sequences, dropped = [], []
    for run in runs(found):
        if len(run) < MIN_SEQUENCE:
            dropped += run
            continue
        starts = list(range(0, len(run), seq_length))
        if len(starts) > 1 and len(run) - starts[-1] < seq_length:
            starts.pop()
        ends = starts[1:] + [len(run)]
        sequences += [run[s:e] for s, e in zip(starts, ends, strict=True)]
    return sequences, dropped


def ranges_text(indices: list[int], limit: int = 8) -> str:
    """'3-5, 9, 12-20' for [3, 4, 5, 9, 12, ..., 20], at most ``limit`` ranges then '...'."""
    parts = [f"{r[0]}-{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs(sorted(indices))]
    return ", ".join(parts[:limit]) + (", ..." if len(parts) > limit else "")


def person_centre_x(people: list[OpenPosePerson]) -> float:
    """Median x of the people's mid hips (else necks, else their points' mean): where the person mostly is."""
    xs = [anchor(p.body)[0] for p in people if (p.body[:, 2] > 0).any()]
    return float(np.median(xs)) if xs else float("nan")


def in_central_half(x: float, width: int) -> bool:
    """Whether ``x`` lies in the columns the pose mode keeps (the central half of the width)."""
    return width / 4 <= x <= 3 * width / 4


def recentred(frame: Image.Image, person: OpenPosePerson, mask: np.ndarray,
              dx: int) -> tuple[Image.Image, OpenPosePerson, np.ndarray]:
    """Frame, keypoints and mask moved ``dx`` pixels to the right (the frame's edge columns repeated into the
    gap, the mask's filled with 0): one fixed shift for a whole video keeps a static camera static."""
    import cv2

    if dx == 0:
        return frame, person, mask
    matrix = np.array([[1, 0, dx], [0, 1, 0]], dtype=np.float64)
    image = cv2.warpAffine(np.asarray(frame), matrix, frame.size, flags=cv2.INTER_NEAREST,
                           borderMode=cv2.BORDER_REPLICATE)
    moved = OpenPosePerson(*(apply_affine(points, (1.0, dx, 0.0)) for points in person))
    return Image.fromarray(image), moved, shifted(mask, dx, 0)


def write_pose_frame(root: Path, phase: str, sequence: str, stem: str, frame: Image.Image,
                     person: OpenPosePerson, mask: np.ndarray) -> int:
    """Write the frame (jpg), its keypoints and its IUV stand-in unless they exist (resume); returns how many of
    the three files were written."""
    files = {root / f"{phase}_img" / sequence / f"{stem}.jpg": lambda tmp: frame.save(tmp, quality=95),
             root / f"{phase}_densepose" / sequence / f"{stem}_IUV.png":
                 lambda tmp: Image.fromarray(iuv_image(mask, person.body)).save(tmp)}
    written = 0
    for path, writer in files.items():
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, writer)
            written += 1
    keypoints = root / f"{phase}_openpose" / sequence / f"{stem}_keypoints.json"
    if not keypoints.exists():
        write_keypoints(keypoints, [person])
        written += 1
    return written
