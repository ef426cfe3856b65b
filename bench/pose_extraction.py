"""Pose from video, measured: extraction speed, share of frames with the person, keypoint jitter before and after
smoothing (the figures of docs/POSE.md).

    python bench/pose_extraction.py VIDEO [VIDEO ...] [--max_frames N] [--max_people 3] [--size W] [--json PATH]

Per video it runs what ``scripts/video_to_dataset.py --kind pose`` runs (data/pose_video/extract.py: people found
per frame, the person followed chosen, Holistic on a crop around them, gaps filled, One Euro smoothing at the
tool's defaults) with an empty cache in a temporary folder, so every frame is estimated, and reports:
  fps          frames estimated per second of wall time (both passes; decoding and the dataset writing excluded)
  found        share of frames with the person (detected, and after gap filling)
  jitter       mean frame-to-frame displacement (pixels) of still BODY_25 joints (data/pose_video/smoothing.py
               ``still_jitter``: stillness judged on the raw track, so both figures average over the same steps)
Run it on an idle machine (``uptime`` first); the machine's threads and CPU flags are printed with the figures.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine_line  # noqa: E402
from data.pose_video.extract import ExtractSettings, extract  # noqa: E402
from data.video_frames import iter_frames, video_fps  # noqa: E402


def measure(video: str, max_frames: int | None, max_people: int, size: int | None) -> dict:
    fps = video_fps(video)
    settings = ExtractSettings(max_people=max_people, fps=fps)
    with tempfile.TemporaryDirectory() as folder:
        def frames():  # noqa: ANN202
            return (np.asarray(frame) for frame in iter_frames(video, 1, max_frames, size))

        start = time.perf_counter()
        extraction = extract(frames, Path(folder) / "cache", {"input": video}, settings)
        wall = time.perf_counter() - start
    n = len(extraction.people)
    width, height = next(iter(iter_frames(video, 1, 1, size))).size
    return {"video": Path(video).name, "frames": n, "size": f"{width}x{height}", "seconds": round(wall, 2),
            "fps": round(n / wall, 2), "found_detected": round(extraction.detected / n, 3),
            "found_after_filling": round(len(extraction.found) / n, 3),
            "jitter_raw_px": round(extraction.jitter["raw"], 3),
            "jitter_smoothed_px": round(extraction.jitter["smoothed"], 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("videos", nargs="+")
    parser.add_argument("--max_frames", type=int, default=None)
    parser.add_argument("--max_people", type=int, default=3)
    parser.add_argument("--size", type=int, default=None, help="resize frames to this width first")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    machine = machine_line("cpu", 1)  # MediaPipe's XNNPACK runs its own threads; torch is not used
    print(machine)
    rows = [measure(video, args.max_frames, args.max_people, args.size) for video in args.videos]
    for row in rows:
        print(json.dumps(row))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "rows": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
