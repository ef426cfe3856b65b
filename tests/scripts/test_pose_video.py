"""Pose from a real video with the real estimator (MediaPipe), training on it, and motion transfer.

The footage is tests/data/media/walking_5frames.mp4 (5 real frames, several people walking; see the README there).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data import create_dataset
from data.modes.pose import PoseMode
from data.pose_video.keypoints import read_person
from data.pose_video.normalization import STATS_FILE, PoseStats, ankle_y, head_top_y
from options import TrainOptions
from tests.helpers import load_script
from util.video import read_mp4_info, write_mp4

REPO = Path(__file__).resolve().parents[2]
VIDEO = REPO / "tests" / "data" / "media" / "walking_5frames.mp4"
sys.path.insert(0, str(REPO / "tests" / "util"))
from browser_check import check_page  # noqa: E402

tool = load_script("scripts/video_to_dataset.py")
transfer = load_script("scripts/pose/transfer.py")
NET = ["--dataset_mode", "pose", "--input_nc", "6", "--resize_or_crop", "scaleHeight", "--loadSize", "128",
       "--gpu_ids", "-1", "--nThreads", "0"]
TINY_TRAIN = [*NET, "--no_first_img", "--ngf", "8", "--ndf", "8", "--n_blocks", "2", "--n_downsample_G", "2",
              "--num_D", "1", "--no_vgg", "--flow_net", "dis", "--n_frames_total", "2", "--max_frames_per_gpu", "2",
              "--niter", "1", "--niter_decay", "0", "--print_freq", "1"]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The walking clip made into a pose dataset (recentred on the person followed), and what the tool printed."""
    root = tmp_path_factory.mktemp("pose") / "walk"
    from contextlib import redirect_stdout
    from io import StringIO

    printed = StringIO()
    with redirect_stdout(printed):
        assert tool.main([str(VIDEO), "--kind", "pose", "--dataroot", str(root), "--n_test", "0", "--recenter"]) == 0
    return root, printed.getvalue()


@pytest.fixture(scope="module")
def trained(made: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny pose run trained one epoch on the made dataset; returns its checkpoints_dir."""
    checkpoints = tmp_path_factory.mktemp("checkpoints")
    opt = TrainOptions().parse(["--dataroot", str(made[0]), "--name", "walker", "--checkpoints_dir",
                                str(checkpoints), *TINY_TRAIN], save=False, verbose=False)
    assert load_script("train.py").train(opt) == 0
    return checkpoints


def test_a_real_video_gives_plausible_openpose_keypoints_and_iuv_maps(made) -> None:
    root, printed = made
    keypoints = sorted(root.glob("train_openpose/*/*_keypoints.json"))
    iuv = sorted(root.glob("train_densepose/*/*_IUV.png"))
    frames = sorted(root.glob("train_img/*/*.jpg"))
    assert len(keypoints) == len(iuv) == len(frames) == 5
    assert [p.name.replace("_keypoints.json", "") for p in keypoints] == [p.stem for p in frames]
    for path in keypoints:
        body = read_person(path).body
        present = body[:, 2] > 0
        assert present[[0, 1, 8, 10, 11, 13, 14]].all(), f"{path.name}: head, neck, hips, knees, ankles expected"
        assert body[0, 1] < body[1, 1] < body[8, 1], f"{path.name}: nose above neck above hips"
        assert body[10, 1] < body[11, 1] and body[13, 1] < body[14, 1], f"{path.name}: ankles below knees"
        assert body[8, 1] < body[10, 1], f"{path.name}: hips above knees"
        # --recenter put the person followed (the large walker at the right) in the middle of the 960 columns
        assert 960 / 4 < body[8, 0] < 3 * 960 / 4
    maps = np.stack([np.asarray(Image.open(path)) for path in iuv])
    person = maps[..., 2] > 0
    assert 0.02 < person.mean() < 0.3 and maps[..., 2].max() <= 24 and len(np.unique(maps[..., 2])) >= 8
    stats = PoseStats.load(root / STATS_FILE)
    assert (stats.frame_width, stats.frame_height) == (960, 540) and stats.close_height > 200
    assert "the person in 5 (100 %; 5 detected, 0 interpolated)" in printed
    assert "frames/s" in printed and "train.py --name walk" in printed and "transfer.py" in printed


def test_the_pose_mode_reads_the_made_dataset(made) -> None:
    opt = TrainOptions().parse(["--dataroot", str(made[0]), *TINY_TRAIN], save=False, verbose=False)
    dataset = create_dataset(opt)
    clip = dataset[0]
    label = clip.label  # (T, 6, H, W): IUV then skeleton, central half of the width
    assert label.shape[1:] == (6, 128, 64) and label.min() >= -1 and label.max() <= 1
    assert (label[:, 2] > -1).any(), "the DensePose part channel is empty"
    assert (label[:, 3:] > -1).any(), "no skeleton drawn"
    assert isinstance(dataset.mode, PoseMode)


def test_a_second_run_resumes_from_what_is_written(made, capsys) -> None:
    root = made[0]
    assert tool.main([str(VIDEO), "--kind", "pose", "--dataroot", str(root), "--n_test", "0", "--recenter"]) == 0
    out = capsys.readouterr().out
    assert "0 files written" in out and "estimation:" not in out  # every frame's estimate came from the cache


def test_the_made_dataset_trains_tests_and_drives_a_transfer(made, trained, tmp_path, chromium) -> None:
    root = made[0]
    results = tmp_path / "results"
    test_py = load_script("test.py")
    assert test_py.main(["--name", "walker", "--checkpoints_dir", str(trained), "--dataroot", str(root),
                         "--phase", "train", "--results_dir", str(results), *NET]) == 0
    assert len(list((results / "walker" / "train_latest").glob("*/fake_B_*.jpg"))) == 3  # 5 frames - 2 history

    # the source: the same walk filmed smaller and further left (a different framing of the moves)
    source = tmp_path / "smaller.mp4"
    frames = []
    for frame in np.asarray(list(iter_video(VIDEO))):
        canvas = np.zeros_like(frame)
        small = np.asarray(Image.fromarray(frame).resize((720, 405), Image.BICUBIC))
        canvas[100:505, 0:720] = small
        frames.append(canvas)
    write_mp4(frames, str(source), fps=5)
    code = transfer.main([str(source), "--name", "walker", "--checkpoints_dir", str(trained), "--results_dir",
                          str(results)])
    assert code == 0
    out = results / "walker" / "transfer_smaller"
    info = read_mp4_info(str(out / "transfer.mp4"))
    assert info["n_frames"] == 3 and info["codec"].startswith("h264")
    # the normalised poses have the trained person's size and floor, not the source's
    target = PoseStats.load(root / STATS_FILE)
    for path in sorted(out.glob("dataset/test_openpose/*/*_keypoints.json")):
        body = read_person(path).body
        height = ankle_y(body) - head_top_y(body)
        assert abs(height / target.close_height - 1) < 0.15, f"{path.name}: height {height:.0f}"
        assert abs(ankle_y(body) - target.close_ankle_y) < 0.1 * target.close_height
    report = check_page(out / "index.html", chromium)
    assert len(report["videos"]) == 1 and report["videos"][0]["ok"], report


def test_a_failing_generator_run_is_one_line_naming_its_log(made, trained, tmp_path, capsys) -> None:
    code = transfer.main([str(VIDEO), "--name", "walker", "--checkpoints_dir", str(trained), "--results_dir",
                          str(tmp_path), "--which_epoch", "9"])
    err = [line for line in capsys.readouterr().err.strip().splitlines() if "error" in line]  # no progress bars
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith("transfer: error: test.py failed:") and "9_net_G0.pth" in err[0] and "test.log" in err[0]


def iter_video(path: Path):  # noqa: ANN201
    import imageio.v3 as iio

    return iio.imiter(str(path))


def grey_video(path: Path, n: int = 6) -> Path:
    write_mp4([np.full((96, 128, 3), 128, np.uint8)] * n, str(path), fps=5)
    return path


def test_bad_inputs_are_one_line_with_the_fix(tmp_path, capsys, monkeypatch, made) -> None:
    def failure(argv: list[str], *expected: str, main=tool.main) -> None:  # noqa: ANN001
        assert main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        for text in expected:
            assert text in err, err

    nobody = tmp_path / "nobody"
    failure([str(grey_video(tmp_path / "grey.mp4")), "--kind", "pose", "--dataroot", str(nobody)],
            "no person found in any of the 6 frames", "docs/POSE.md")
    assert not list(nobody.glob("train_*")), "nothing of the layout is written without a person"
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")
    failure([str(notes), "--kind", "pose", "--dataroot", str(tmp_path / "x")], "cannot open video", "codec")
    failure([str(VIDEO), "--kind", "pose", "--dataroot", str(tmp_path / "x"), "--max_people", "0"],
            "--max_people must be >= 1")
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # as if not installed
    failure([str(VIDEO), "--kind", "pose", "--dataroot", str(tmp_path / "y")],
            "needs MediaPipe, which is not installed", "make setup", "requirements-pose.txt")
    monkeypatch.undo()

    checkpoints = tmp_path / "checkpoints"
    failure([str(VIDEO), "--name", "nobody", "--checkpoints_dir", str(checkpoints)], "opt.json",
            "--dataset_mode pose", main=transfer.main)
    run = checkpoints / "faces"
    run.mkdir(parents=True)
    (run / "opt.json").write_text(json.dumps({"dataset_mode": "face", "dataroot": "x"}))
    failure([str(VIDEO), "--name", "faces", "--checkpoints_dir", str(checkpoints)], "--dataset_mode face",
            main=transfer.main)
    (run / "opt.json").write_text(json.dumps({"dataset_mode": "pose", "dataroot": str(made[0])}))
    failure([str(VIDEO), "--name", "faces", "--checkpoints_dir", str(checkpoints)], "--no_first_img",
            main=transfer.main)
    (run / "opt.json").write_text(json.dumps({"dataset_mode": "pose", "no_first_img": True,
                                              "dataroot": str(tmp_path / "elsewhere")}))
    failure([str(VIDEO), "--name", "faces", "--checkpoints_dir", str(checkpoints)], STATS_FILE,
            "--kind pose", "--target_stats", main=transfer.main)


def test_a_pose_run_streams_from_rgb_frames(made, trained) -> None:
    from models.streaming import Synthesizer

    # the walker followed is at x = 800-950 of 960: 300 repeated edge columns put them in the central half
    frames = [np.pad(frame, ((0, 0), (0, 300), (0, 0)), mode="edge") for frame in iter_video(VIDEO)]
    with Synthesizer.from_run("walker", checkpoints_dir=str(trained), flags=NET) as synth:
        outputs = [synth.step(frame) for frame in frames]
        label = synth.window[-1].label  # (6, H, W): the stand-in IUV, then the skeleton
    assert outputs[:2] == [None, None]
    assert all(out.shape == (128, 128, 3) and out.dtype == np.uint8 for out in outputs[2:])
    assert label.shape == (6, 128, 128) and (label[2] > -1).any() and (label[3:] > -1).any()
