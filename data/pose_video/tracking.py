"""Which person to follow through a video: link the people found in each frame into tracks, keep the best track.

A video of a dancer often has other people in it (an audience, a passer-by). Taking whoever the estimator finds
first in each frame would jump between them. Instead, boxes are linked frame to frame by overlap into tracks, and the
track with the largest sum of box areas is kept: the person who is both large in the picture and there for most
of the video. Frames where that track has no box have nobody (they are filled in when the gap is short, see
data/pose_video/smoothing.py, or left out of the dataset).
"""
from __future__ import annotations

from dataclasses import dataclass, field

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels

MIN_IOU = 0.2  # boxes of consecutive sightings of one person overlap at least this much
MAX_MISSED = 5  # a track waits this many frames for its person before it ends


def area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when they do not touch)."""
    inter = area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    """One person's sightings: frame index -> index of the candidate in that frame's list."""

    members: dict[int, int] = field(default_factory=dict)
    last_box: Box = (0.0, 0.0, 0.0, 0.0)
    last_frame: int = -1
    score: float = 0.0  # sum of the box areas

    def add(self, frame: int, candidate: int, box: Box) -> None:
        self.members[frame] = candidate
        self.last_box, self.last_frame = box, frame
        self.score += area(box)


def link_tracks(boxes_per_frame: list[list[Box]], min_iou: float = MIN_IOU,
                max_missed: int = MAX_MISSED) -> list[Track]:
    """Tracks over the frames: each frame's boxes join the open tracks they overlap most (pairs of largest
    overlap first, each box and track used once); a box that joins none starts a track; a track not seen for more
    than ``max_missed`` frames is closed."""
    tracks: list[Track] = []
    for frame, boxes in enumerate(boxes_per_frame):
        open_tracks = [t for t in tracks if frame - t.last_frame <= max_missed + 1]
        pairs = sorted(((iou(t.last_box, box), k, i) for k, t in enumerate(open_tracks) for i, box in enumerate(boxes)),
                       reverse=True)
        used_tracks, used_boxes = set(), set()
        for overlap, k, i in pairs:
            if overlap < min_iou:
                break
            if k in used_tracks or i in used_boxes:
                continue
            open_tracks[k].add(frame, i, boxes[i])
            used_tracks.add(k)
            used_boxes.add(i)
        for i, box in enumerate(boxes):
            if i not in used_boxes:
                track = Track()
                track.add(frame, i, box)
                tracks.append(track)
    return tracks


def choose_person(boxes_per_frame: list[list[Box]]) -> list[int | None]:
    """Per frame, the index of the chosen person's box in that frame's list, or None where the chosen track has
    no box; all None when no frame has anyone."""
    tracks = link_tracks(boxes_per_frame)
    if not tracks:
        return [None] * len(boxes_per_frame)
    best = max(tracks, key=lambda track: track.score)
    return [best.members.get(frame) for frame in range(len(boxes_per_frame))]
