"""Bad inputs of issue 25, items 2 and 3, one test per row of docs/ERRORS.md ("Non-finite weights", "Run names
and the training lock").

Non-finite weights are never saved nor used: a run whose weights turned NaN stops with one line and keeps its last
save (read back: finite), and every loader (test.py, `Synthesizer.from_run`, --load_pretrain, --continue_train)
refuses a file holding NaN. A run's names stay inside its folders (--name, --which_epoch, --single_G_name,
--phase), and one train.py at a time trains a run folder (`options/run_lock.py`).

The setup is tests/test_bad_inputs.py's (a tiny sample dataset in ``data/``, ``checkpoints/run`` trained for one
step); each case checks the exit code, the one error line and, by listing every file and folder of the working
folder before and after, that nothing new is left behind.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

import tests.test_bad_inputs as bad_inputs
import train
from models.checkpoint import CheckpointError, load_network, non_finite_keys
from models.discriminator_model import DiscriminatorModel
from options.run_folder import LOCK_FILE, RunFolder
from options.run_lock import RunLock, RunLockedError
from tests.test_bad_inputs import REPO, inference_args, snapshot, test_py, the_error_line, train_args

# the setup of tests/test_bad_inputs.py: the sample dataset, a run trained for one step, a working folder
pristine, trained, work, run_dir = bad_inputs.pristine, bad_inputs.trained, bad_inputs.work, bad_inputs.run_dir
refused = bad_inputs.expect  # the_error_line, and every file and folder of the working folder as it was

Action = Callable[[], int]


def poison(path: Path, network: str | None = None) -> str:
    """Put a NaN into the first floating-point tensor of a network file (or of ``network`` in a training state);
    returns the key."""
    saved = torch.load(path, weights_only=True)
    state = saved if network is None else saved["networks"][network]
    key = next(k for k, v in state.items() if v.is_floating_point())
    state[key] = state[key].clone()
    state[key].view(-1)[0] = float("nan")
    torch.save(saved, path)
    return key


def files_of_saves(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run.iterdir())
            if p.suffix == ".pth" or p.name.endswith("_checkpoint.json") or p.name == "iter.txt"}


# ---------------------------------------------------------------------------------------------- non-finite weights
def test_weights_turning_nan_are_not_saved(work: Path, capsys: pytest.CaptureFixture) -> None:
    """--lr 1e30 (finite, so the flag check passes) turns G's weights NaN in the first update; the end-of-epoch
    save refuses them: exit 1, one line naming G0, and no checkpoint file anywhere."""
    code = train.main(train_args("--lr", "1e30"))
    line = the_error_line(code, capsys.readouterr().err, 1, "error: the weights of G0 (NaN or inf in",
                          "became non-finite (found at the save after 3 training sequences) and were not saved",
                          "no checkpoint of this run was saved in checkpoints/new before", "Lower --lr")
    assert "\n" not in line
    saved = [p for p in work.rglob("*") if p.suffix == ".pth" or p.name.endswith("_checkpoint.json")
             or p.name in ("iter.txt", LOCK_FILE) or p.name.startswith(".partial")]
    assert saved == []  # (opt.json, loss_log.txt and runs/new were written when training started)


def test_weights_turning_nan_keep_the_last_finite_save(run_dir: Path, capsys: pytest.CaptureFixture) -> None:
    """The one-step run resumed with --lr 1e30: the save after the epoch is refused, 'latest' stays byte for
    byte, and the line says so because it was read back finite."""
    before = files_of_saves(run_dir)
    code = train.main(train_args("--continue_train", "--lr", "1e30", name="run"))
    the_error_line(code, capsys.readouterr().err, 1, "error: the weights of G0", "were not saved",
                   "the last finite checkpoint was kept: 'latest' in checkpoints/run (resuming at epoch 1, "
                   "iteration 1, checked finite)")
    assert files_of_saves(run_dir) == before
    assert not non_finite_keys(torch.load(run_dir / "latest_net_G0.pth", weights_only=True))
    assert not (run_dir / LOCK_FILE).exists()


@pytest.fixture
def nan_losses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every loss of D is NaN: every update is skipped."""
    original = DiscriminatorModel.image_losses

    def poisoned(self: DiscriminatorModel, *args: object, **kwargs: object) -> dict:
        losses = original(self, *args, **kwargs)
        losses["G_GAN"] = losses["G_GAN"] * float("nan")
        return losses

    monkeypatch.setattr(DiscriminatorModel, "image_losses", poisoned)


@pytest.mark.parametrize("latest_is_nan", [False, True], ids=["latest_finite", "latest_nan_too"])
def test_skipped_updates_stop_with_a_true_line_about_the_last_save(run_dir: Path, capsys: pytest.CaptureFixture,
                                                                   nan_losses: None, latest_is_nan: bool) -> None:
    """--max_bad_steps stops the run; the line about the last save is what the files hold: finite, or (a file
    of an older version, poisoned here while its training state stays finite) NaN too."""
    if latest_is_nan:
        poison(run_dir / "latest_net_G0.pth")
    code = train.main(train_args("--continue_train", "--max_bad_steps", "1", name="run"))
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "1 updates in a row had non-finite losses or gradients (--max_bad_steps 1); stopped without saving" in err
    if latest_is_nan:
        assert ("the last checkpoint in checkpoints/run holds non-finite weights too (checkpoints/run/"
                "latest_net_G0.pth): start over with --start_over") in err
        assert "is intact" not in err and "last finite checkpoint" not in err
    else:
        assert "the last finite checkpoint was kept: 'latest' in checkpoints/run (resuming at epoch 1" in err


def test_test_py_refuses_nan_weights(run_dir: Path, refused: bad_inputs.Expect) -> None:
    key = poison(run_dir / "latest_net_G0.pth")
    (run_dir / "latest_checkpoint.json").unlink()  # (a run saved by a version without the check had one that matched)
    refused(lambda: test_py.main(inference_args("--use_real_img")), 1,
            f"error: checkpoint checkpoints/run/latest_net_G0.pth (G0) holds non-finite weights (NaN or inf in 1 of "
            f"197 tensors: {key}), which compute NaN (black frames); it is refused",
            "use an earlier save (--which_epoch) or train again with a lower --lr")


def test_streaming_refuses_nan_weights(run_dir: Path) -> None:
    from models.streaming import Synthesizer

    poison(run_dir / "latest_net_G0.pth")
    (run_dir / "latest_checkpoint.json").unlink()
    with pytest.raises(CheckpointError, match=r"checkpoints/run/latest_net_G0.pth \(G0\) holds non-finite weights"):
        Synthesizer.from_run("run", checkpoints_dir="checkpoints", flags=["--use_real_img"])


def test_load_pretrain_refuses_nan_weights(run_dir: Path, refused: bad_inputs.Expect) -> None:
    poison(run_dir / "latest_net_G0.pth")
    refused(lambda: train.main(train_args("--load_pretrain", "checkpoints/run")), 1,
            "error: --load_pretrain checkpoint checkpoints/run/latest_net_G0.pth holds non-finite weights (NaN or inf "
            "in 1 of 197 tensors", "it is refused: re-save it, or point --load_pretrain at another run folder")


def test_continue_train_refuses_a_nan_training_state(run_dir: Path, refused: bad_inputs.Expect) -> None:
    poison(run_dir / "latest_training_state.pth", network="D")
    refused(lambda: train.main(train_args("--continue_train", name="run")), 1,
            "error: checkpoint checkpoints/run/latest_training_state.pth (D) holds non-finite weights (NaN or inf in "
            "1 of", "use an earlier save (--which_epoch)")


def test_a_buffer_holding_inf_is_refused_and_nothing_is_loaded(tmp_path: Path) -> None:
    network = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 1), torch.nn.BatchNorm2d(1))
    state = network.state_dict()
    state["1.running_var"] = torch.tensor([float("inf")])  # a norm statistic, not a parameter
    torch.save(state, tmp_path / "net.pth")
    with pytest.raises(CheckpointError, match=r"net.pth \(N\) holds non-finite weights \(NaN or inf in 1 of 7 "
                                              r"tensors: 1.running_var\)"):
        load_network(network, str(tmp_path / "net.pth"), "N")
    assert torch.equal(network[1].running_var, torch.ones(1))


@pytest.mark.parametrize("value", ["inf", "nan", "1e400"])
def test_non_finite_float_flags_are_refused(work: Path, refused: bad_inputs.Expect, value: str) -> None:
    refused(lambda: train.main(train_args("--lr", value)), 2,
            f"train.py: error: --lr must be a finite number, got {float(value)}")


# ---------------------------------------------------------------------------------------------- names
NAME_CASES = [
    pytest.param("", "--name '' is empty: it is a run's folder under --checkpoints_dir", id="empty"),
    pytest.param("../escaped", "--name '../escaped' has a '..' part, which leads out of its folder", id="dot_dot"),
    pytest.param("exp/../../escaped", "has a '..' part", id="dot_dot_inside"),
    pytest.param("ABSOLUTE", "is an absolute path", id="absolute"),
    pytest.param("exp//run1", "--name 'exp//run1' has an empty or '.' part (write it as 'exp/run1')",
                 id="empty_part"),
    pytest.param("exp/run1/", "has an empty or '.' part (write it as 'exp/run1')", id="trailing_slash"),
    pytest.param(".", "--name '.' names no folder", id="dot"),
]


@pytest.mark.parametrize(("name", "fragment"), NAME_CASES)
def test_train_py_names_outside_the_run_folders(work: Path, refused: bad_inputs.Expect, name: str,
                                                fragment: str) -> None:
    name = str(work / "elsewhere") if name == "ABSOLUTE" else name
    refused(lambda: train.main(train_args(name=name)), 2, "train.py: error: ", fragment,
            "use a plain or nested name (my_run, exp/run1) and choose where runs go with --checkpoints_dir")


TEST_PY_CASES = [
    pytest.param(["--which_epoch", "../gray/latest"], "--which_epoch '../gray/latest' has a '..' part",
                 id="which_epoch_dot_dot"),
    pytest.param(["--which_epoch", "gray/latest"], "--which_epoch 'gray/latest' contains '/': it is the label in "
                 "the file names <label>_net_*.pth of this run; give 'latest' or an epoch number",
                 id="which_epoch_slash"),
    pytest.param(["--which_epoch", ""], "--which_epoch '' is empty", id="which_epoch_empty"),
    pytest.param(["--single_G_name", "../single"], "--single_G_name '../single' has a '..' part",
                 id="single_G_name_dot_dot"),
    pytest.param(["--phase", "../test"], "--phase '../test' has a '..' part", id="phase_dot_dot"),
    pytest.param(["--name", "../run"], "--name '../run' has a '..' part", id="name_dot_dot"),
]


@pytest.mark.parametrize(("flags", "fragment"), TEST_PY_CASES)
def test_test_py_names_outside_the_run_folders(run_dir: Path, refused: bad_inputs.Expect, flags: list[str],
                                               fragment: str) -> None:
    (run_dir.parent / "gray").mkdir()  # another run the flag would have loaded
    refused(lambda: test_py.main([*inference_args("--use_real_img"), *flags]), 2, "error: ", fragment)


def test_nested_names_stay_allowed(work: Path) -> None:
    opt = train.TrainOptions().parse(train_args(name="exp/run1"), save=False, verbose=False)
    assert train.train(opt, max_steps=1) == 0
    assert (work / "checkpoints" / "exp" / "run1" / "latest_net_G0.pth").is_file()
    assert list((work / "runs" / "exp" / "run1").glob("events.out.tfevents.*"))
    assert not (work / "checkpoints" / "exp" / "run1" / LOCK_FILE).exists()


# ---------------------------------------------------------------------------------------------- the training lock
def write_lock(run: Path, pid: int) -> None:
    run.mkdir(parents=True, exist_ok=True)
    (run / LOCK_FILE).write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "since": "earlier"}))


def test_a_run_locked_by_a_running_process_is_refused(work: Path, refused: bad_inputs.Expect) -> None:
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        write_lock(work / "checkpoints" / "new", holder.pid)
        refused(lambda: train.main(train_args("--start_over")), 1,
                f"error: checkpoints/new is being trained by process {holder.pid} on {socket.gethostname()} (since "
                "earlier; lock checkpoints/new/train.lock): wait for it to finish or stop it, or choose another "
                "--name")
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_is_taken_over_with_a_notice(work: Path, capsys: pytest.CaptureFixture) -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # (reaped: its PID is free)
    write_lock(work / "checkpoints" / "new", ended.pid)
    opt = train.TrainOptions().parse(train_args(), save=False, verbose=False)
    assert train.train(opt, max_steps=1) == 0
    err = capsys.readouterr().err
    assert (f"notice: took over the stale lock checkpoints/new/train.lock: process {ended.pid} on "
            f"{socket.gethostname()} (training since earlier) is no longer running") in err
    assert (work / "checkpoints" / "new" / "latest_net_G0.pth").is_file()
    assert not (work / "checkpoints" / "new" / LOCK_FILE).exists()  # released at the end


def test_a_failed_start_releases_the_lock_and_its_folders(work: Path, refused: bad_inputs.Expect) -> None:
    refused(lambda: train.main(train_args("--continue_train", name="ghost")), 1, "no run in checkpoints/ghost")
    lock = RunLock(RunFolder("checkpoints", "again"))
    assert lock.acquire() is None and (work / "checkpoints" / "again" / LOCK_FILE).is_file()
    with pytest.raises(RunLockedError, match="is being trained by process"):
        RunLock(RunFolder("checkpoints", "again")).acquire()  # (this process counts as running)
    lock.release()
    assert not (work / "checkpoints").exists()  # made for the lock, removed with it


def test_a_second_abort_signal_releases_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    released, exits = [], []
    monkeypatch.setattr(os, "_exit", lambda code: exits.append(code))
    signals = train.StopSignals(train.DistributedContext(), torch.device("cpu"),
                                before_abort=lambda: released.append(1))
    signals.handle(signal.SIGINT, None)
    assert released == [] and exits == []
    signals.handle(signal.SIGINT, None)
    assert released == [1] and exits == [130]


def test_two_train_py_processes_on_one_run(dataroot: Path, tmp_path: Path) -> None:
    """A real second train.py on a run being trained: one line naming the first process, exit 1, nothing
    written; the first one then stops on SIGTERM, saves and releases the lock."""
    environment = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    args = [sys.executable, str(REPO / "train.py"), *train_args("--niter", "50", "--print_freq", "1", name="r")]
    args[args.index("data")] = str(dataroot)
    first = subprocess.Popen(args, cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    run = tmp_path / "checkpoints" / "r"
    try:
        deadline = time.time() + 120
        while not ((run / "loss_log.txt").is_file() and "[epoch 1, item 1" in (run / "loss_log.txt").read_text()):
            assert first.poll() is None and time.time() < deadline, first.communicate()[1][-2000:]
            time.sleep(0.1)
        first.send_signal(signal.SIGSTOP)  # (its files stay as they are while the second one runs)
        before = snapshot(tmp_path)
        second = subprocess.run(args, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120)
        the_error_line(second.returncode, second.stderr, 1, f"error: checkpoints/r is being trained by process "
                       f"{first.pid} on {socket.gethostname()}", "choose another --name")
        assert snapshot(tmp_path) == before
        first.send_signal(signal.SIGCONT)
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=120) == 0
    finally:
        first.kill()
        first.communicate()
    assert (run / "latest_training_state.pth").is_file() and not (run / LOCK_FILE).exists()
