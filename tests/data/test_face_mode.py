"""--dataset_mode face: the reference's edge2face input drawn from 68 landmarks (data/face_drawing.py), its
Clips, one training step on it, the reference's G input width, and the single-frame G's features.npy."""

from __future__ import annotations

import argparse
import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from data import DataError, TestDataset, create_dataset
from data import face_drawing as draw
from data.modes import get_mode
from data.modes.face import FaceMode
from models.inference import read_face_features
from models.networks import build_networks
from options import TestOptions, TrainOptions
from tests.helpers import load_script

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "tests" / "data" / "reference" / "manifests" / "d_edge2face_512_test.json"
SIZE = 128  # frames are SIZE x SIZE
TINY = ["--ngf", "8", "--ndf", "8", "--n_blocks", "2", "--n_downsample_G", "2", "--num_D", "1", "--no_vgg",
        "--flow_net", "dis", "--gpu_ids", "-1", "--nThreads", "0", "--loadSize", "64", "--n_frames_total", "2",
        "--max_frames_per_gpu", "2", "--niter", "1", "--niter_decay", "0"]


def synthetic_face(cx: float = 64.0, cy: float = 60.0, s: float = 1.0) -> np.ndarray:
    """(68, 2) integer landmarks in dlib order of a frontal face about 40 px wide around (cx, cy)."""
    p = np.zeros((68, 2))
    t = np.linspace(-1, 1, 17)
    p[:17] = np.c_[cx + 20 * s * t, cy - 4 * s + 19.8 * s * np.sqrt(1 - t**2) + 2 * s * t**2]  # jaw
    arch = 2 * s * np.sin(np.linspace(0, np.pi, 5))
    p[17:22] = np.c_[cx - 16 * s + 3 * s * np.arange(5), cy - 12 * s - arch]
    p[22:27] = np.c_[cx + 4 * s + 3 * s * np.arange(5), cy - 12 * s - arch]
    p[27:31] = np.c_[np.full(4, cx), cy - 8 * s + 3 * s * np.arange(4)]
    p[31:36] = np.c_[cx - 4 * s + 2 * s * np.arange(5), cy + 5 * s + s * np.array([0, 1, 1.5, 1, 0])]
    eye_x, eye_y = s * np.array([0, 2, 5, 8, 5, 2]), cy - 7 * s + s * np.array([0, -2, -2, 0, 1.5, 1.5])
    for first, x0 in ((36, cx - 14 * s), (42, cx + 6 * s)):
        p[first:first + 6] = np.c_[x0 + eye_x, eye_y]
    a = np.linspace(0, 2 * np.pi, 13)[:-1]
    p[48:60] = np.c_[cx - 9 * s * np.cos(a), cy + 12 * s + 4 * s * np.sin(a)]
    b = np.linspace(0, 2 * np.pi, 9)[:-1]
    p[60:68] = np.c_[cx - 6 * s * np.cos(b), cy + 12 * s + 1.5 * s * np.sin(b)]
    return np.round(p).astype(int)


def write_face_dataset(root: Path, phase: str = "train", n_seqs: int = 2, n_frames: int = 5) -> None:
    """Landmark files and real frames (a gray face on noise, a bright square in the top-left background)."""
    rng = np.random.default_rng(0)
    for s in range(n_seqs):
        kp_dir, img_dir = root / f"{phase}_keypoints" / f"seq{s}", root / f"{phase}_img" / f"seq{s}"
        kp_dir.mkdir(parents=True)
        img_dir.mkdir(parents=True)
        for t in range(n_frames):
            points = synthetic_face(cx=62.0 + t + 2 * s)
            (kp_dir / f"{t:05d}.txt").write_text("".join(f"{x},{y}\n" for x, y in points))
            frame = rng.integers(0, 40, (SIZE, SIZE, 3), dtype=np.uint8)
            frame[10:30, 10:30] = 230
            Image.fromarray(frame).save(img_dir / f"{t:05d}.png")


def face_opt(root: Path, *extra: str) -> argparse.Namespace:
    argv = ["--dataroot", str(root), "--dataset_mode", "face", "--input_nc", "15", *TINY, *extra]
    return TrainOptions().parse(argv, save=False, verbose=False)


def curve_canvases(keypoints: np.ndarray) -> list[np.ndarray]:
    """Each landmark curve drawn alone (fit_curve + stamp_curve), in FACE_PARTS order."""
    canvases = []
    for _, curves in draw.FACE_PARTS:
        for curve in curves:
            canvas = np.zeros((SIZE, SIZE), np.uint8)
            for start in range(0, max(1, len(curve) - 1), 2):
                fitted = draw.fit_curve(keypoints[curve[start:start + 3], 0], keypoints[curve[start:start + 3], 1])
                if fitted is not None:
                    draw.stamp_curve(canvas, *fitted)
            canvases.append(canvas)
    return canvases


def test_upper_face_and_part_map() -> None:
    points = synthetic_face()
    keypoints = draw.with_upper_face(points.astype(float))
    assert keypoints.shape == (83, 2) and np.array_equal(keypoints[:68], points)
    jaw_end_y = (points[0, 1] + points[16, 1]) / 2
    assert (keypoints[68:, 1] < jaw_end_y).all() and np.array_equal(keypoints[68:, 0], points[15:0:-1, 0])
    parts = draw.part_label_map(keypoints, (SIZE, SIZE))
    assert set(np.unique(parts)) == set(range(7))
    assert parts[0, 0] == 0 and parts[60, 64] in (1, 3)  # background corner, face centre (nose)


def test_edge_map_draws_the_fitted_curves() -> None:
    keypoints = draw.with_upper_face(synthetic_face().astype(float))
    edges, distances = draw.draw_face_curves(keypoints, (SIZE, SIZE), with_distance_maps=True)
    assert edges.dtype == np.uint8 and set(np.unique(edges)) == {0, 255} and len(distances) == 14
    # every landmark lies on (within a pixel of) the drawn curves, independently of the fit
    on = np.argwhere(edges > 0)
    for x, y in keypoints.astype(int):
        assert np.abs(on - [y, x]).sum(axis=1).min() <= 2, (x, y)
    # the outer lips' lower curve follows a parabola through its landmarks: compare with numpy's own fit
    x, y = keypoints[[54, 55, 56], 0], keypoints[[54, 55, 56], 1]
    poly = np.polyfit(x, y, 2)
    for xs in np.arange(x.min() + 1, x.max()):
        assert edges[int(np.polyval(poly, xs)) + np.array([-1, 0, 1]), int(xs)].any()
    # the union of the single curves is the edge map; far pixels are 0
    assert np.array_equal(np.maximum.reduce(curve_canvases(keypoints)), edges)
    assert not edges[:20].any() and not edges[:, :30].any() and not edges[100:].any()


def test_curve_fit_rules() -> None:
    xs, ys = draw.fit_curve(np.array([10.0, 20.0, 30.0]), np.array([40.0, 45.0, 40.0]))
    assert len(xs) == 20 and xs[0] == 10 and xs[-1] == 30 and ys.max() in (44, 45)  # 20 = truncated span
    xs, ys = draw.fit_curve(np.array([5.0, 6.0]), np.array([10.0, 30.0]))  # steep: fitted as x(y)
    assert len(ys) == 20 and set(xs) <= {5, 6}
    assert draw.fit_curve(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.9, 0.0])) is not None
    assert draw.fit_curve(np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.5, 0.0])) is None  # |a| = 2 > 1: dropped


def test_distance_maps_are_l1_distances_to_their_curve() -> None:
    keypoints = draw.with_upper_face(synthetic_face().astype(float))
    _, distances = draw.draw_face_curves(keypoints, (SIZE, SIZE), with_distance_maps=True)
    rng = np.random.default_rng(1)
    samples = rng.integers(0, SIZE, (40, 2))
    for canvas, dist in zip(curve_canvases(keypoints), distances, strict=True):
        curve = np.argwhere(canvas > 0)
        assert len(curve)
        for y, x in samples:
            brute = np.abs(curve - [y, x]).sum(axis=1).min()
            assert dist[y, x] == min(brute // 3, 255), (y, x)
    assert (draw.distance_map(np.zeros((4, 4), np.uint8)) == 255).all()  # no curve: saturated


def test_canny_edges_outside_the_face_wrap_in_uint8() -> None:
    gray = np.zeros((32, 32), np.uint8)
    gray[:, 16:] = 200  # one vertical step: Canny marks it
    edges = np.zeros((32, 32), np.uint8)
    edges[:, 12:20] = 255  # a landmark curve over the step
    parts = np.zeros((32, 32), np.uint8)
    parts[:16] = 1  # the top half is face: no Canny edges there
    before = edges.copy()
    draw.add_background_edges(edges, gray, parts)
    assert np.array_equal(edges[:16], before[:16])
    assert (edges[16:, 12:20] == 254).any() and set(np.unique(edges[16:, 12:20])) <= {254, 255}


def test_crop_box_follows_the_reference_rule() -> None:
    points = synthetic_face()
    left, top, right, bottom = draw.crop_box(points, (SIZE, SIZE))
    assert right - left == bottom - top == 100  # 2.5 face widths (40 px)
    assert (left, top) == (14, 3)
    big = draw.crop_array(np.ones((10, 10), np.uint8), (-2, -2, 8, 8))  # box out of the frame: zeros there
    assert big.shape == (10, 10) and big[:2].sum() == 0 and big[2:, 2:].all()


def test_registered_and_channels(tmp_path) -> None:
    write_face_dataset(tmp_path)
    assert get_mode("face") is FaceMode
    opt = face_opt(tmp_path)
    assert FaceMode.label_channels(opt) == 15 and (opt.label_nc, opt.input_nc) == (0, 15)
    assert FaceMode.label_channels(face_opt(tmp_path, "--no_dist_map")) == 1
    with pytest.raises(DataError, match="--input_nc 15"):
        FaceMode(TrainOptions().parse(["--dataroot", str(tmp_path), "--dataset_mode", "face", *TINY],
                                      save=False, verbose=False), True)


def test_clip_shapes_and_flags(tmp_path) -> None:
    write_face_dataset(tmp_path)
    torch.manual_seed(0)
    clip = create_dataset(face_opt(tmp_path, "--no_flip"))[0]
    assert clip.label.shape == (4, 15, 64, 64) and clip.real.shape == (4, 3, 64, 64)
    assert clip.instance.shape == (4, 1, 64, 64)
    assert 0 <= clip.label.min() and clip.label.max() <= 1 and -1 <= clip.real.min() and clip.real.max() <= 1
    assert set(clip.instance.unique().tolist()) <= set(range(7)) and {1, 3, 5} <= set(clip.instance.unique().tolist())
    assert clip.frame_paths[0].endswith(".txt") and clip.sequence in ("seq0", "seq1")
    square = clip.label[0, 0, :8, :12]  # the bright background square's corner (box starts at x 14, y 3)
    torch.manual_seed(0)
    no_canny = create_dataset(face_opt(tmp_path, "--no_flip", "--no_canny_edge"))[0]
    assert square.max() > 0 and no_canny.label[0, 0, :8, :12].max() == 0
    assert torch.equal(no_canny.label[:, 1:], clip.label[:, 1:])  # distance maps ignore Canny edges
    torch.manual_seed(0)
    edge_only = create_dataset(face_opt(tmp_path, "--no_flip", "--no_dist_map", "--input_nc", "1"))[0]
    assert edge_only.label.shape == (4, 1, 64, 64) and torch.equal(edge_only.label[:, 0], clip.label[:, 0])


def test_test_windows_keep_one_box_and_scale_points(tmp_path) -> None:
    write_face_dataset(tmp_path, phase="test")
    argv = ["--dataroot", str(tmp_path), "--dataset_mode", "face", "--input_nc", "15", "--loadSize", "64",
            "--nThreads", "0"]
    windows = TestDataset(TestOptions().parse(argv, save=False, verbose=False))
    assert len(windows) == 2 * 3 and windows[0].starts_sequence and windows[0].real is not None
    assert windows[0].label.shape == (3, 15, 64, 64)
    assert torch.equal(windows[0].label[1:], windows[1].label[:2])  # same crop box for every window
    scaled = TestDataset(TestOptions().parse([*argv, "--random_scale_points"], save=False, verbose=False))[0]
    assert not torch.equal(scaled.label, windows[0].label) and torch.equal(scaled.instance, windows[0].instance)


def test_train_one_iteration_on_faces(tmp_path) -> None:
    write_face_dataset(tmp_path / "data")
    opt = face_opt(tmp_path / "data", "--name", "faces", "--checkpoints_dir", str(tmp_path / "ck"))
    assert load_script("train.py").train(opt, max_steps=1) == 0
    g0 = torch.load(tmp_path / "ck" / "faces" / "latest_net_G0.pth", weights_only=True)
    assert g0["model_down_seg.1.weight"].shape[1] == 3 * 15


def test_reference_face_flags_give_45_input_channels() -> None:
    argv = json.loads(MANIFEST.read_text())["argv"]
    assert argv[argv.index("--dataset_mode") + 1] == "face"
    opt = TestOptions().parse(argv, save=False, verbose=False)
    with torch.device("meta"):
        nets = build_networks(opt)
    in_channels = nets["G0"].state_dict()["model_down_seg.1.weight"].shape[1]
    assert in_channels == FaceMode.label_channels(opt) * opt.n_frames_G == 45
    assert set(nets) == {"G0", "G_single", "E_single"}


def npy_of_pickle(payload: bytes) -> bytes:
    """A version 1.0 .npy file holding a 0-d object array pickled as ``payload``."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": "|O", "fortran_order": False, "shape": ()})
    return out.getvalue() + payload


def test_features_npy_pickled_dict_loads_without_running_code(tmp_path) -> None:
    bank = {p: np.arange(3 * 17, dtype=np.float32).reshape(3, 17) + p for p in range(7)}
    # the reference's file: a dict pickled (protocol 2) by NumPy 1, whose classes live in numpy.core
    payload = pickle.dumps(np.array(bank, dtype=object), protocol=2)
    payload = payload.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    (tmp_path / "features.npy").write_bytes(npy_of_pickle(payload))
    loaded = read_face_features(str(tmp_path / "features.npy"))
    assert sorted(loaded) == list(range(7)) and torch.equal(loaded[6], torch.from_numpy(bank[6]))

    class Evil:
        def __reduce__(self) -> tuple:
            return (print, ("owned",))

    (tmp_path / "evil.npy").write_bytes(npy_of_pickle(pickle.dumps(np.array({0: Evil()}, dtype=object), 2)))
    with pytest.raises(ValueError, match="refusing to load .*print"):
        read_face_features(str(tmp_path / "evil.npy"))
    np.save(tmp_path / "plain.npy", np.stack([bank[p] for p in range(7)]))  # a plain array also works
    assert torch.equal(read_face_features(str(tmp_path / "plain.npy"))[3], torch.from_numpy(bank[3]))
    with pytest.raises(FileNotFoundError, match="edge2face"):
        read_face_features(str(tmp_path / "missing.npy"))


def test_face_windows_feed_the_single_frame_generator(tmp_path) -> None:
    from models.generator_model import GeneratorModel
    from models.inference import generate, load_face_features

    write_face_dataset(tmp_path / "face", phase="test", n_seqs=1, n_frames=4)
    bank = {p: np.random.default_rng(p).normal(size=(5, 17)).astype(np.float32) for p in range(7)}
    (tmp_path / "ck" / "edge2face_single").mkdir(parents=True)
    np.save(tmp_path / "ck" / "edge2face_single" / "features.npy", np.stack([bank[p] for p in range(7)]))
    argv = ["--dataroot", str(tmp_path / "face"), "--dataset_mode", "face", "--input_nc", "15", "--loadSize", "64",
            "--nThreads", "0", "--use_single_G", "--ngf", "8", "--n_downsample_G", "2", "--n_blocks", "2",
            "--checkpoints_dir", str(tmp_path / "ck"), "--gpu_ids", "-1"]
    opt = TestOptions().parse(argv, save=False, verbose=False)
    torch.manual_seed(0)
    model = GeneratorModel(opt).train()
    features = load_face_features(opt, model)
    assert features is not None and sorted(features) == list(range(7))
    windows = TestDataset(opt)
    frames = list(generate(model, [windows[0], windows[1]], "cpu", features))
    assert [f.fake_image.shape for f in frames] == [(3, 64, 64)] * 2
