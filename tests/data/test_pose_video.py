"""Pose from video without the estimator: OpenPose mapping, person choice, the DensePose stand-in, the layout."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from data.pose_drawing import read_people
from data.pose_video.densepose_standin import HEAD_LEFT, HEAD_RIGHT, iuv_image
from data.pose_video.keypoints import (
    BODY_25_FROM_POSE,
    FACE_70_FROM_MESH,
    OpenPosePerson,
    assign_hands,
    body_25,
    face_70,
    read_person,
    write_keypoints,
)
from data.pose_video.layout import pose_sequences, ranges_text, recentred
from data.pose_video.tracking import choose_person


def pose_landmarks(seed: int = 0) -> np.ndarray:
    """33 MediaPipe landmarks at distinct random positions, visibility 0.5..1."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.uniform(0, 500, (33, 2)), rng.uniform(0.5, 1, (33, 1))], axis=1)


def test_body_25_takes_each_joint_from_its_mediapipe_landmark() -> None:
    landmarks = pose_landmarks()
    body = body_25(landmarks)
    assert body.shape == (25, 3)
    np.testing.assert_allclose(body[0], landmarks[0])                       # nose
    np.testing.assert_allclose(body[2], landmarks[12])                      # right shoulder = MediaPipe's 12
    np.testing.assert_allclose(body[7], landmarks[15])                      # left wrist = MediaPipe's 15
    np.testing.assert_allclose(body[11], landmarks[28])                     # right ankle
    np.testing.assert_allclose(body[15], landmarks[5])                      # right eye
    np.testing.assert_allclose(body[1, :2], landmarks[[11, 12], :2].mean(axis=0))  # neck between the shoulders
    assert body[1, 2] == landmarks[[11, 12], 2].min()
    np.testing.assert_allclose(body[8, :2], landmarks[[23, 24], :2].mean(axis=0))  # mid hip
    assert (body[[20, 23]] == 0).all()  # small toes: no counterpart, written as OpenPose writes a missing joint
    assert sum(entry is None for entry in BODY_25_FROM_POSE) == 2


def test_face_70_follows_dlib_order_and_needs_the_refined_mesh_for_pupils() -> None:
    rng = np.random.default_rng(1)
    mesh = rng.uniform(0, 300, (478, 3))
    face = face_70(mesh, confidence=0.8)
    assert face.shape == (70, 3) and (face[:, 2] == 0.8).all()
    np.testing.assert_allclose(face[8, :2], mesh[152, :2])   # chin
    np.testing.assert_allclose(face[30, :2], mesh[4, :2])    # nose tip
    np.testing.assert_allclose(face[27, :2], mesh[[168, 6], :2].mean(axis=0))
    np.testing.assert_allclose(face[68, :2], mesh[468, :2])  # right pupil
    without_iris = face_70(mesh[:468], confidence=0.8)
    assert (without_iris[68:] == 0).all() and (without_iris[:68, 2] == 0.8).all()
    assert len(FACE_70_FROM_MESH) == 70


def test_hands_go_to_the_nearer_wrist_whatever_their_order() -> None:
    body = np.zeros((25, 3))
    body[4] = (100, 200, 0.9)   # right wrist
    body[7] = (300, 200, 0.9)   # left wrist
    near_left = np.zeros((21, 3))
    near_left[:, :2], near_left[:, 2] = (305, 210), 1
    near_right = np.zeros((21, 3))
    near_right[:, :2], near_right[:, 2] = (95, 190), 1
    for hands in ([near_left, near_right], [near_right, near_left]):
        left, right = assign_hands(body, hands)
        assert left[0, 0] == 305 and right[0, 0] == 95
    # two hands near one wrist: the nearer keeps it, the other is dropped rather than given the far wrist
    farther = near_left.copy()
    farther[:, 0] = 330
    left, right = assign_hands(body, [farther, near_left])
    assert left[0, 0] == 305 and not right.any()
    body[4, 2] = 0  # no right wrist seen: a hand near it cannot be placed
    left, right = assign_hands(body, [near_right])
    assert left[0, 0] == 95 and not right.any()


def test_keypoint_files_are_openpose_json_the_pose_mode_reads(tmp_path) -> None:
    person = OpenPosePerson.empty()._replace(body=body_25(pose_landmarks()))
    person.body[3] = (5.0, 6.0, 0.0)  # a point with zero confidence is written as (0, 0, 0)
    path = tmp_path / "seq" / "frame_00000_keypoints.json"
    write_keypoints(path, [person])
    content = json.loads(path.read_text())
    assert set(content["people"][0]) >= {"pose_keypoints_2d", "face_keypoints_2d", "hand_left_keypoints_2d",
                                         "hand_right_keypoints_2d"}
    assert content["people"][0]["pose_keypoints_2d"][9:12] == [0.0, 0.0, 0.0]
    people = read_people(str(path))  # data/pose_drawing.py, as the pose mode reads it
    assert len(people) == 1
    np.testing.assert_allclose(people[0].body[0], person.body[0, :2], atol=1e-3)
    np.testing.assert_allclose(read_person(path).body[:, :2], np.where(person.body[:, 2:] > 0, person.body[:, :2], 0),
                               atol=1e-3)


def test_the_person_followed_is_the_large_consistent_one_not_the_first_found() -> None:
    dancer = (400.0, 100.0, 560.0, 500.0)
    passer = (50.0, 300.0, 90.0, 380.0)
    frames = []
    for t in range(20):
        moving = (dancer[0] + 3 * t, dancer[1], dancer[2] + 3 * t, dancer[3])
        others = [(passer[0] + 20 * t, passer[1], passer[2] + 20 * t, passer[3])]
        frames.append(others + [moving] if t % 2 else [moving] + others)  # the dancer is first only every other time
    frames[7] = frames[7][:1]  # the dancer missed in frame 7: the passer is alone there
    frames[12] = []
    chosen = choose_person(frames)
    for t, pick in enumerate(chosen):
        if t in (7, 12):
            assert pick is None
        else:
            assert frames[t][pick][0] >= 400, f"frame {t} follows the passer-by"
    assert choose_person([[], []]) == [None, None]


def test_two_people_crossing_keep_their_tracks() -> None:
    left = [(100.0 + 40 * t, 100.0, 200.0 + 40 * t, 400.0) for t in range(13)]
    right = [(600.0 - 40 * t, 150.0, 680.0 - 40 * t, 330.0) for t in range(13)]  # smaller, passes in front at t 6
    chosen = choose_person([[right[t], left[t]] for t in range(13)])
    assert chosen == [1] * 13


def test_densepose_stand_in_gives_parts_and_positions_along_limbs() -> None:
    body = np.zeros((25, 3))
    joints = {0: (50, 20), 1: (50, 40), 2: (38, 40), 3: (35, 60), 4: (33, 80), 5: (62, 40), 6: (65, 60),
              7: (67, 80), 8: (50, 90), 9: (44, 90), 10: (43, 120), 11: (42, 150), 12: (56, 90), 13: (57, 120),
              14: (58, 150), 19: (62, 158), 22: (38, 158)}
    for joint, (x, y) in joints.items():
        body[joint] = (x, y, 0.9)
    mask = np.zeros((170, 100), np.uint8)
    mask[5:165, 25:75] = 255
    iuv = iuv_image(mask, body)
    assert iuv.shape == (170, 100, 3) and iuv.dtype == np.uint8
    assert (iuv[mask == 0] == 0).all() and (iuv[mask > 0, 2] > 0).all() and iuv[..., 2].max() <= 24
    # the right shoulder is on the image's left: the person faces the camera (front parts)
    assert iuv[65, 50, 2] == 2                        # torso, front
    assert iuv[135, 42, 2] == 13                      # right lower leg, front
    assert iuv[135, 58, 2] == 14                      # left lower leg, front
    assert iuv[12, 46, 2] == HEAD_RIGHT and iuv[12, 54, 2] == HEAD_LEFT  # the person's right is the image's left
    assert iuv[125, 43, 1] < iuv[145, 42, 1]          # U grows from knee to ankle
    turned = body.copy()
    turned[[2, 5], 0] = turned[[5, 2], 0]             # shoulders swapped: seen from behind
    assert iuv_image(mask, turned)[65, 50, 2] == 1    # torso, back
    assert not iuv_image(np.zeros_like(mask), body).any() and not iuv_image(mask, np.zeros((25, 3))).any()


def test_sequences_break_where_the_person_is_missing_and_short_runs_are_dropped() -> None:
    found = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 20, 21, 22, 23, 24]
    sequences, dropped = pose_sequences(found, seq_length=4)
    assert sequences == [[0, 1, 2, 3], [4, 5, 6, 7, 8, 9], [20, 21, 22, 23, 24]]  # a 2-frame tail joins
    assert dropped == [12, 13]
    assert ranges_text([3, 4, 5, 9, 12, 13]) == "3-5, 9, 12-13"
    assert ranges_text(list(range(0, 40, 2)), limit=3) == "0, 2, 4, ..."


def test_recentring_moves_frame_keypoints_and_mask_together() -> None:
    frame = Image.fromarray(np.tile(np.arange(20, dtype=np.uint8)[None, :, None], (4, 1, 3)))
    person = OpenPosePerson.empty()
    person.body[8] = (15.0, 2.0, 0.9)
    mask = np.zeros((4, 20), np.uint8)
    mask[:, 15] = 255
    image, moved, moved_mask = recentred(frame, person, mask, -5)
    assert np.asarray(image)[0, 10, 0] == 15 and np.asarray(image)[0, 19, 0] == 19  # edge column repeated
    assert moved.body[8, 0] == 10.0 and moved.body[0, 0] == 0  # a missing point stays missing
    assert moved_mask[:, 10].all() and moved_mask.sum() == 4 * 255
