"""test.py: parity with the reference's test path, end-to-end runs as a user types them, result files (names,
counts, encodings), the HTML page and videos (checked in headless Chromium), first-frame modes, one-line errors
that write nothing, and the checkpoint layouts of the published models (manifests a, b, d)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from data import Clip, create_dataset
from models.checkpoint import save_network
from models.inference import generate, load_test_model
from models.networks.factory import build_networks
from options import TestOptions
from tests.helpers import load_script, write_label_dataset
from util.image import tensor2im, tensor2label
from util.video import read_mp4_info

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "tests" / "data" / "reference"
sys.path.insert(0, str(REPO / "tests" / "util"))
from browser_check import check_page  # noqa: E402

test_py = load_script("test.py")

TINY_FLAGS = ["--label_nc", "8", "--use_instance", "--fg", "--fg_labels", "2", "--ngf", "8", "--n_downsample_G", "2",
              "--n_blocks", "2", "--n_scales_spatial", "2", "--loadSize", "128", "--gpu_ids", "-1"]


# ---------------------------------------------------------------------------------------------- helpers
def write_dataset(root: Path, sequences: dict[str, int], width: int = 128, height: int = 64, label_nc: int = 8,
                  bad_label: tuple[str, int] | None = None, real: bool = True, phase: str = "test") -> None:
    """Label maps with a box of the fg label 2 moving 4 px right per frame, 16-bit instance maps (id x 1000) and
    random real frames, as PNG sequences (`write_label_dataset`)."""

    def moving_box(rng: np.random.Generator, seq: str, i: int) -> np.ndarray:
        label = np.full((height, width), 1, np.uint8)
        label[height // 2 :] = min(5, label_nc - 1)
        label[height // 4 : height // 2, 4 * i + 8 : 4 * i + width // 3] = 2
        if bad_label == (seq, i):
            label[0, 0] = label_nc  # one id >= --label_nc
        return label

    write_label_dataset(root, sequences, phase=phase, width=width, height=height, labels=moving_box, real=real,
                        digits=6)


def parse(argv: list[str]):
    return TestOptions().parse(argv, save=False, verbose=False)


def write_checkpoints(argv: list[str], seed: int = 0) -> None:
    """Random networks for the flags in ``argv`` saved as reference-format files."""
    torch.manual_seed(seed)
    opt = parse(argv)
    for label, net in build_networks(opt).items():
        if label in ("G_single", "E_single"):
            continue
        save_network(net, os.path.join(opt.checkpoints_dir, opt.name, f"{opt.which_epoch}_net_{label}.pth"))


def tiny_setup(tmp_path: Path, sequences: dict[str, int] | None = None, **dataset_kw) -> list[str]:
    """Dataset + checkpoints of the tiny 2-scale fg config; returns the base argv."""
    write_dataset(tmp_path / "data", sequences or {"seq_a": 5, "seq_b": 4}, **dataset_kw)
    argv = ["--name", "tiny", "--dataroot", str(tmp_path / "data"), "--checkpoints_dir", str(tmp_path / "ck"),
            "--results_dir", str(tmp_path / "results"), *TINY_FLAGS]
    write_checkpoints(argv)
    return argv


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    code = test_py.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------------- parity
@pytest.mark.parametrize("name", ["v1_label_inst_fg_1scale", "v2_label_inst_fg_2scales", "v3_rgb_input_nofg_flow"])
def test_reference_test_path_from_checkpoint_files(tmp_path, name: str) -> None:
    """Reference-format files written from the vector's weights, loaded by test.py's loader, fed the vector's
    windows through test.py's core loop, reproduce NVIDIA's test-path frames."""
    vector = torch.load(REFERENCE / "vectors" / f"{name}.pt", weights_only=True)
    argv = [*vector["argv_test"], "--checkpoints_dir", str(tmp_path), "--dataroot", str(tmp_path)]
    opt = parse(argv)
    for label, state in vector["state_dict"].items():
        if label.startswith("G"):  # D and D_T are training-only; test.py must not need them
            (tmp_path / opt.name).mkdir(exist_ok=True)
            torch.save(state, tmp_path / opt.name / f"latest_net_{label}.pth")
    model = load_test_model(opt, "cpu")
    assert all(module.training for module in model.modules()), "BatchNorm must stay in train mode"

    data, tG = vector["data"], opt.n_frames_G
    c = 1 if opt.label_nc else opt.input_nc
    h, w = data["B"].shape[-2:]
    label, real = data["A"].view(-1, c, h, w), data["B"].view(-1, 3, h, w)  # (T, C, H, W)
    inst = data["inst"].view(-1, 1, h, w) if data["inst"].dim() > 2 else None
    samples = []
    for k, stored in enumerate(vector["test_path"]):
        t = stored["window_start_frame"]
        window = slice(t, t + tG)
        samples.append(Clip(label=label[window], real=real[window], instance=None if inst is None else inst[window],
                            sequence="seq", frame_paths=[f"/x/seq/frame_{i}.png" for i in range(t, t + tG)],
                            starts_sequence=k == 0, frame_index=t + tG - 1))
    outputs = list(generate(model, samples, "cpu"))
    assert len(outputs) == len(vector["test_path"])
    for out, stored in zip(outputs, vector["test_path"], strict=True):
        diff = (out.fake_image - stored["fake_B"][0]).abs().max().item()
        assert diff <= 1e-4, f"{name} window {stored['window_start_frame']}: max |diff| {diff}"


# ---------------------------------------------------------------------------------------------- end to end
def test_end_to_end_as_a_user_runs_it(tmp_path, chromium) -> None:
    argv = tiny_setup(tmp_path)
    g0 = tmp_path / "ck" / "tiny" / "latest_net_G0.pth"
    g0_hash = file_hash(g0)
    result = subprocess.run([sys.executable, "test.py", *argv, "--use_real_img"], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "frames/s" in result.stdout and "5 frames in" in result.stdout
    assert file_hash(g0) == g0_hash  # BN running stats update in memory only

    out = tmp_path / "results" / "tiny" / "test_latest"
    # the reference writes every generated frame (not the tG-1 = 2 history frames) per sequence folder
    expected = {
        "seq_a": [f"seq_a_{i:06d}" for i in (2, 3, 4)],
        "seq_b": [f"seq_b_{i:06d}" for i in (2, 3)],
    }
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "results.json", "seq_a", "seq_b", "videos"]
    record = json.loads((out / "results.json").read_text())  # what scripts/evaluate.py measures them against
    assert (record["phase"], record["frames"], record["sequences"]) == ("test", 5, ["seq_a", "seq_b"])
    assert Path(record["dataroot"]) == (tmp_path / "data").resolve()
    for seq, stems in expected.items():
        names = sorted(p.name for p in (out / seq).iterdir())
        assert names == sorted([f"fake_B_{s}.jpg" for s in stems] + [f"real_A_{s}.png" for s in stems])
        for stem in stems:
            fake = Image.open(out / seq / f"fake_B_{stem}.jpg")
            real = Image.open(out / seq / f"real_A_{stem}.png")
            assert (fake.format, fake.mode, fake.size) == ("JPEG", "RGB", (128, 64))
            assert (real.format, real.mode, real.size) == ("PNG", "RGB", (128, 64))
        info = read_mp4_info(str(out / "videos" / f"{seq}.mp4"))
        assert info["n_frames"] == len(stems) and info["size"] == (256, 64) and info["codec"].startswith("h264")
    assert not list((tmp_path / "results" / "tiny").glob(".tmp*"))

    # the saved images are the in-process outputs, converted and encoded as the reference does
    opt = parse([*argv, "--use_real_img"])
    model = load_test_model(opt)
    frames = list(generate(model, create_dataset(opt)))
    for frame in frames:
        stem = Path(frame.label_path).stem
        folder = out / Path(frame.label_path).parent.name
        assert np.array_equal(np.asarray(Image.open(folder / f"real_A_{stem}.png")),
                              tensor2label(frame.real_label, 8))
        expected_jpg = tmp_path / "expected.jpg"
        Image.fromarray(tensor2im(frame.fake_image)).save(expected_jpg)
        diff = np.abs(np.asarray(Image.open(folder / f"fake_B_{stem}.jpg"), np.int16)
                      - np.asarray(Image.open(expected_jpg), np.int16)).max()
        assert diff <= 2, f"{stem}: saved frame differs from the in-process output by {diff}"

    html = (out / "index.html").read_text()
    for seq, stems in expected.items():
        assert f'src="videos/{seq}.mp4"' in html
        for stem in stems:
            assert f'src="{seq}/fake_B_{stem}.jpg"' in html and f'src="{seq}/real_A_{stem}.png"' in html
    report = check_page(out / "index.html", chromium)
    assert len(report["images"]) == 10 and all(item["ok"] for item in report["images"]), report["images"]
    assert len(report["videos"]) == 2 and all(item["ok"] for item in report["videos"]), report["videos"]
    assert {(v["width"], v["height"]) for v in report["videos"]} == {(256, 64)}


def test_how_many_counts_frames_across_sequences_and_replaces_old_results(tmp_path, capsys) -> None:
    argv = tiny_setup(tmp_path)
    assert run_main([*argv, "--no_first_img"], capsys)[0] == 0
    out = tmp_path / "results" / "tiny" / "test_latest"
    assert len(list((out / "seq_b").glob("fake_B_*.jpg"))) == 2
    code, stdout, _ = run_main([*argv, "--no_first_img", "--how_many", "4", "--which_epoch", "latest"], capsys)
    assert code == 0 and "generating 4 of 5 frames" in stdout
    assert sorted(p.name for p in (out / "seq_b").glob("fake_B_*")) == ["fake_B_seq_b_000002.jpg"]
    assert read_mp4_info(str(out / "videos" / "seq_b.mp4"))["n_frames"] == 1


def test_start_frame_and_no_real_frames_needed(tmp_path, capsys) -> None:
    """Without --use_real_img no <phase>_B folder is read; --start_frame skips frames of every sequence."""
    argv = tiny_setup(tmp_path, {"s1": 6}, real=False)
    code, _, err = run_main([*argv, "--no_first_img", "--start_frame", "2"], capsys)
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "results" / "tiny" / "test_latest" / "s1").glob("fake_B_*"))
    assert names == ["fake_B_s1_000004.jpg", "fake_B_s1_000005.jpg"]


def test_single_frame_generator_makes_the_first_frames(tmp_path, capsys) -> None:
    """--use_single_G reads checkpoints/label2city_single/latest_net_G_<loadSize>.pth ('City' in --dataroot)."""
    root = tmp_path / "CityTiny"
    write_dataset(root, {"s": 3}, width=512, height=256, label_nc=35, real=False)
    argv = ["--name", "tinycity", "--dataroot", str(root), "--checkpoints_dir", str(tmp_path / "ck"),
            "--results_dir", str(tmp_path / "results"), "--label_nc", "35", "--use_instance", "--ngf", "8",
            "--n_downsample_G", "2", "--n_blocks", "1", "--loadSize", "512", "--gpu_ids", "-1", "--use_single_G"]
    write_checkpoints(argv)
    code, _, err = run_main(argv, capsys)
    assert code == 1 and "label2city_single not found" in err and "scripts/download_models.py" in err
    (tmp_path / "ck" / "label2city_single").mkdir()
    code, _, err = run_main(argv, capsys)
    assert code == 1 and "latest_net_G_512.pth not found" in err and "scripts/download_models.py" in err
    torch.manual_seed(0)
    single = build_networks(parse(argv))["G_single"]
    save_network(single, str(tmp_path / "ck" / "label2city_single" / "latest_net_G_512.pth"))
    code, _, err = run_main(argv, capsys)
    assert code == 0, err
    out = tmp_path / "results" / "tinycity" / "test_latest" / "s"
    assert sorted(p.name for p in out.iterdir()) == ["fake_B_s_000002.jpg", "real_A_s_000002.png"]


# ---------------------------------------------------------------------------------------------- errors
def assert_failed_cleanly(code: int, err: str, tmp_path: Path, *fragments: str) -> None:
    assert code == 1
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error")]  # besides the progress bar
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not (tmp_path / "results").exists(), "a failed run must leave no results folder"


def test_error_missing_checkpoint_folder(tmp_path, capsys) -> None:
    write_dataset(tmp_path / "data", {"s": 3})
    code, _, err = run_main(["--name", "label2city_2048", "--dataroot", str(tmp_path / "data"),
                             "--checkpoints_dir", str(tmp_path / "ck"), "--results_dir", str(tmp_path / "results"),
                             *TINY_FLAGS, "--use_real_img"], capsys)
    assert_failed_cleanly(code, err, tmp_path, "label2city_2048 not found", "python scripts/download_models.py")


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--n_scales_spatial", "3", "--loadSize", "256"], ["latest_net_G2.pth not found", "--n_scales_spatial 2"]),
        (["--which_epoch", "7"], ["7_net_G0.pth not found", "available --which_epoch values: latest"]),
        (["--ngf", "16"], ["indv_down.1.weight has shape (8, 27, 7, 7) in the file but (16, 27, 7, 7)",
                           "--ngf"]),
        (["--n_blocks", "4"], ["missing keys: indv_res.2.conv_block.1.weight", "--n_blocks"]),
        (["--label_nc", "9"], ["indv_down.1.weight has shape (8, 27, 7, 7) in the file but (8, 30, 7, 7)",
                               "--label_nc"]),
        (["--no_flow"], ["unexpected keys: model_res_flow", "--no_flow (the checkpoint has the flow heads)"]),
        (["--fg", "--fg_labels", "2"], []),  # same flags: succeeds (sanity check of the parametrisation)
    ],
)
def test_error_checkpoint_does_not_match_flags(tmp_path, capsys, extra: list[str], fragments: list[str]) -> None:
    argv = tiny_setup(tmp_path, {"s": 3})
    code, _, err = run_main([*argv, *extra, "--use_real_img"], capsys)
    if not fragments:
        assert code == 0, err
        return
    assert_failed_cleanly(code, err, tmp_path, *fragments)


def test_error_checkpoint_without_fg_branch(tmp_path, capsys) -> None:
    argv = tiny_setup(tmp_path, {"s": 3})
    flags = [a for a in argv if a != "--fg"]
    code, _, err = run_main([*flags, "--use_real_img"], capsys)
    assert_failed_cleanly(code, err, tmp_path, "unexpected keys: indv_",
                          "--fg (the checkpoint has the foreground branch)")


def test_error_label_out_of_range_writes_nothing(tmp_path, capsys) -> None:
    """The bad label is in a late frame, after some results were generated: they must not survive."""
    argv = tiny_setup(tmp_path, {"a": 4, "b": 4}, bad_label=("b", 3))
    code, _, err = run_main([*argv, "--use_real_img"], capsys)
    assert_failed_cleanly(code, err, tmp_path, "b_000003.png contains label 8 >= --label_nc 8")


def test_error_no_first_frame_source(tmp_path, capsys) -> None:
    argv = tiny_setup(tmp_path, {"s": 3})
    code, _, err = run_main(argv, capsys)
    assert_failed_cleanly(code, err, tmp_path, "--use_single_G", "--use_real_img", "--no_first_img")


def test_failed_run_keeps_previous_results(tmp_path, capsys) -> None:
    argv = tiny_setup(tmp_path, {"a": 4, "b": 3})
    assert run_main([*argv, "--no_first_img"], capsys)[0] == 0
    before = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "results").rglob("*"))
    (tmp_path / "data" / "test_A" / "b" / "b_000002.png").write_bytes(b"broken")
    code, _, err = run_main([*argv, "--no_first_img"], capsys)
    assert code == 1 and "cannot read image" in err
    assert sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "results").rglob("*")) == before


# ---------------------------------------------------------------------------------------------- manifests
def manifest(config: str) -> dict:
    path = next((REFERENCE / "manifests").glob(f"{config}_*.json"))
    return json.loads(path.read_text())


def write_manifest_checkpoints(config: str, checkpoints_dir: Path) -> None:
    """Files with exactly the published key layout (names, shapes, dtypes, order) of every network of the
    manifest, filled with small deterministic values (a tiled random pool: fast for 400 M parameters)."""
    pool = torch.randn(1 << 20, generator=torch.Generator().manual_seed(0)) * 0.02
    for net in manifest(config)["networks"]:
        state = {}
        for entry in net["state_dict"]:
            shape, key = entry["shape"], entry["key"]
            if entry["dtype"] == "int64":
                state[key] = torch.zeros(shape, dtype=torch.int64)
                continue
            n = int(np.prod(shape)) if shape else 1
            values = pool.repeat((n + pool.numel() - 1) // pool.numel())[:n].reshape(shape).clone()
            if key.endswith("running_var") or (key.endswith(".weight") and len(shape) == 1):
                values = values + 1.0  # BN scale and variance around 1
            state[key] = values
        path = checkpoints_dir / Path(net["file"]).relative_to("checkpoints")
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, path)


def without(argv: list[str], *flags: str) -> list[str]:
    return [a for a in argv if a not in flags]


def drop_option(argv: list[str], flag: str) -> list[str]:
    if flag not in argv:
        return argv
    i = argv.index(flag)
    return argv[:i] + argv[i + 2 :]


@pytest.mark.parametrize("config", ["a", "b", "d"])
def test_published_checkpoint_layouts(tmp_path, capsys, config: str) -> None:
    """Every file of the published test configuration loads strictly at full size (memory-mapped); the
    sequential generator then runs to completion at a small frame size with --use_real_img."""
    ck = tmp_path / "checkpoints"
    write_manifest_checkpoints(config, ck)
    m_argv = manifest(config)["argv"]
    face = config == "d"
    root = tmp_path / ("face" if face else "Cityscapes")
    common = ["--checkpoints_dir", str(ck), "--dataroot", str(root), "--gpu_ids", "-1",
              "--results_dir", str(tmp_path / "results")]
    full = parse([*drop_option(m_argv, "--dataroot"), *common])
    model = load_test_model(full)  # G0..G{S-1} and the single-frame G (+ face encoder), strictly
    expected_labels = [f"G{s}" for s in range(full.n_scales_spatial)] + ["G_single"] + (["E_single"] if face else [])
    assert list(model.networks()) == expected_labels
    del model

    small = [*without(drop_option(drop_option(m_argv, "--dataroot"), "--loadSize"), "--use_single_G"), *common,
             "--loadSize", "128" if not face else "64", "--use_real_img"]
    if face:
        # the face dataset mode is not implemented yet: feed 15-channel tensors through test.py's loop
        opt = parse(small)
        model = load_test_model(opt)
        torch.manual_seed(0)
        samples = [Clip(label=torch.rand(3, 15, 64, 64), real=torch.rand(3, 3, 64, 64) * 2 - 1, sequence="s",
                        frame_paths=[f"/x/s/{i}.png"] * 3, starts_sequence=i == 0) for i in range(2)]
        frames = list(generate(model, samples))
        assert len(frames) == 2 and all(torch.isfinite(f.fake_image).all() for f in frames)
        return
    write_dataset(root, {"s": 4}, width=128, height=64, label_nc=35)
    code, out, err = run_main(small, capsys)
    assert code == 0, err
    results = tmp_path / "results" / manifest(config)["argv"][1] / "test_latest" / "s"
    assert len(list(results.glob("fake_B_*.jpg"))) == 2
