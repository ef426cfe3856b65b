"""Bad inputs of issue 25, item 6, and Ctrl-C (item 5), one test per row of docs/ERRORS.md: what used to end in a
traceback, a usage dump or a message naming the wrong file now ends with one line naming the file or flag at
fault and the fix; what was accepted silently (a greyscale frame among colour ones, a clamped --n_frames_total)
is said; a Ctrl-C ends with one line and exit 130.

The setup is tests/test_bad_inputs.py's (a tiny sample dataset in ``data/``, ``checkpoints/run`` trained for one
step); each case checks the exit code, the one line and, by listing every file and folder of the working folder
before and after, that nothing new is left behind.
"""
from __future__ import annotations

import json
import os
import runpy
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

import data.sample_video as sample_video
import tests.test_bad_inputs as bad_inputs
import train
import util.allocator
from options import TrainOptions
from tests.data.test_pose_mode import TINY as POSE_FLAGS
from tests.data.test_pose_mode import write_pose_dataset
from tests.test_bad_inputs import (
    REPO,
    evaluate,
    fake_results,
    frame,
    inference_args,
    inspect_dataset,
    snapshot,
    train_args,
)
from tests.test_bad_inputs import test_py as test_py_script
from util.cli import INTERRUPTED, interrupted_line
from util.html import HTMLPage
from util.result_writer import ResultWriter

# the setup of tests/test_bad_inputs.py: the sample dataset, a run trained for one step, a working folder
pristine, trained, work, run_dir = bad_inputs.pristine, bad_inputs.trained, bad_inputs.work, bad_inputs.run_dir
refused = bad_inputs.expect  # the_error_line, and every file and folder of the working folder as it was

EVALUATE = ["--results", "results/run/test_latest", "--dataroot", "data"]


# ---------------------------------------------------------------------------------------------- evaluation
def test_evaluate_empty_generated_frame(work: Path, refused: Callable) -> None:
    """A 0-byte fake_B JPEG (test.py killed by hand mid-write, a full disk): one line naming it."""
    (fake_results(work) / "seq0000" / "fake_B_seq0000_000003.jpg").write_bytes(b"")
    refused(lambda: evaluate.main(EVALUATE), 1, "evaluate: error: cannot read image "
            "results/run/test_latest/seq0000/fake_B_seq0000_000003.jpg", "rerun test.py to write the results again")


def test_evaluate_generated_frame_of_another_size(work: Path, refused: Callable) -> None:
    path = fake_results(work) / "seq0000" / "fake_B_seq0000_000004.jpg"
    Image.open(path).resize((32, 16)).save(path)
    refused(lambda: evaluate.main(EVALUATE), 1, "evaluate: error: results/run/test_latest/seq0000/"
            "fake_B_seq0000_000004.jpg is 32x16 but results/run/test_latest/seq0000/fake_B_seq0000_000002.jpg is "
            "64x32", "the generated frames of a sequence must have one size", "rerun test.py")


def test_evaluate_dataroot_that_is_a_file(work: Path, refused: Callable) -> None:
    fake_results(work)
    (work / "notes.txt").write_text("not a dataset\n")
    refused(lambda: evaluate.main(["--results", "results/run/test_latest", "--dataroot", "notes.txt"]), 1,
            "evaluate: error: --dataroot notes.txt is a file, not a folder", "pass the dataset folder test.py read")


# ---------------------------------------------------------------------------------------------- flags
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc, where nobody may create folders")
def test_checkpoints_dir_that_cannot_be_made_names_the_flag(work: Path, refused: Callable) -> None:
    refused(lambda: train.main(train_args("--checkpoints_dir", "/proc/self/ck")), 1,
            "error: cannot write /proc/self/ck (No such file or directory)",
            "--checkpoints_dir /proc/self/ck must be a folder this user can create and write",
            "choose another --checkpoints_dir")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc, where nobody may create folders")
def test_results_dir_that_cannot_be_made_names_the_flag(run_dir: Path, refused: Callable) -> None:
    refused(lambda: test_py_script.main(inference_args("--use_real_img", "--results_dir", "/proc/self/r")), 1,
            "error: cannot write /proc/self/r (No such file or directory)", "choose another --results_dir")


def file_as_dataroot(work: Path) -> list[str]:
    (work / "notes.txt").write_text("not a dataset\n")
    return ["--dataroot", "notes.txt"]


@pytest.mark.parametrize("program", ["train.py", "test.py", "inspect_dataset.py"])
def test_dataroot_that_is_a_file(run_dir: Path, refused: Callable, monkeypatch: pytest.MonkeyPatch,
                                 program: str) -> None:
    dataroot = file_as_dataroot(run_dir.parents[1])
    if program == "train.py":
        action = lambda: train.main([*train_args(), *dataroot])  # noqa: E731 - the last --dataroot wins
    elif program == "test.py":
        action = lambda: test_py_script.main([*inference_args("--use_real_img"), *dataroot])  # noqa: E731
    else:
        monkeypatch.setattr(sys, "argv", ["inspect_dataset.py", *train_args()[2:], *dataroot])
        action = inspect_dataset.main
    refused(action, 2, "error: --dataroot notes.txt is a file, not a folder: give the dataset's folder")


def test_clamped_n_frames_total_is_logged_as_used(work: Path, capsys: pytest.CaptureFixture) -> None:
    """--n_frames_total 100000 on sequences of 8 frames: the log says the 6 frames really generated, and why."""
    argv = train_args("--n_frames_total", "100000")
    assert train.train(TrainOptions().parse(argv, save=False, verbose=False), max_steps=1) == 0
    line = ("training on sequences of 6 generated frames, not --n_frames_total 100000: clamped because the longest "
            "sequence has 8 frames, 2 of them history")
    assert line in capsys.readouterr().out
    assert line in (work / "checkpoints" / "new" / "loss_log.txt").read_text()


# ---------------------------------------------------------------------------------------------- a run's opt.json
def damage_opt_json(run: Path, key: str, value: object) -> None:
    path = run / "opt.json"
    saved = json.loads(path.read_text())
    saved[key] = value
    path.write_text(json.dumps(saved, indent=2) + "\n")


OPT_JSON_CASES = [
    pytest.param("ngf", "abc", ['checkpoints/run/opt.json holds "ngf": "abc", which --ngf cannot take (--ngf takes an '
                                "integer)"], id="ngf_not_a_number"),
    pytest.param("norm", "nonsense", ['checkpoints/run/opt.json holds "norm": "nonsense", which --norm cannot take '
                                      "(--norm takes one of batch, instance"], id="norm_not_a_choice"),
    pytest.param("use_instance", "yes", ['checkpoints/run/opt.json holds "use_instance": "yes", which --use_instance '
                                         "cannot take (--use_instance is a switch: true or false)"],
                 id="switch_not_a_bool"),
]


@pytest.mark.parametrize(("key", "value", "fragments"), OPT_JSON_CASES)
def test_test_py_names_a_bad_value_of_opt_json(run_dir: Path, refused: Callable, key: str, value: object,
                                                 fragments: list[str]) -> None:
    damage_opt_json(run_dir, key, value)
    line = refused(lambda: test_py_script.main(inference_args("--use_real_img")), 1, *fragments,
                   f"correct it there (as the run was trained), or give --{key} on the command line")
    assert "usage:" not in line


@pytest.mark.parametrize(("key", "value", "fragments"), OPT_JSON_CASES[:2])
def test_continue_train_names_a_bad_value_of_opt_json(run_dir: Path, refused: Callable, key: str, value: object,
                                                        fragments: list[str]) -> None:
    damage_opt_json(run_dir, key, value)
    refused(lambda: train.main(train_args("--continue_train", name="run")), 1, *fragments)


def test_test_py_names_opt_json_for_a_value_the_option_check_refuses(run_dir: Path, refused: Callable) -> None:
    """A value of the right type that the option check refuses (--ngf -3): its line, and where the value came from."""
    damage_opt_json(run_dir, "ngf", -3)
    refused(lambda: test_py_script.main(inference_args("--use_real_img")), 1, "error: --ngf must be >= 1, got -3: "
            'the value comes from checkpoints/run/opt.json ("ngf": -3); correct it there, or give --ngf on the command '
            "line")


# ---------------------------------------------------------------------------------------------- datasets
POSE_JSON = "pose/train_openpose/seq0/frame0002_keypoints.json"


@pytest.mark.parametrize(("text", "fragments"), [
    pytest.param("NaN", ["holds NaN at position 3 (point 1, x), not a finite number"], id="nan"),
    pytest.param('"abc"', ['holds "abc" at position 3 (point 1, x), not a finite number'], id="string"),
])
def test_pose_keypoints_that_are_not_numbers_name_the_json(work: Path, refused: Callable, text: str,
                                                           fragments: list[str]) -> None:
    write_pose_dataset(work / "pose")
    path = work / POSE_JSON
    content = json.loads(path.read_text())
    body = content["people"][0]["pose_keypoints_2d"]
    body[3] = "VALUE"
    path.write_text(json.dumps(content).replace('"VALUE"', text))
    line = refused(lambda: train.main(["--name", "pose_run", "--dataroot", "pose", *POSE_FLAGS]), 1,
                   f"error: OpenPose keypoints {POSE_JSON}: pose_keypoints_2d", *fragments,
                   "fix or regenerate the file")
    assert ".png" not in line.split(";")[0]


def test_greyscale_real_frame_among_colour_ones(work: Path, refused: Callable) -> None:
    path = frame(work / "data", "B", 1, 4)
    Image.open(path).convert("L").save(path)
    refused(lambda: train.main(train_args()), 1, "error: real frame data/train_B/seq0001/seq0001_000004.png is "
            "greyscale but 23 real frame(s) of this split are colour (e.g. data/train_B/seq0000/seq0000_000000.png)",
            "replace it with the colour frame, or convert it to RGB")


# ---------------------------------------------------------------------------------------------- Ctrl-C
def run_as_script(relative_path: str, argv: list[str], capsys: pytest.CaptureFixture,
                  monkeypatch: pytest.MonkeyPatch) -> tuple[int | str | None, str]:
    """Run an entry point as ``python <path> <argv>`` does (its ``if __name__ == "__main__"`` part); returns the
    exit code and stderr."""
    monkeypatch.setattr(sys, "argv", [relative_path, *argv])
    monkeypatch.setattr(util.allocator, "keep_freed_memory", lambda: None)  # (not for the test process)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(REPO / relative_path), run_name="__main__")
    return exit_.value.code, capsys.readouterr().err


def interrupt_on_call(count: int, then: Callable | None = None) -> Callable:
    """A stand-in that raises KeyboardInterrupt (as a Ctrl-C would) on its ``count``-th call, and else calls
    ``then``."""
    calls = []

    def stand_in(*args: object, **kwargs: object) -> object:
        calls.append(args)
        if len(calls) == count:
            raise KeyboardInterrupt
        return then(*args, **kwargs) if then is not None else None

    return stand_in


def assert_interrupted(code: int | str | None, err: str, prog: str, outcome: str) -> None:
    assert code == INTERRUPTED, err[-3000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    lines = [line for line in err.replace("\r", "\n").splitlines() if "interrupted" in line or "error" in line]
    assert lines == [interrupted_line(prog, outcome)]


def test_ctrl_c_in_test_py_removes_the_partial_results(run_dir: Path, capsys: pytest.CaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ResultWriter, "add", interrupt_on_call(3, ResultWriter.add))
    before = snapshot(run_dir.parents[1])
    code, err = run_as_script("test.py", inference_args("--use_real_img"), capsys, monkeypatch)
    assert_interrupted(code, err, "test.py", "the partial results were removed (earlier results of this run stay "
                       "as they were)")
    assert snapshot(run_dir.parents[1]) == before  # no results/, no temporary folder


def test_ctrl_c_in_make_sample_dataset_leaves_no_folder(work: Path, capsys: pytest.CaptureFixture,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Interrupted while writing the third flow file of a dataroot two folders deep: neither the dataset nor
    the folders made for it remain."""
    monkeypatch.setattr(sample_video, "write_flo", interrupt_on_call(3, sample_video.write_flo))
    before = snapshot(work)
    code, err = run_as_script("scripts/make_sample_dataset.py", [
        "--dataroot", "new/deeper/sample", "--width", "64", "--height", "32", "--n_train_seqs", "1", "--n_test_seqs",
        "1", "--n_frames", "8"], capsys, monkeypatch)
    assert_interrupted(code, err, "make_sample_dataset", "nothing of the dataset was left in --dataroot (it is "
                       "written in full or not at all)")
    assert snapshot(work) == before


def test_ctrl_c_in_evaluate_leaves_no_evaluation(work: Path, capsys: pytest.CaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Interrupted while writing the page (after evaluation.json and the plots): no evaluation folder remains."""
    fake_results(work)
    monkeypatch.setattr(HTMLPage, "save", interrupt_on_call(1))
    before = snapshot(work)
    code, err = run_as_script("scripts/evaluate.py", EVALUATE, capsys, monkeypatch)
    assert_interrupted(code, err, "evaluate", "nothing was written (an earlier evaluation.json stays as it was)")
    assert snapshot(work) == before
