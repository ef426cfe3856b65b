"""A person video -> one person's OpenPose keypoints and mask per frame: find people, choose one, estimate, smooth.

Two passes over the frames (they are decoded again rather than held in memory):
  1. the people of every frame (`PoseEstimator.candidates`), then the person to follow (`tracking.choose_person`);
  2. that person's details (`PoseEstimator.detail`: body, hands, face, mask) on a crop around their box.
Each frame's results are cached in ``cache`` (JSON candidates, NPZ keypoints, PNG masks), so an interrupted run
resumes; a cache made with other settings is cleared first. Then short gaps are filled and the keypoints smoothed
(data/pose_video/smoothing.py); frames still without a person are reported by the caller and left out.
"""
from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from util.atomic import write_atomically, write_text_atomically

from ..image_folder import DataError
from .estimator import Candidate, PoseEstimator
from .keypoints import N_BODY, N_FACE, N_HAND, OpenPosePerson, body_25
from .smoothing import fill_gaps, smooth_track, still_jitter
from .tracking import choose_person

MIN_BODY_POINTS = 5  # a frame with fewer present BODY_25 points has nobody usable
PARTS = ("body", "face", "left_hand", "right_hand")
SIZES = {"body": N_BODY, "face": N_FACE, "left_hand": N_HAND, "right_hand": N_HAND}


@dataclass(frozen=True)
class ExtractSettings:
    """How people are found and their tracks cleaned (video_to_dataset.py's --max_people, --max_gap, --smooth...)."""

    max_people: int = 3
    max_gap: int = 5
    smooth: bool = True
    min_cutoff: float = 1.0
    beta: float = 0.05
    fps: float = 30.0


@dataclass
class Extraction:
    """Per frame of the video: the chosen person (None: nobody) and where their mask is; plus what to report."""

    people: list[OpenPosePerson | None]
    cache: Path
    detected: int = 0          # frames where the estimator saw the chosen person
    filled: int = 0            # frames added by gap filling
    seconds: float = 0.0       # estimation time (frames taken from the cache cost nothing)
    estimated: int = 0         # frames estimated in this run (not from the cache)
    jitter: dict[str, float] = field(default_factory=dict)  # "raw" / "smoothed": px, see smoothing.still_jitter

    @property
    def found(self) -> list[int]:
        return [i for i, person in enumerate(self.people) if person is not None]

    def mask(self, index: int) -> np.ndarray:
        """(H, W) uint8 mask of frame ``index``: its own, or for a filled frame the nearest detected frame's mask
        moved by the difference of their mid-hip (else neck) positions."""
        own = self.cache / "detail" / f"{index:06d}_mask.png"
        if own.exists():
            return np.asarray(Image.open(own))
        donors = [i for i in self.found if (self.cache / "detail" / f"{i:06d}_mask.png").exists()]
        if not donors:
            raise DataError(f"no person mask in {self.cache / 'detail'}; delete that folder and run again")
        donor = min(donors, key=lambda i: abs(i - index))
        mask = np.asarray(Image.open(self.cache / "detail" / f"{donor:06d}_mask.png"))
        shift = anchor(self.people[index].body) - anchor(self.people[donor].body)
        return shifted(mask, int(round(shift[0])), int(round(shift[1])))


def anchor(body: np.ndarray) -> np.ndarray:
    """Mid hip, else neck, else the mean of the present points: where a body is."""
    for joint in (8, 1):
        if body[joint, 2] > 0:
            return body[joint, :2]
    present = body[body[:, 2] > 0, :2]
    return present.mean(axis=0) if len(present) else np.zeros(2)


def shifted(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``image`` moved by (dx, dy) pixels, zeros where nothing moved in."""
    out = np.zeros_like(image)
    h, w = image.shape[:2]
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[max(0, dy): h + min(0, dy), max(0, dx): w + min(0, dx)] = \
        image[max(0, -dy): h + min(0, -dy), max(0, -dx): w + min(0, -dx)]
    return out


def prepare_cache(cache: Path, key: dict) -> None:
    """Keep ``cache`` when it was made for ``key`` (input and frame settings), else empty it."""
    stamp = cache / "settings.json"
    if cache.exists():
        try:
            same = json.loads(stamp.read_text(encoding="utf-8")) == key
        except (OSError, ValueError):
            same = False
        if not same:
            print(f"notice: {cache} was made with other settings; estimating again")
            shutil.rmtree(cache)
    (cache / "candidates").mkdir(parents=True, exist_ok=True)
    (cache / "detail").mkdir(parents=True, exist_ok=True)
    write_text_atomically(stamp, json.dumps(key, sort_keys=True))


def cached_candidates(path: Path, compute: Callable[[], list[Candidate]]) -> list[Candidate]:
    if path.exists():
        return [Candidate(tuple(c["box"]), np.asarray(c["landmarks"])) for c in json.loads(path.read_text())]
    found = compute()
    write_text_atomically(path, json.dumps([{"box": list(c.box), "landmarks": c.landmarks.round(2).tolist()}
                                            for c in found]))
    return found


def save_detail(folder: Path, index: int, person: OpenPosePerson, mask: np.ndarray | None) -> None:
    if mask is not None:
        write_atomically(folder / f"{index:06d}_mask.png", lambda tmp: Image.fromarray(mask).save(tmp))
    write_atomically(folder / f"{index:06d}.npz", lambda tmp: np.savez(tmp, **person._asdict()))


def load_detail(folder: Path, index: int) -> OpenPosePerson | None:
    path = folder / f"{index:06d}.npz"
    if not path.exists():
        return None
    with np.load(path) as data:
        return OpenPosePerson(*(data[name] for name in PARTS))


def extract(frames: Callable[[], Iterator[np.ndarray]], cache: Path, key: dict, settings: ExtractSettings,
            progress: Callable[[str], Callable[[], None]] | None = None) -> Extraction:
    """Keypoints of the person to follow in every frame of ``frames()`` (a fresh iterator of (H, W, 3) uint8 RGB
    frames per call). ``key`` identifies the input and frame settings for the cache; ``progress(stage)`` returns
    a function called once per frame of that stage."""
    prepare_cache(cache, key)
    tick = progress or (lambda stage: (lambda: None))
    spent, estimated = 0.0, 0
    with PoseEstimator(settings.max_people) as estimator:
        candidates, step = [], tick("finding people")
        for index, frame in enumerate(frames()):
            start = time.perf_counter()
            path = cache / "candidates" / f"{index:06d}.json"
            fresh = not path.exists()
            candidates.append(cached_candidates(path, lambda frame=frame: estimator.candidates(frame)))
            spent += (time.perf_counter() - start) if fresh else 0.0
            step()
        chosen = choose_person([[c.box for c in found] for found in candidates])
        detail_dir, people, step = cache / "detail", [], tick("estimating the person")
        for index, frame in enumerate(frames()):
            pick = chosen[index] if index < len(chosen) else None
            person = None
            if pick is not None:
                person = load_detail(detail_dir, index)
                if person is None:
                    start = time.perf_counter()
                    candidate = candidates[index][pick]
                    detail = estimator.detail(frame, candidate.box)
                    if detail is None:  # Holistic missed on the crop: the finder's body, no hands, face or mask
                        person = OpenPosePerson.empty()._replace(body=body_25(candidate.landmarks))
                        save_detail(detail_dir, index, person, None)
                    else:
                        person = detail.person
                        save_detail(detail_dir, index, person, detail.mask)
                    spent, estimated = spent + time.perf_counter() - start, estimated + 1
            people.append(person)
            step()
    return clean(people, cache, settings, spent, estimated)


def tracks_of(people: list[OpenPosePerson | None]) -> dict[str, np.ndarray]:
    """Per part, a (T, N, 3) track with zeros in the frames without a person."""
    return {part: np.stack([getattr(p, part) if p is not None else np.zeros((SIZES[part], 3)) for p in people])
            for part in PARTS}


def clean(people: list[OpenPosePerson | None], cache: Path, settings: ExtractSettings, seconds: float,
          estimated: int) -> Extraction:
    """Fill short gaps, smooth, and keep the frames that have a body."""
    detected = sum(p is not None and (p.body[:, 2] > 0).sum() >= MIN_BODY_POINTS for p in people)
    tracks = tracks_of(people)
    filled = {part: fill_gaps(track, settings.max_gap) for part, track in tracks.items()}
    result = filled
    if settings.smooth:
        result = {part: smooth_track(track, settings.fps, settings.min_cutoff, settings.beta)
                  for part, track in filled.items()}
    jitter = {"raw": float("nan"), "smoothed": float("nan")}
    if (filled["body"][..., 2] > 0).any():
        jitter = {"raw": still_jitter(filled["body"]),
                  "smoothed": still_jitter(result["body"], reference=filled["body"])}
    body_ok = (result["body"][..., 2] > 0).sum(axis=1) >= MIN_BODY_POINTS
    kept: list[OpenPosePerson | None] = [
        OpenPosePerson(*(result[part][t] for part in PARTS)) if body_ok[t] else None for t in range(len(people))]
    n_found = int(body_ok.sum())
    return Extraction(kept, cache, detected=int(detected), filled=max(0, n_found - int(detected)),
                      seconds=seconds, estimated=estimated, jitter=jitter)
