"""Long runs survive: SIGTERM / Ctrl-C stop cleanly and resume exactly (also under a 2-process torchrun), a kill
in the middle of a checkpoint save resumes from the last complete one with the losses of an uninterrupted run,
non-finite updates are skipped, counted and stop the run after --max_bad_steps, and runs are not overwritten or
resumed with other networks by accident."""
from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import train

REPO = Path(__file__).resolve().parents[1]
TINY = ["--label_nc", "35", "--use_instance", "--fg", "--loadSize", "64", "--ngf", "8", "--ndf", "8",
        "--n_blocks", "2", "--n_downsample_G", "2", "--num_D", "1", "--no_vgg", "--flow_net", "dis",
        "--gpu_ids", "-1", "--nThreads", "0", "--n_frames_total", "4", "--max_frames_per_gpu", "2",
        "--print_freq", "1", "--display_freq", "1000", "--no_html", "--save_epoch_freq", "1000"]
LOSS_LINE = re.compile(r"\[epoch (\d+), item (\d+), [\d.]+ s/seq\] (.*)")


def error_lines(err: str) -> list[str]:
    """The error lines of stderr (besides progress bars); a clean failure has exactly one and no traceback."""
    assert "Traceback" not in err, err
    return [line for line in err.replace("\r", "\n").splitlines() if line.startswith("error")]


def env() -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))


def losses(run_dir: Path) -> dict[tuple[int, int], str]:
    """(epoch, item) -> the loss text of each logged step (the last line logged for it wins)."""
    found = {}
    for line in (run_dir / "loss_log.txt").read_text().splitlines():
        match = LOSS_LINE.fullmatch(line.strip())
        if match:
            found[(int(match.group(1)), int(match.group(2)))] = match.group(3)
    return found


def start(cwd: Path, *args: str, launcher: tuple[str, ...] = (sys.executable, str(REPO / "train.py"))):
    return subprocess.Popen([*launcher, *args], cwd=cwd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for_steps(run_dir: Path, n: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (run_dir / "loss_log.txt").is_file() and len(losses(run_dir)) >= n:
            return
        if process.poll() is not None:
            raise AssertionError(f"training ended early: {process.stderr.read()[-2000:]}")
        time.sleep(0.05)
    raise AssertionError("training did not log in time")


@pytest.fixture(scope="module")
def uninterrupted(dataroot, tmp_path_factory) -> dict:
    """The losses of 3 epochs (6 items) in one go: what every interrupted-and-resumed run must reproduce."""
    cwd = tmp_path_factory.mktemp("straight")
    run = subprocess.run([sys.executable, str(REPO / "train.py"), "--name", "r", "--dataroot", str(dataroot), *TINY,
                          "--niter", "3", "--niter_decay", "0"], cwd=cwd, env=env(), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    found = losses(cwd / "checkpoints" / "r")
    assert len(found) == 6
    return found


@pytest.mark.parametrize(("number", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_signal_stops_after_the_step_saves_and_resumes_exactly(dataroot, uninterrupted, tmp_path, number, code):
    args = ["--name", "r", "--dataroot", str(dataroot), *TINY, "--niter", "3", "--niter_decay", "0"]
    run_dir = tmp_path / "checkpoints" / "r"
    process = start(tmp_path, *args)
    wait_for_steps(run_dir, 1, process)
    process.send_signal(number)
    out, err = process.communicate(timeout=120)
    assert process.returncode == code, err[-2000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert f"{signal.Signals(number).name}: finishing this step" in err
    log = (run_dir / "loss_log.txt").read_text()
    assert "saved 'latest'; resume with the same command and --continue_train" in log
    state = torch.load(run_dir / "latest_training_state.pth", weights_only=True)
    done = len(losses(run_dir))
    assert state["total_steps"] == done and 1 <= done < 6
    resumed = subprocess.run([sys.executable, str(REPO / "train.py"), *args, "--continue_train"], cwd=tmp_path,
                             env=env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert losses(run_dir) == uninterrupted


def test_sigterm_to_one_torchrun_rank_stops_both_at_the_same_step(dataroot, tmp_path):
    torchrun = (sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                str(REPO / "train.py"))
    args = ["--name", "d", "--dataroot", str(dataroot), *TINY, "--niter", "50", "--niter_decay", "0"]
    run_dir = tmp_path / "checkpoints" / "d"
    process = start(tmp_path, *args, launcher=torchrun)
    wait_for_steps(run_dir, 1, process, timeout=180)
    workers = subprocess.run(["pgrep", "-f", f"train.py --name d --dataroot {dataroot}"], capture_output=True,
                             text=True).stdout.split()
    ranks = [int(pid) for pid in workers if int(pid) != process.pid]
    assert len(ranks) == 2, workers
    os.kill(max(ranks), signal.SIGTERM)  # one rank only, as a scheduler might deliver it
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err[-3000:]
    state = torch.load(run_dir / "latest_training_state.pth", weights_only=True)
    assert state["total_steps"] == 2 * len(losses(run_dir))  # 2 items per step, every step logged: same stop
    resumed = subprocess.run([*torchrun, *args[:-4], "--niter", str(state["epoch"] + 1), "--niter_decay", "0",
                              "--save_epoch_freq", "1", "--continue_train"], cwd=tmp_path, env=env(),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert torch.load(run_dir / "latest_training_state.pth", weights_only=True)["total_steps"] > state["total_steps"]


KILL_IN_SAVE = """
import os, signal, sys
import options.run_folder as run_folder
import train
calls = []
original = run_folder.write_atomically
def dying(path, write):
    if str(path).endswith("latest_training_state.pth"):
        calls.append(path)
        if len(calls) == int(os.environ["KILL_AT_SAVE"]):
            from pathlib import Path
            path = Path(path)  # the new state on disk under its temporary name, not yet renamed
            write(str(path.with_name(f".partial-{os.getpid()}-{path.name}")))
            os.kill(os.getpid(), signal.SIGKILL)
    return original(path, write)
run_folder.write_atomically = dying
sys.exit(train.main(sys.argv[1:]))
"""


def test_kill_during_a_checkpoint_save_resumes_with_the_uninterrupted_losses(dataroot, uninterrupted, tmp_path):
    script = tmp_path / "kill_in_save.py"
    script.write_text(KILL_IN_SAVE)
    args = ["--name", "r", "--dataroot", str(dataroot), *TINY, "--niter", "3", "--niter_decay", "0",
            "--save_latest_freq", "2"]
    run_dir = tmp_path / "checkpoints" / "r"
    killed = subprocess.run([sys.executable, str(script), *args], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env=dict(env(), KILL_AT_SAVE="2"))
    assert killed.returncode == -signal.SIGKILL
    state = torch.load(run_dir / "latest_training_state.pth", weights_only=True)
    assert state["total_steps"] == 2  # the first save is complete; the second never landed
    # the networks on disk are already those of item 4: test.py sees that they are not the last complete save
    test_cmd = [sys.executable, str(REPO / "test.py"), "--name", "r", "--dataroot", str(dataroot), "--gpu_ids", "-1",
                "--use_real_img", "--nThreads", "0"]
    mixed = subprocess.run(test_cmd, cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=300)
    assert mixed.returncode == 1 and "not the file of the last complete save" in mixed.stderr, mixed.stderr[-2000:]
    resumed = subprocess.run([sys.executable, str(REPO / "train.py"), *args, "--continue_train"], cwd=tmp_path,
                             env=env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert losses(run_dir) == uninterrupted
    assert not list(run_dir.glob("*.partial*")) and not list(run_dir.glob(".partial*"))  # leftovers removed
    assert subprocess.run(test_cmd, cwd=tmp_path, env=env(), capture_output=True, timeout=300).returncode == 0


def test_non_finite_updates_are_skipped_counted_and_stop_the_run(dataroot, tmp_path, monkeypatch, capsys):
    from models.discriminator_model import DiscriminatorModel

    monkeypatch.chdir(tmp_path)
    args = ["--name", "n", "--dataroot", str(dataroot), *TINY, "--niter", "5", "--niter_decay", "0",
            "--max_bad_steps", "3", "--save_latest_freq", "2"]
    original = DiscriminatorModel.image_losses
    calls = []

    def poisoned(self, *a, **k):
        out = original(self, *a, **k)
        calls.append(1)
        if len(calls) > 4:  # chunks 1-4 (items 1-2) are fine, every later one has a NaN loss
            out["G_GAN"] = out["G_GAN"] * float("nan")
        return out

    monkeypatch.setattr(DiscriminatorModel, "image_losses", poisoned)
    snapshot = {}

    real_save = train.save_state

    def remember(trainer, opt, label, position, n_frames):
        real_save(trainer, opt, label, position, n_frames)
        snapshot["G0"] = (tmp_path / "checkpoints" / "n" / "latest_net_G0.pth").read_bytes()

    monkeypatch.setattr(train, "save_state", remember)
    assert train.main(args) == 1
    err = capsys.readouterr().err
    assert "3 updates in a row had non-finite losses" in err and "--max_bad_steps 3" in err
    run_dir = tmp_path / "checkpoints" / "n"
    log = (run_dir / "loss_log.txt").read_text()
    assert log.count("skipped an update with non-finite values (G_GAN=nan") == 3
    assert (run_dir / "latest_net_G0.pth").read_bytes() == snapshot["G0"]  # the last good save is untouched
    assert torch.load(run_dir / "latest_training_state.pth", weights_only=True)["total_steps"] == 2
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "runs" / "n"))
    events.Reload()
    assert [e.value for e in events.Scalars("train/skipped_steps")] == [1, 2, 3]


def test_a_skipped_update_changes_no_weight_and_no_optimizer_state(dataroot, tmp_path, monkeypatch):
    from models.trainer import Trainer
    from options import TrainOptions

    monkeypatch.chdir(tmp_path)
    opt = TrainOptions().parse_cli(["--name", "x", "--dataroot", str(dataroot), *TINY], save=False)
    trainer = Trainer(opt, torch.device("cpu"))
    trainer.set_epoch(1)
    from data import create_dataset

    clip = create_dataset(opt)[0].as_batch()
    assert trainer.train_item(clip).applied
    before = {k: v.clone() for net in trainer.networks().values() for k, v in net.state_dict().items()}
    steps = {name: [s["step"].item() for s in o.state_dict()["state"].values()]
             for name, o in trainer.optimizers().items()}
    original = trainer.model_d.total_losses

    def infinite_g(image, temporal):
        totals = original(image, temporal)
        return {**totals, "loss_G": totals["loss_G"] * float("inf")}

    monkeypatch.setattr(trainer.model_d, "total_losses", infinite_g)
    assert not trainer.train_item(clip).applied
    after = {k: v for net in trainer.networks().values() for k, v in net.state_dict().items()}
    for key, value in before.items():
        if "running" not in key and "num_batches" not in key:  # (BatchNorm statistics move in any forward)
            assert torch.equal(value, after[key]), key
    assert steps == {name: [s["step"].item() for s in o.state_dict()["state"].values()]
                     for name, o in trainer.optimizers().items()}


def test_runs_are_not_overwritten_or_resumed_with_other_networks(dataroot, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["--name", "p", "--dataroot", str(dataroot), *TINY, "--niter", "1", "--niter_decay", "0",
            "--save_epoch_freq", "1"]
    assert train.main(args) == 0
    run_dir = tmp_path / "checkpoints" / "p"
    files = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir() if p.is_file()}
    assert train.main(args) == 1
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--continue_train" in err and "--start_over" in err
    assert files == {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir() if p.is_file()}
    wrong = [*args, "--continue_train", "--ngf", "16"]
    assert train.main(wrong) == 1
    err = capsys.readouterr().err
    assert len(error_lines(err)) == 1 and "--ngf 16 (the run has 8)" in err
    assert files == {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir() if p.is_file()}  # opt.json kept
    assert train.main([*args[:-2], "--save_epoch_freq", "1000", "--start_over"]) == 0
    assert not (run_dir / "1_net_G0.pth").exists()  # the old run's epoch files went with --start_over


def test_file_system_faults_are_one_line(dataroot, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["--name", "f", "--dataroot", str(dataroot), *TINY, "--niter", "1", "--niter_decay", "0",
            "--save_latest_freq", "1"]
    import options.run_folder as run_folder

    def read_only(path, *a, **k):
        raise PermissionError(errno.EROFS, "Read-only file system", str(path))

    with monkeypatch.context() as patch:
        patch.setattr(run_folder.os, "makedirs", read_only)
        assert train.main(args) == 1
    err = capsys.readouterr().err
    assert len(error_lines(err)) == 1 and "Read-only file system" in err and "--checkpoints_dir" in err
    assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "runs").exists()

    import models.checkpoint as checkpoint

    def full_disk(obj, path, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(checkpoint.torch, "save", full_disk)
    assert train.main(args) == 1
    err = capsys.readouterr().err
    assert len(error_lines(err)) == 1 and "no space left" in err and "MiB free" in err and "--continue_train" in err
    assert not [p for p in (tmp_path / "checkpoints" / "f").iterdir() if p.suffix == ".pth" or "partial" in p.name]


def test_stop_signal_restarts_a_system_call_in_another_thread():
    """A SIGTERM landing in a thread that sits in a raw read (as a collective's receive does) must not make that
    read fail with EINTR: StopSignals installs its handlers with SA_RESTART."""
    import ctypes
    import threading

    libc = ctypes.CDLL(None, use_errno=True)
    read_end, write_end = os.pipe()
    outcome: dict[str, int] = {}
    started = threading.Event()

    def reader() -> None:
        buffer = ctypes.create_string_buffer(1)
        started.set()
        outcome["rv"] = libc.read(read_end, buffer, 1)
        outcome["errno"] = ctypes.get_errno()

    with train.StopSignals(train.DistributedContext(), torch.device("cpu")) as signals:
        thread = threading.Thread(target=reader)
        thread.start()
        started.wait()
        time.sleep(0.2)  # the thread is now blocked in read(2)
        signal.pthread_kill(thread.ident, signal.SIGTERM)
        time.sleep(0.2)
        os.write(write_end, b"x")
        thread.join(5)
        assert signals.received == signal.SIGTERM
    os.close(read_end)
    os.close(write_end)
    assert outcome == {"rv": 1, "errno": 0}, outcome  # without SA_RESTART: rv -1, errno EINTR


def test_leaving_the_process_group_waits_until_the_last_collective_lets_go(monkeypatch, capsys):
    """leave_process_group holds the process (sleeping, so without the GIL) until the worker thread of its last
    collective has dropped the tensor, and only then destroys the group; a rank that left first is a warning."""
    import threading

    held: list[torch.Tensor] = []
    events: list[tuple[str, int]] = []

    def all_reduce(tensor: torch.Tensor) -> None:  # a collective whose worker keeps the tensor 0.3 s after returning
        held.append(tensor)
        threading.Timer(0.3, held.clear).start()

    monkeypatch.setattr(train.dist, "all_reduce", all_reduce)
    monkeypatch.setattr(train.dist, "destroy_process_group", lambda: events.append(("destroy", len(held))))
    start_time = time.monotonic()
    train.leave_process_group(torch.device("cpu"), together=True)
    assert events == [("destroy", 0)] and time.monotonic() - start_time >= 0.29

    def left(tensor: torch.Tensor) -> None:
        raise RuntimeError("Connection closed by peer")

    monkeypatch.setattr(train.dist, "all_reduce", left)
    events.clear()
    train.leave_process_group(torch.device("cpu"), together=True)
    err = capsys.readouterr().err
    assert events == [("destroy", 0)] and "leaving without the other ranks (Connection closed" in err
    monkeypatch.setattr(train.dist, "all_reduce", lambda tensor: pytest.fail("no collective after a failed rank"))
    events.clear()
    train.leave_process_group(torch.device("cpu"), together=False)
    assert events == [("destroy", 0)]


LEAVE_RIGHT_AFTER_A_COLLECTIVE = """
import sys
sys.setswitchinterval(100.0)  # this thread keeps the GIL unless it blocks: the worst case for gloo's threads
import torch
import torch.distributed as dist
import train
dist.init_process_group("gloo", init_method=sys.argv[2], rank=int(sys.argv[1]), world_size=2)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 2))
flag = torch.ones(1)
dist.all_reduce(flag)
train.leave_process_group(torch.device("cpu"), together=True)
"""


def test_ranks_that_exit_right_after_a_collective_do_not_abort(tmp_path):
    """The CI abort ("terminate called without an active exception", SIGABRT): a gloo worker thread still held the
    last collective's tensor when the interpreter shut down. Without the wait in leave_process_group this script
    aborted in 3 of 10 pairs here; four pairs run."""
    script = tmp_path / "leave.py"
    script.write_text(LEAVE_RIGHT_AFTER_A_COLLECTIVE)
    for pair in range(4):
        store = f"file://{tmp_path / f'store{pair}'}"
        ranks = [subprocess.Popen([sys.executable, str(script), str(rank), store], env=env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for rank in (0, 1)]
        for rank in ranks:
            out, err = rank.communicate(timeout=120)
            assert rank.returncode == 0 and "terminate called" not in err, (pair, rank.returncode, err[-2000:])
