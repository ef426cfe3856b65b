"""Bad inputs of a second trial (issue 25) around run folders, results folders and saved options: what a run or a
rerun may delete, and messages that name the file at fault. One test per row of docs/ERRORS.md, with
tests/test_bad_inputs.py's fixtures (`expect` lists every file and folder of the working folder before and after).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import tests.test_bad_inputs as bad_inputs
import train
from options import TrainOptions
from options.run_folder import RunFolder
from tests.test_bad_inputs import Expect, inference_args, test_py, train_args

pristine, trained, work, run_dir, expect = (bad_inputs.pristine, bad_inputs.trained, bad_inputs.work,
                                            bad_inputs.run_dir, bad_inputs.expect)


# ---------------------------------------------------------------------------------------------- --start_over
def test_start_over_removes_only_this_runs_files(work: Path) -> None:
    """--start_over of run ``exp`` must not delete the events of a nested run ``exp/run1`` nor a user's notes."""
    events = work / "runs" / "exp"
    (events / "run1").mkdir(parents=True)
    (events / "run1" / "events.out.tfevents.1.host").write_bytes(b"nested run")
    (events / "notes.txt").write_text("mine\n")
    (events / "events.out.tfevents.2.host").write_bytes(b"this run")
    (work / "checkpoints" / "exp").mkdir(parents=True)
    (work / "checkpoints" / "exp" / "latest_net_G0.pth").write_bytes(b"old")
    opt = TrainOptions().parse(train_args("--start_over", name="exp"), save=False, verbose=False)
    RunFolder(opt.checkpoints_dir, opt.name).clear()
    assert sorted(str(p.relative_to(work)) for p in work.rglob("*") if "data" not in p.parts) == [
        "checkpoints", "checkpoints/exp", "runs", "runs/exp", "runs/exp/notes.txt", "runs/exp/run1",
        "runs/exp/run1/events.out.tfevents.1.host"]


# ---------------------------------------------------------------------------------------------- results folders
def test_test_py_rerun_keeps_files_it_did_not_write(run_dir: Path, expect: Expect,
                                                    capsys: pytest.CaptureFixture) -> None:
    """A rerun replaces the results folder as a whole: files a user put there would go without a word."""
    assert test_py.main(inference_args("--use_real_img")) == 0
    capsys.readouterr()
    results = run_dir.parents[1] / "results" / "run" / "test_latest"
    (results / "notes.txt").write_text("mine\n")
    expect(lambda: test_py.main(inference_args("--use_real_img")), 1,
           "error: results/run/test_latest holds files test.py did not write (notes.txt); a rerun replaces the "
           "folder as a whole: move them away, or choose another --results_dir")


# ---------------------------------------------------------------------------------------------- saved options
@pytest.mark.parametrize("damage", ["folder", "empty_object", "list"])
def test_an_opt_json_that_is_no_options(run_dir: Path, expect: Expect, damage: str) -> None:
    """An opt.json that is a folder, ``{}`` or not an object was ignored silently (then a shape mismatch)."""
    path = run_dir / "opt.json"
    path.unlink()
    if damage == "folder":
        path.mkdir()
    else:
        path.write_text("{}" if damage == "empty_object" else "[1, 2]")
    expect(lambda: test_py.main(inference_args("--use_real_img")), 1, "error: checkpoints/run/opt.json ",
           "restore it from a copy")


# ---------------------------------------------------------------------------------------------- names
def test_a_name_that_is_a_file_names_the_flag(work: Path, expect: Expect) -> None:
    (work / "checkpoints").mkdir()
    (work / "checkpoints" / "n").write_text("a file\n")
    expect(lambda: train.main(train_args(name="n")), 1, "error: cannot write checkpoints/n", "--name n",
           "choose another --name")


def test_output_nc_other_than_3(work: Path, expect: Expect) -> None:
    expect(lambda: train.main(train_args("--output_nc", "2")), 2,
           "error: --output_nc 2: the real frames are read as RGB (3 channels)")


def test_results_record_damaged_is_named(work: Path, expect: Expect) -> None:
    results = bad_inputs.fake_results(work)
    (results / "results.json").write_text('{"dataroot": ')
    expect(lambda: bad_inputs.evaluate.main(["--results", "results/run/test_latest"]), 1,
           "evaluate: error: results/run/test_latest/results.json cannot be read", "pass --dataroot (and --phase)")


def test_evaluate_after_the_dataset_moved(work: Path, capsys: pytest.CaptureFixture) -> None:
    """The dataset test.py read is gone (moved): the --dataroot given is used, with a notice."""
    results = bad_inputs.fake_results(work)
    (results / "results.json").write_text(json.dumps({"dataroot": str(work / "gone"), "phase": "test"}))
    assert bad_inputs.evaluate.main(["--results", "results/run/test_latest", "--dataroot", "data"]) == 0
    assert f"notice: {work / 'gone'}, which test.py read, is gone; measuring against --dataroot data" in \
        capsys.readouterr().out


@pytest.mark.parametrize("folders", [("train_A",), ("train_A", "train_B", "train_inst")],
                         ids=["labels_of_a_sequence_gone", "a_whole_sequence_empty"])
def test_an_empty_sequence_folder(work: Path, expect: Expect, folders: tuple[str, ...]) -> None:
    """Empty in one split folder it was called 'no counterpart' though it exists; empty in all, skipped silently."""
    for folder in folders:
        target = work / "data" / folder / "seq0009"
        if folder == "train_A" and len(folders) == 1:
            target = work / "data" / folder / "seq0001"
            for frame in target.iterdir():
                frame.unlink()
        target.mkdir(exist_ok=True)
    first = "data/train_A/seq0001" if len(folders) == 1 else "data/train_A/seq0009"
    expect(lambda: train.main(train_args()), 1, f"error: {first} holds no files: a sequence folder without frames; "
           "remove it or put its frames back")


@pytest.mark.parametrize("kind", ["folder", "broken_link"])
def test_a_checkpoint_that_is_no_file(run_dir: Path, expect: Expect, kind: str) -> None:
    """It was 'not found (available --which_epoch values: 1, latest)': the very label it could not read."""
    path = run_dir / "latest_net_G0.pth"
    path.unlink()
    if kind == "folder":
        path.mkdir()
    else:
        path.symlink_to(run_dir / "gone.pth")
    what = "a folder" if kind == "folder" else "a link to nothing"
    expect(lambda: test_py.main(inference_args("--use_real_img")), 1,
           f"error: checkpoint checkpoints/run/latest_net_G0.pth is {what}, not a file; restore the file from a copy "
           "or choose another --which_epoch")
