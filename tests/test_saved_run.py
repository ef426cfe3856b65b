"""Runs describe themselves: test.py --name X reads X's architecture flags from checkpoints/X/opt.json."""
import json
from pathlib import Path

import pytest

from options import TestOptions, TrainOptions
from options.saved_run import PUBLISHED_RUN_FLAGS, published_run_options, run_flags, with_saved_run_flags
from tests.helpers import load_script, tiny_sample_dataset

ARCHITECTURE = ["--label_nc", "35", "--use_instance", "--fg", "--loadSize", "64", "--ngf", "8", "--n_blocks", "2",
                "--n_downsample_G", "2", "--gpu_ids", "-1"]
TRAIN_ONLY = ["--ndf", "8", "--num_D", "1", "--no_vgg", "--flow_net", "dis", "--nThreads", "0",
              "--n_frames_total", "4", "--max_frames_per_gpu", "2", "--niter", "1", "--niter_decay", "0"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> dict:
    """A tiny run trained for one step by train.py (which writes opt.json)."""
    root = tmp_path_factory.mktemp("saved_run")
    tiny_sample_dataset(root / "data", n_train_seqs=1)
    base = ["--name", "tiny", "--dataroot", str(root / "data"), "--checkpoints_dir", str(root / "ck")]
    opt = TrainOptions().parse([*base, *ARCHITECTURE, *TRAIN_ONLY], save=False, verbose=False)
    assert load_script("train.py").train(opt, max_steps=1) == 0
    return {"root": root, "base": base}


def run_test(run: dict, results: str, *flags: str) -> int:
    return load_script("test.py").main([*run["base"], "--results_dir", str(run["root"] / results), "--use_real_img",
                                        "--how_many", "3", *flags])


def frames(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("fake_B_*.jpg"))}


def test_test_py_needs_no_architecture_flags(trained_run: dict, capsys) -> None:
    assert run_test(trained_run, "full", *ARCHITECTURE) == 0
    assert run_test(trained_run, "bare") == 0
    out = capsys.readouterr().out
    assert "architecture flags from" in out and "--label_nc 35" in out and "--ngf 8" in out
    full = frames(trained_run["root"] / "full" / "tiny" / "test_latest")
    bare = frames(trained_run["root"] / "bare" / "tiny" / "test_latest")
    assert len(full) == 3 and full == bare


def test_contradicting_flag_is_one_error_naming_it(trained_run: dict, capsys) -> None:
    code = run_test(trained_run, "wrong", "--ngf", "16")
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1, err
    assert "--ngf 16 (trained with 8)" in err and "opt.json" in err
    assert not (trained_run["root"] / "wrong").exists()


def test_command_line_wins_when_compatible(trained_run: dict, capsys) -> None:
    """A flag that changes no network (here the test resolution) overrides the saved value."""
    assert run_test(trained_run, "larger", "--loadSize", "128") == 0
    capsys.readouterr()
    from PIL import Image

    first = next((trained_run["root"] / "larger" / "tiny" / "test_latest").rglob("fake_B_*.jpg"))
    assert Image.open(first).size == (128, 64)


def test_saved_flags_fill_only_what_is_not_given(tmp_path) -> None:
    run_dir = tmp_path / "ck" / "x"
    run_dir.mkdir(parents=True)
    (run_dir / "opt.json").write_text(json.dumps({"label_nc": 0, "input_nc": 3, "fg": False, "no_flow": True,
                                                  "fg_labels": [26], "gpu_ids": [0], "ngf": 32}))
    options = TestOptions()
    parser = options.parser
    argv, run = with_saved_run_flags(options, ["--name", "x", "--checkpoints_dir", str(tmp_path / "ck"),
                                              "--ngf", "32"])
    opt = parser.parse_args(argv)
    assert (opt.label_nc, opt.input_nc, opt.no_flow, opt.fg, opt.fg_labels) == (0, 3, True, False, [26])
    assert opt.gpu_ids == [0] and "gpu_ids" not in run.filled  # only architecture flags are taken
    assert "ngf" not in run.filled and run.overridden == {}


def test_published_models_get_the_reference_test_script_flags() -> None:
    options = TestOptions()
    for name in PUBLISHED_RUN_FLAGS:
        saved = published_run_options(options, name)
        assert set(run_flags(options.parser)) <= set(saved)
    city = published_run_options(options, "label2city_2048")
    assert (city["label_nc"], city["loadSize"], city["n_scales_spatial"], city["fg"]) == (35, 2048, 3, True)
    face = published_run_options(options, "edge2face_512")
    assert (face["input_nc"], face["label_nc"], face["loadSize"]) == (15, 0, 512)


def test_parser_level_defaults_are_not_taken_for_given_flags(tmp_path) -> None:
    """test.py's own defaults (set_defaults: dataset_mode 'test', nThreads 1) do not hide the run's values."""
    run_dir = tmp_path / "ck" / "face_run"
    run_dir.mkdir(parents=True)
    (run_dir / "opt.json").write_text(json.dumps({"dataset_mode": "face", "input_nc": 15, "label_nc": 0}))
    options = TestOptions()
    parser = options.parser
    argv, run = with_saved_run_flags(options, ["--name", "face_run", "--checkpoints_dir", str(tmp_path / "ck")])
    assert run.filled["dataset_mode"] == "face" and parser.parse_args(argv).dataset_mode == "face"
