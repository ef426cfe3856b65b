"""scripts/compute_flow.py end to end with the DIS backend (no weights), and its one-line errors."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scripts.compute_flow import main
from util.flow_io import read_flo

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "compute_flow.py"
HEIGHT, WIDTH = 96, 128


def _smooth_frame(shift: int = 0, seed: int = 0) -> np.ndarray:
    """(HEIGHT, WIDTH, 3) uint8 smooth random texture, content moved ``shift`` px to the right."""
    coarse = Image.fromarray(np.random.default_rng(seed).integers(0, 256, (12, 18, 3), dtype=np.uint8))
    big = np.asarray(coarse.resize((WIDTH + 32, HEIGHT + 32), Image.BICUBIC))
    return np.roll(big, shift, axis=1)[16:-16, 16:-16].copy()


def _save(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=REPO_ROOT,
                          timeout=120)


def test_pair_writes_flo_colour_and_confidence(tmp_path: Path) -> None:
    current = _save(tmp_path / "in" / "frame_b.png", _smooth_frame(0))
    previous = _save(tmp_path / "in" / "frame_a.png", _smooth_frame(2))  # previous(x + 2) == current(x)
    out = tmp_path / "out" / "nested"
    result = _run("--flow_net", "dis", "--current", str(current), "--previous", str(previous), "--out", str(out),
                  "--gpu_ids", "-1")
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in out.iterdir()) == ["frame_b.flo", "frame_b_conf.png", "frame_b_flow.png"]
    flow = read_flo(out / "frame_b.flo")
    assert flow.shape == (HEIGHT, WIDTH, 2) and flow.dtype == np.float32
    interior = flow[16:-16, 16:-16]
    assert abs(np.median(interior[..., 0]) - 2.0) < 0.3 and abs(np.median(interior[..., 1])) < 0.3
    colour = np.asarray(Image.open(out / "frame_b_flow.png"))
    conf = np.asarray(Image.open(out / "frame_b_conf.png"))
    assert colour.shape == (HEIGHT, WIDTH, 3) and colour.dtype == np.uint8
    assert conf.shape == (HEIGHT, WIDTH) and set(np.unique(conf)) <= {0, 255}
    assert (conf[16:-16, 16:-16] == 255).mean() > 0.9


def test_frames_folder_gives_one_flow_per_consecutive_pair(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    for index, shift in enumerate((0, 1, 3)):  # frame t content moved right by 1 then 2 px
        _save(frames / f"f{index:03d}.png", _smooth_frame(shift))
    (frames / "notes.txt").write_text("not a frame")
    out = tmp_path / "out"
    result = _run("--flow_net", "dis", "--frames", str(frames), "--out", str(out), "--gpu_ids", "-1")
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in out.iterdir()) == [
        "f001.flo", "f001_conf.png", "f001_flow.png", "f002.flo", "f002_conf.png", "f002_flow.png"]
    # current = frame t, previous = frame t - 1: frame t's content sits further right, so flow_x is negative.
    for name, expected in (("f001.flo", -1.0), ("f002.flo", -2.0)):
        flow = read_flo(out / name)
        assert flow.shape == (HEIGHT, WIDTH, 2)
        assert abs(np.median(flow[16:-16, 16:-16, 0]) - expected) < 0.3


def _error_of(argv: list[str], capsys: pytest.CaptureFixture) -> str:
    """Run main in-process (fast); it must fail with exactly one stderr line."""
    assert main([*argv, "--gpu_ids", "-1"]) != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("compute_flow: error: ")
    return lines[0]


def test_input_errors_are_one_line_and_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    good = _save(tmp_path / "good.png", _smooth_frame(0))
    small = _save(tmp_path / "small.png", _smooth_frame(0)[:64])
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    lonely = tmp_path / "lonely"
    _save(lonely / "only.png", _smooth_frame(0))
    mixed = tmp_path / "mixed"
    _save(mixed / "0.png", _smooth_frame(0))
    _save(mixed / "1.png", _smooth_frame(1))
    _save(mixed / "2.png", _smooth_frame(2)[:64])  # the last frame differs: caught before the first pair is written
    dis = ["--flow_net", "dis", "--out", str(out)]

    message = _error_of([*dis, "--current", str(tmp_path / "nope.png"), "--previous", str(good)], capsys)
    assert "--current" in message and "nope.png" in message and "not found" in message
    message = _error_of([*dis, "--frames", str(tmp_path / "no_dir")], capsys)
    assert "--frames" in message and "folder not found" in message
    message = _error_of([*dis, "--current", str(good), "--previous", str(small)], capsys)
    assert "128x64" in message and "128x96" in message and "same size" in message
    message = _error_of([*dis, "--frames", str(lonely)], capsys)
    assert "1 image(s)" in message and "at least 2 frames" in message
    message = _error_of([*dis, "--frames", str(mixed)], capsys)
    assert "2.png" in message and "same size" in message
    message = _error_of([*dis, "--current", str(good), "--previous", str(broken)], capsys)
    assert "broken.png" in message and "not a readable image" in message
    message = _error_of([*dis, "--current", str(good)], capsys)
    assert "--previous" in message
    message = _error_of([*dis, "--frames", str(mixed), "--current", str(good), "--previous", str(good)], capsys)
    assert "not both" in message
    # Missing weights: the backend's own message, before any output is written.
    missing = tmp_path / "FlowNet2_checkpoint.pth.tar"
    message = _error_of(["--flow_net", "flownet2", "--flownet_checkpoint", str(missing), "--out", str(out),
                         "--current", str(good), "--previous", str(good)], capsys)
    assert f"FlowNet2 checkpoint not found at '{missing}'" in message and "--flow_net dis|raft" in message
    message = _error_of(["--flow_net", "raft", "--raft_weights", str(tmp_path / "raft.pth"), "--out", str(out),
                         "--current", str(good), "--previous", str(good)], capsys)
    assert "RAFT weights not found" in message
    assert not out.exists()
