"""One declaration of the run flags: marked where they are declared (util/flag_marks.py), the shared ones and a
dataset mode's own, and every one of them restored by ``test.py --name`` and checked by ``--continue_train``."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tests.data.toy_mode  # noqa: F401 - registers --dataset_mode toy, whose --toy_threshold is a run flag
from options import TestOptions, TrainOptions
from options.saved_run import run_flags, with_saved_run_flags
from tests.helpers import load_script

# The run flags before they were declared with the flags (the hand list options/saved_run.py kept): the marks
# must give the same set, so test.py --name restores what it restored before.
SHARED_RUN_FLAGS = {
    "label_nc", "input_nc", "output_nc", "use_instance", "ngf", "n_downsample_G", "n_blocks", "n_blocks_local",
    "n_scales_spatial", "n_frames_G", "fg", "fg_labels", "no_flow", "netG", "norm", "no_first_img", "loadSize",
    "use_single_G", "dataset_mode", "no_dist_map", "no_canny_edge", "densepose_only", "openpose_only",
    "basic_point_only", "remove_face_labels", "model",
}  # fmt: skip
TINY = ["--ngf", "8", "--ndf", "8", "--n_blocks", "2", "--n_downsample_G", "2", "--num_D", "1", "--no_vgg",
        "--flow_net", "dis", "--gpu_ids", "-1", "--nThreads", "0", "--loadSize", "64", "--n_frames_total", "2",
        "--max_frames_per_gpu", "2", "--niter", "1", "--niter_decay", "0"]


def test_the_marks_give_the_shared_run_flags_for_training_and_testing() -> None:
    for options in (TrainOptions(), TestOptions()):
        assert set(run_flags(options.parser)) == SHARED_RUN_FLAGS


def test_a_dataset_mode_adds_its_own_run_flag() -> None:
    options = TestOptions()
    options.add_dataset_mode_flags(["--dataset_mode", "toy"])
    assert set(run_flags(options.parser)) == SHARED_RUN_FLAGS | {"toy_threshold"}


def write_frames(root: Path, n_frames: int = 5) -> None:
    rng = np.random.default_rng(0)
    folder = root / "train_img" / "clip0"
    folder.mkdir(parents=True)
    for t in range(n_frames):
        Image.fromarray(rng.integers(0, 256, (32, 64, 3), dtype=np.uint8)).save(folder / f"{t:04d}.png")


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A toy-mode run trained one step with --toy_threshold 0.7 (not its default, 0.4)."""
    root = tmp_path_factory.mktemp("toy_run")
    write_frames(root / "data")
    base = ["--name", "toy", "--dataroot", str(root / "data"), "--checkpoints_dir", str(root / "ck")]
    opt = TrainOptions().parse([*base, "--dataset_mode", "toy", "--toy_threshold", "0.7", *TINY], save=False,
                               verbose=False)
    assert load_script("train.py").train(opt, max_steps=1) == 0
    assert json.loads((root / "ck" / "toy" / "opt.json").read_text())["toy_threshold"] == 0.7
    return {"root": root, "base": base}


def test_a_mode_flag_survives_test_py_name(toy_run: dict, capsys: pytest.CaptureFixture) -> None:
    """test.py --name with neither --dataset_mode nor --toy_threshold: the mode comes from opt.json first, its
    hook adds --toy_threshold, and then the saved 0.7 is filled in."""
    options = TestOptions()
    argv, saved = with_saved_run_flags(options, toy_run["base"])
    assert saved.filled["dataset_mode"] == "toy" and saved.filled["toy_threshold"] == 0.7
    assert options.parse(argv, save=False, verbose=False).toy_threshold == 0.7
    code = load_script("test.py").main([*toy_run["base"], "--phase", "train", "--use_real_img", "--how_many", "2",
                                        "--nThreads", "0", "--gpu_ids", "-1",
                                        "--results_dir", str(toy_run["root"] / "results")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "--dataset_mode toy" in out and "--toy_threshold 0.7" in out
    assert len(list((toy_run["root"] / "results" / "toy" / "train_latest").rglob("fake_B_*.jpg"))) == 2


def test_a_mode_flag_given_on_the_command_line_wins_and_is_named(toy_run: dict) -> None:
    argv, saved = with_saved_run_flags(TestOptions(), [*toy_run["base"], "--toy_threshold", "0.2"])
    assert "toy_threshold" not in saved.filled and saved.overridden == {"toy_threshold": (0.2, 0.7)}
    assert "--toy_threshold 0.2 (trained with 0.7)" in saved.contradiction()


def test_continue_train_with_another_mode_flag_is_refused(toy_run: dict, capsys: pytest.CaptureFixture) -> None:
    opt = TrainOptions().parse([*toy_run["base"], "--dataset_mode", "toy", "--toy_threshold", "0.5", *TINY,
                                "--continue_train"], save=False, verbose=False)
    assert load_script("train.py").train(opt, max_steps=1) == 1
    assert "--continue_train with --toy_threshold 0.5 (the run has 0.7)" in capsys.readouterr().err


def test_a_saved_mode_that_is_not_installed_names_opt_json(tmp_path: Path) -> None:
    run = tmp_path / "ck" / "gone"
    run.mkdir(parents=True)
    (run / "opt.json").write_text(json.dumps({"dataset_mode": "vanished", "label_nc": 0}))
    with pytest.raises(ValueError, match=r"'vanished' is not a dataset mode.*the dataset mode of .*gone/opt\.json"):
        with_saved_run_flags(TestOptions(), ["--name", "gone", "--checkpoints_dir", str(tmp_path / "ck")])
