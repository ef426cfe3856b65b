"""scripts/make_sample_dataset.py and data/sample_video.py: the synthetic Cityscapes-layout dataset."""
import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

import data.sample_video as sv
from data.sample_scene import make_scene, render_sequence
from data.sample_video import SampleDatasetError, make_sample_dataset, sequence_seed
from util.flow_io import read_flo

REPO = Path(__file__).resolve().parents[2]
ALLOWED = {7, 8, 11, 17, 21, 23, 24, 26}
KINDS = ("A", "B", "inst", "flow")
SMALL = dict(width=64, height=32, n_train_seqs=2, n_test_seqs=1, n_frames=8)


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _frames(root: Path, split: str, seq: str, kind: str) -> list[Path]:
    return sorted((root / f"{split}_{kind}" / seq).iterdir())


def _leftovers(parent: Path, name: str) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(f".{name}.")]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("small") / "Cityscapes"
    make_sample_dataset(root, seed=3, **SMALL)
    return root


@pytest.fixture(scope="module")
def full_size(tmp_path_factory) -> tuple[Path, dict]:
    """Default frame size, one 8-frame sequence per split (enough for flow checks and the size estimate)."""
    root = tmp_path_factory.mktemp("full") / "Cityscapes"
    return root, make_sample_dataset(root, seed=0, width=256, height=128, n_train_seqs=1, n_test_seqs=1,
                                     n_frames=8)


def test_layout_and_readme(small):
    assert sorted(p.name for p in small.iterdir()) == sorted(
        [f"{s}_{k}" for s in ("train", "test") for k in KINDS] + ["README.md"])
    for split, n in (("train", 2), ("test", 1)):
        seqs = sorted(p.name for p in (small / f"{split}_B").iterdir())
        assert seqs == [f"seq{i:04d}" for i in range(n)]
        for kind in KINDS:
            assert sorted(p.name for p in (small / f"{split}_{kind}").iterdir()) == seqs
        for seq in seqs:
            stems = [p.stem for p in _frames(small, split, seq, "B")]
            assert stems == [f"{seq}_{t:06d}" for t in range(8)]
            assert [p.stem for p in _frames(small, split, seq, "A")] == stems
            assert [p.stem for p in _frames(small, split, seq, "inst")] == stems
            assert [p.name for p in _frames(small, split, seq, "flow")] == [f"{s}.flo" for s in stems[:-1]]
    readme = (small / "README.md").read_text()
    assert "--seed 3" in readme and "frame T to frame T+1" in readme and "202021.25" in readme


def test_same_seed_identical_other_seed_different(small, tmp_path):
    again = tmp_path / "again"
    make_sample_dataset(again, seed=3, **SMALL)
    ref = _hashes(small)
    assert _hashes(again) == ref
    other = tmp_path / "other"
    make_sample_dataset(other, seed=4, **SMALL)
    hashes = _hashes(other)
    assert hashes.keys() == ref.keys()
    differing = [k for k in ref if k.endswith(".png") and "_B" in k and hashes[k] != ref[k]]
    assert len(differing) == sum(1 for k in ref if k.endswith(".png") and "_B" in k)


def test_labels_and_instances(small):
    seen = set()
    for split in ("train", "test"):
        for seq in sorted(p.name for p in (small / f"{split}_A").iterdir()):
            for a_path, i_path, b_path in zip(*(_frames(small, split, seq, k) for k in ("A", "inst", "B")),
                                              strict=True):
                a_img, i_img, b_img = Image.open(a_path), Image.open(i_path), Image.open(b_path)
                assert a_img.mode == "L" and b_img.mode == "RGB"
                assert i_img.mode in ("I;16", "I;16B", "I")
                lab, inst = np.array(a_img), np.array(i_img).astype(np.int64)
                assert np.array(i_img).dtype == np.uint16 and lab.shape == inst.shape == (32, 64)
                assert np.array(b_img).shape == (32, 64, 3)
                ids = set(np.unique(lab).tolist())
                assert ids <= ALLOWED
                seen |= ids
                things = inst >= 1000
                assert np.array_equal(inst[things] // 1000, lab[things].astype(np.int64))
                assert set(np.unique(lab[things]).tolist()) <= {24, 26}
                assert np.array_equal(inst[~things], lab[~things].astype(np.int64))
                assert not np.isin(lab[~things], [24, 26]).any()  # every car/person pixel has an instance
                assert (inst[things] % 1000 < 100).all()
    assert seen == ALLOWED


def _uniform(ids: np.ndarray, r: int) -> np.ndarray:
    win = sliding_window_view(np.pad(ids, r, mode="edge"), (2 * r + 1, 2 * r + 1))
    return win.min(axis=(-1, -2)) == win.max(axis=(-1, -2))


def _warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Bilinearly sample img (H, W, C) at (x + u, y + v), clamping at the border."""
    h, w = img.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    tx, ty = np.clip(xs + flow[..., 0], 0, w - 1), np.clip(ys + flow[..., 1], 0, h - 1)
    x0, y0 = np.minimum(np.floor(tx).astype(int), w - 2), np.minimum(np.floor(ty).astype(int), h - 2)
    fx, fy = (tx - x0)[..., None], (ty - y0)[..., None]
    return (img[y0, x0] * (1 - fx) * (1 - fy) + img[y0, x0 + 1] * fx * (1 - fy)
            + img[y0 + 1, x0] * (1 - fx) * fy + img[y0 + 1, x0 + 1] * fx * fy)


def test_flow_is_exact(full_size):
    root = full_size[0]
    for split in ("train", "test"):
        B, I, F = (_frames(root, split, "seq0000", k) for k in ("B", "inst", "flow"))
        for t in (0, 3, 6):
            a = np.array(Image.open(B[t]), np.float64)
            b = np.array(Image.open(B[t + 1]), np.float64)
            ia = np.array(Image.open(I[t])).astype(np.int64)
            ib = np.array(Image.open(I[t + 1])).astype(np.int64)
            flow = read_flo(F[t]).astype(np.float64)
            h, w = ia.shape
            ys, xs = np.mgrid[0:h, 0:w]
            tx, ty = xs + flow[..., 0], ys + flow[..., 1]
            rx, ry = np.clip(np.rint(tx).astype(int), 0, w - 1), np.clip(np.rint(ty).astype(int), 0, h - 1)
            inside = (tx >= 1) & (tx <= w - 2) & (ty >= 1) & (ty <= h - 2)
            # same instance at the target, with a margin of >= 1 px from any boundary in both frames
            valid = inside & _uniform(ia, 1) & _uniform(ib, 1)[ry, rx] & (ib[ry, rx] == ia)
            assert valid.mean() > 0.75
            err = np.abs(_warp(b, flow) - a).mean(-1)
            zero = np.abs(b - a).mean(-1)
            moving = valid & (np.hypot(flow[..., 0], flow[..., 1]) > 0.25)
            assert moving.mean() > 0.4
            assert err[valid].mean() < 1.0  # /255
            assert err[moving].mean() < 0.25 * zero[moving].mean(), (split, t)
            assert np.percentile(err[valid], 99) < 8.0


def test_flow_is_nontrivial(full_size):
    root = full_size[0]
    for split in ("train", "test"):
        lab = np.array(Image.open(_frames(root, split, "seq0000", "A")[2]))
        inst = np.array(Image.open(_frames(root, split, "seq0000", "inst")[2])).astype(np.int64)
        flow = read_flo(_frames(root, split, "seq0000", "flow")[2])
        u = flow[..., 0]
        assert (flow[lab == 23] == 0).all()  # sky: static layer at infinity
        bu = np.unique(flow[lab == 11], axis=0)
        assert len(bu) == 1 and abs(bu[0, 0]) > 0.3 and bu[0, 1] == 0  # buildings pan as one layer
        ground = np.isin(lab, [7, 8]) & (inst < 1000)
        rows = [r for r in range(lab.shape[0]) if ground[r].any()]
        row_u = [np.abs(u[r][ground[r]]).mean() for r in rows]
        assert np.all(np.diff(row_u) > 0)  # parallax: nearer rows move faster
        ids = [i for i in np.unique(inst) if i >= 1000]
        assert any(i // 1000 == 26 for i in ids) and any(i // 1000 == 24 for i in ids)
        own = []
        for i in ids:
            f = np.unique(flow[inst == i], axis=0)
            assert len(f) == 1  # rigid objects, one velocity each
            bottom = np.nonzero((inst == i).any(axis=1))[0].max()
            if ground[bottom].any():
                own.append(abs(f[0, 0] - u[bottom][ground[bottom]].mean()))
        assert own and np.median(own) > 0.1  # objects move relative to the ground under them
        assert len({tuple(np.unique(flow[inst == i], axis=0)[0]) for i in ids}) == len(ids)


def test_objects_have_own_velocities():
    for seed in range(5):
        scene = make_scene(np.random.default_rng(seed), 256, 128, 24)
        kinds = [s.kind for s in scene.sprites]
        assert {"car", "person", "pole", "tree"} <= set(kinds)
        for s in scene.sprites:
            rel = abs(s.vx - float(scene.ground_velocity(s.anchor(23 / 2)[1])))  # ground under it mid-sequence
            if s.kind == "car":
                assert rel >= 0.4
            elif s.kind == "person":
                assert rel >= 0.15
            else:  # street furniture is fixed to the ground
                assert rel < 1e-9 and s.vy == 0


def test_default_size_under_50mb(full_size):
    root, summary = full_size
    flo = sorted(root.rglob("*.flo"))
    pngs = sorted(root.rglob("*.png"))
    assert len(flo) == 14 and len(pngs) == 3 * 16
    assert all(p.stat().st_size == 12 + 256 * 128 * 8 for p in flo)
    png_per_frame = sum(p.stat().st_size for p in pngs) / 16
    d = sv.DEFAULTS
    n_seq = d["n_train_seqs"] + d["n_test_seqs"]
    estimate = n_seq * (d["n_frames"] * png_per_frame * 1.2 + (d["n_frames"] - 1) * (12 + 256 * 128 * 8))
    assert estimate < 50e6
    assert summary["bytes"] == sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("kwargs, match", [
    (dict(width=250), r"--width must be a positive multiple of 4"),
    (dict(height=0), r"--height must be a positive multiple of 4"),
    (dict(width=16), r"--width must be at least 32"),
    (dict(n_frames=5), r"--n_frames must be >= 8 .*training needs"),
    (dict(n_train_seqs=0), r"--n_train_seqs must be >= 1"),
    (dict(n_test_seqs=-1), r"--n_test_seqs must be >= 1"),
    (dict(seed=-2), r"--seed must be a non-negative integer"),
])
def test_bad_settings_write_nothing(tmp_path, kwargs, match):
    root = tmp_path / "ds"
    with pytest.raises(SampleDatasetError, match=match):
        make_sample_dataset(root, **{**SMALL, **kwargs})
    assert list(tmp_path.iterdir()) == []


def test_refuses_existing_dataset_unless_overwrite(small, tmp_path):
    root = tmp_path / "ds"
    (root / "train_A" / "old").mkdir(parents=True)
    (root / "notes.txt").write_text("keep me")
    with pytest.raises(SampleDatasetError, match=r"--dataroot .*train_A.*--overwrite"):
        make_sample_dataset(root, seed=3, **SMALL)
    assert sorted(p.name for p in root.iterdir()) == ["notes.txt", "train_A"]
    assert _leftovers(tmp_path, "ds") == []
    make_sample_dataset(root, seed=3, overwrite=True, **SMALL)
    assert not (root / "train_A" / "old").exists() and (root / "notes.txt").read_text() == "keep me"
    got = _hashes(root)
    del got["notes.txt"]
    assert got == _hashes(small)
    assert _leftovers(tmp_path, "ds") == []
    # an existing folder without any of the dataset's entries is used as is
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("x")
    make_sample_dataset(other, seed=3, **SMALL)
    assert (other / "x.txt").exists() and (other / "train_B").is_dir()


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    calls = []

    def failing_write_flo(path, flow):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        Path(path).write_bytes(b"partial")

    monkeypatch.setattr(sv, "write_flo", failing_write_flo)
    root = tmp_path / "ds"
    with pytest.raises(KeyboardInterrupt):
        make_sample_dataset(root, seed=1, **SMALL)
    assert list(tmp_path.iterdir()) == []
    # an interrupted --overwrite keeps the previous dataset intact
    monkeypatch.undo()
    make_sample_dataset(root, seed=1, **SMALL)
    before = _hashes(root)
    calls.clear()
    monkeypatch.setattr(sv, "write_flo", failing_write_flo)
    with pytest.raises(KeyboardInterrupt):
        make_sample_dataset(root, seed=2, overwrite=True, **SMALL)
    assert _hashes(root) == before and _leftovers(tmp_path, "ds") == []


def test_cli(tmp_path):
    script = REPO / "scripts" / "make_sample_dataset.py"
    root = tmp_path / "cli"
    args = [sys.executable, str(script), "--dataroot", str(root), "--width", "64", "--height", "32",
            "--n_train_seqs", "1", "--n_test_seqs", "1", "--n_frames", "8", "--seed", "5"]
    ok = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.strip().splitlines()
    assert len(lines) == 1 and "16 frames" in lines[0] and "MB" in lines[0] and lines[0].endswith(" s")
    assert (root / "test_flow" / "seq0000" / "seq0000_000006.flo").is_file()
    again = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    bad = subprocess.run(args + ["--n_frames", "4"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and "--n_frames must be >= 8" in bad.stderr


def test_render_sequence_matches_files(small):
    seq = render_sequence(sequence_seed(3, "test", 0), 64, 32, 8)
    assert seq["image"].shape == (8, 32, 64, 3) and seq["flow"].shape == (7, 32, 64, 2)
    for t in (0, 7):
        assert np.array_equal(seq["image"][t], np.array(Image.open(_frames(small, "test", "seq0000", "B")[t])))
        assert np.array_equal(seq["inst"][t], np.array(Image.open(_frames(small, "test", "seq0000", "inst")[t])))
    np.testing.assert_array_equal(seq["flow"][6], read_flo(_frames(small, "test", "seq0000", "flow")[6]))


def test_dataroot_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "ds").write_text("not a folder")
    with pytest.raises(SampleDatasetError, match="--dataroot .* is not a folder"):
        make_sample_dataset(tmp_path / "ds", **SMALL)
