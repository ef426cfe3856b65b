"""MediaPipe landmarks -> OpenPose keypoints (BODY_25, 2 x 21 hand points, 70 face points) and OpenPose's JSON.

The pose mode (data/modes/pose.py, data/pose_drawing.py) reads OpenPose's ``*_keypoints.json``: per person
``pose_keypoints_2d`` (25 x (x, y, confidence)), ``face_keypoints_2d`` (70), ``hand_left_keypoints_2d`` and
``hand_right_keypoints_2d`` (21 each), pixels of the frame, a missing point written (0, 0, 0). The tables below say
which MediaPipe landmark(s) give each OpenPose point; docs/POSE.md prints them. "Left" and "right" are the person's
own sides in both formats.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from util.atomic import write_text_atomically

# BODY_25 point -> MediaPipe Pose landmark(s) (a pair: their mean); None: no counterpart, written as missing
BODY_25_FROM_POSE: tuple[tuple[int, ...] | None, ...] = (
    (0,),                       # 0 nose
    (11, 12),                   # 1 neck: between the shoulders
    (12,), (14,), (16,),        # 2-4 right shoulder, elbow, wrist
    (11,), (13,), (15,),        # 5-7 left shoulder, elbow, wrist
    (23, 24),                   # 8 mid hip
    (24,), (26,), (28,),        # 9-11 right hip, knee, ankle
    (23,), (25,), (27,),        # 12-14 left hip, knee, ankle
    (5,), (2,),                 # 15, 16 right eye, left eye
    (8,), (7,),                 # 17, 18 right ear, left ear
    (31,), None, (29,),         # 19-21 left big toe (foot index), left small toe, left heel
    (32,), None, (30,),         # 22-24 right big toe, right small toe, right heel
)
BODY_NAMES = ("nose", "neck", "right shoulder", "right elbow", "right wrist", "left shoulder", "left elbow",
              "left wrist", "mid hip", "right hip", "right knee", "right ankle", "left hip", "left knee",
              "left ankle", "right eye", "left eye", "right ear", "left ear", "left big toe", "left small toe",
              "left heel", "right big toe", "right small toe", "right heel")
RIGHT_WRIST, LEFT_WRIST = 4, 7

# OpenPose's 70 face points (68 in dlib's order + 2 pupils) -> face mesh landmark(s) (a pair: their mean)
FACE_70_FROM_MESH: tuple[tuple[int, ...], ...] = (
    # jaw 0-16, from the person's right ear round the chin to the left
    (127,), (234,), (93,), (132, 58), (58, 172), (136,), (150,), (176,), (152,), (400,), (379,), (365,),
    (397, 288), (361,), (323,), (454,), (356,),
    (70,), (63,), (105,), (66,), (107,),                 # 17-21 right brow
    (336,), (296,), (334,), (293,), (300,),              # 22-26 left brow
    (168, 6), (197, 195), (5,), (4,),                    # 27-30 nose bridge
    (75,), (97,), (2,), (326,), (305,),                  # 31-35 nose base
    (33,), (160,), (158,), (133,), (153,), (144,),       # 36-41 right eye
    (362,), (385,), (387,), (263,), (373,), (380,),      # 42-47 left eye
    (61,), (39,), (37,), (0,), (267,), (269,), (291,), (321,), (314,), (17,), (84,), (91,),  # 48-59 outer lips
    (78,), (82,), (13,), (312,), (308,), (317,), (14,), (87,),  # 60-67 inner lips
    (468,), (473,),                                      # 68, 69 pupils (the refined mesh's iris centres)
)
N_BODY, N_FACE, N_HAND = 25, 70, 21


class OpenPosePerson(NamedTuple):
    """One person in OpenPose's layout: (N, 3) float arrays of x, y (pixels), confidence; (0, 0, 0) = missing."""

    body: np.ndarray        # (25, 3)
    face: np.ndarray        # (70, 3)
    left_hand: np.ndarray   # (21, 3)
    right_hand: np.ndarray  # (21, 3)

    @staticmethod
    def empty() -> OpenPosePerson:
        return OpenPosePerson(np.zeros((N_BODY, 3)), np.zeros((N_FACE, 3)), np.zeros((N_HAND, 3)),
                              np.zeros((N_HAND, 3)))


def gather(points: np.ndarray, table: tuple[tuple[int, ...] | None, ...]) -> np.ndarray:
    """(len(table), 3) points from ``points`` (M, 3) = x, y, confidence: the mean position of each entry's
    landmarks with the smallest of their confidences; (0, 0, 0) for None or an entry past the landmarks given."""
    out = np.zeros((len(table), 3))
    for k, sources in enumerate(table):
        if sources is None or max(sources) >= len(points):
            continue
        chosen = points[list(sources)]
        out[k, :2] = chosen[:, :2].mean(axis=0)
        out[k, 2] = chosen[:, 2].min()
    return out


def body_25(pose_landmarks: np.ndarray) -> np.ndarray:
    """(25, 3) BODY_25 from MediaPipe Pose's (33, 3) landmarks (pixels, visibility as confidence)."""
    return gather(pose_landmarks, BODY_25_FROM_POSE)


def face_70(mesh: np.ndarray, confidence: float) -> np.ndarray:
    """(70, 3) OpenPose face points from the face mesh's (468 or 478, 2+) landmarks in pixels; every point gets
    ``confidence`` (the mesh has no per-point score). Without the refined iris points the pupils are missing."""
    points = np.concatenate([mesh[:, :2], np.full((len(mesh), 1), confidence)], axis=1)
    return gather(points, FACE_70_FROM_MESH)


def assign_hands(body: np.ndarray, hands: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) hands, each (21, 3), from detected hands (each (21, 3), point 0 the wrist) by distance to the
    body's wrists rather than by a handedness label (MediaPipe's assumes a mirrored image). A hand goes to the
    nearer present wrist; when both want one wrist the nearer hand keeps it. Missing: zeros."""
    result = {LEFT_WRIST: np.zeros((N_HAND, 3)), RIGHT_WRIST: np.zeros((N_HAND, 3))}
    wrists = [w for w in (LEFT_WRIST, RIGHT_WRIST) if body[w, 2] > 0]
    claims = []
    for hand in hands:
        if not wrists:
            break
        distances = {w: float(np.hypot(*(hand[0, :2] - body[w, :2]))) for w in wrists}
        wrist = min(distances, key=distances.get)
        claims.append((distances[wrist], wrist, hand))
    taken = set()
    for _, wrist, hand in sorted(claims, key=lambda claim: claim[0]):
        if wrist not in taken:
            result[wrist], _ = hand, taken.add(wrist)
    return result[LEFT_WRIST], result[RIGHT_WRIST]


def _flat(points: np.ndarray) -> list[float]:
    """OpenPose's flat [x0, y0, c0, x1, ...] with missing points as exact zeros."""
    points = np.where((points[:, 2] > 0)[:, None], points, 0.0)
    return [round(float(v), 3) for v in points.reshape(-1)]


def openpose_json(people: list[OpenPosePerson]) -> dict:
    """The content of one OpenPose ``*_keypoints.json`` (version 1.3 layout, 2-D points only)."""
    return {"version": 1.3, "people": [
        {"person_id": [-1], "pose_keypoints_2d": _flat(p.body), "face_keypoints_2d": _flat(p.face),
         "hand_left_keypoints_2d": _flat(p.left_hand), "hand_right_keypoints_2d": _flat(p.right_hand),
         "pose_keypoints_3d": [], "face_keypoints_3d": [], "hand_left_keypoints_3d": [],
         "hand_right_keypoints_3d": []} for p in people]}


def write_keypoints(path: Path, people: list[OpenPosePerson]) -> None:
    """Write ``path`` (``<frame>_keypoints.json``) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, json.dumps(openpose_json(people)))


def read_person(path: Path) -> OpenPosePerson:
    """The first person of an OpenPose JSON file as arrays (all missing when it lists nobody)."""
    people = json.loads(Path(path).read_text(encoding="utf-8"))["people"]
    if not people:
        return OpenPosePerson.empty()
    person = people[0]

    def points(key: str, n: int) -> np.ndarray:
        values = person.get(key) or []
        return np.asarray(values, dtype=np.float64).reshape(n, 3) if values else np.zeros((n, 3))

    return OpenPosePerson(points("pose_keypoints_2d", N_BODY), points("face_keypoints_2d", N_FACE),
                          points("hand_left_keypoints_2d", N_HAND), points("hand_right_keypoints_2d", N_HAND))
