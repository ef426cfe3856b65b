"""train.py as a user runs it: checkpoints, training state, TensorBoard, HTML page; torchrun on CPU (gloo)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
TINY = ["--label_nc", "35", "--use_instance", "--fg", "--loadSize", "64", "--ngf", "8", "--ndf", "8",
        "--n_blocks", "2", "--n_downsample_G", "2", "--num_D", "1", "--no_vgg", "--flow_net", "dis",
        "--gpu_ids", "-1", "--nThreads", "0", "--n_frames_total", "4", "--max_frames_per_gpu", "2"]


def run(cwd, *args, launcher=(sys.executable,), env_extra=None):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO), **(env_extra or {}))
    return subprocess.run([*launcher, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_train_writes_checkpoints_tensorboard_and_html(dataroot, tmp_path):
    result = run(tmp_path, str(REPO / "train.py"), "--name", "tiny", "--dataroot", str(dataroot), *TINY,
                 "--niter", "1", "--niter_decay", "1", "--print_freq", "1", "--display_freq", "2",
                 "--save_latest_freq", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / "checkpoints" / "tiny"
    for epoch in ("latest", "1", "2"):
        for label in ("G0", "D", "D_T0", "D_T1"):
            state = torch.load(run_dir / f"{epoch}_net_{label}.pth", weights_only=True)
            assert isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
    state = torch.load(run_dir / "latest_training_state.pth", weights_only=True)
    assert (state["epoch"], state["epoch_iter"], state["total_steps"]) == (3, 0, 4)
    assert set(state["optimizers"]) == {"G", "D", "D_T0", "D_T1"} and state["options"]["name"] == "tiny"
    assert not list(run_dir.glob("*.tmp")) and not list(run_dir.glob(".tmp_*"))
    assert (run_dir / "iter.txt").read_text().strip() == "3,0"
    log = (run_dir / "loss_log.txt").read_text()
    assert len(re.findall(r"\[epoch \d+, item \d+, [\d.]+ s/seq\] .*loss_G=", log)) == 4

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "runs" / "tiny"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    scalars = events.Tags()["scalars"]
    for tag in ("loss/G_GAN", "loss/D_real", "loss/G_T_GAN0", "loss/F_Flow", "loss/loss_G", "lr/G", "lr/D_T0",
                "speed/frames_per_s"):
        assert tag in scalars, tag
    assert [e.step for e in events.Scalars("loss/loss_G")] == [1, 2, 3, 4]
    images = events.Tags()["images"]
    for name in ("input_image", "fake_image", "fake_raw_image", "flow", "flow_ref", "weight", "real_image"):
        assert f"images/{name}" in images, name
    assert events.Images("images/fake_image")[0].width == 64

    page = (run_dir / "web" / "index.html").read_text()
    sources = re.findall(r'<img[^>]*src="([^"]+)"', page)
    assert len(sources) >= 2 * 9 and "epoch 2" in page and "epoch 1" in page
    for source in sources:
        assert (run_dir / "web" / source).is_file(), source


def test_bad_start_fails_cleanly(dataroot, tmp_path):
    result = run(tmp_path, str(REPO / "train.py"), "--name", "bad", "--dataroot", str(tmp_path / "missing"), *TINY)
    assert result.returncode == 1 and "error:" in result.stderr
    result = run(tmp_path, str(REPO / "train.py"), "--name", "bad", "--dataroot", str(dataroot), *TINY, "--fp16")
    assert result.returncode == 1 and "--bf16" in result.stderr


CHECKSUM_SCRIPT = """
import os, sys, torch
import train
trainers = []
class Recorded(train.Trainer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        trainers.append(self)
train.Trainer = Recorded
from options import TrainOptions
code = train.train(TrainOptions().parse(sys.argv[1:], save=False, verbose=False))
values = [p.detach().double().sum().item() for net in trainers[0].networks().values() for p in net.parameters()]
with open(os.path.join(os.environ["CHECKSUM_DIR"], f"rank{os.environ['RANK']}.txt"), "w") as f:
    f.write(repr(values))
sys.exit(code)
"""


def test_torchrun_two_cpu_processes_keep_identical_parameters(dataroot, tmp_path):
    script = tmp_path / "train_and_checksum.py"
    script.write_text(CHECKSUM_SCRIPT)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    result = run(tmp_path, str(script), "--name", "ddp", "--dataroot", str(dataroot), *TINY, "--niter", "1",
                 "--niter_decay", "0", "--print_freq", "1", "--display_freq", "100", "--no_html",
                 launcher=torchrun, env_extra={"CHECKSUM_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    rank0, rank1 = (eval((tmp_path / f"rank{r}.txt").read_text()) for r in (0, 1))
    assert rank0 == rank1
    saved = torch.load(tmp_path / "checkpoints" / "ddp" / "1_net_G0.pth", weights_only=True)
    g0_sums = [value.double().sum().item() for key, value in saved.items() if "running" not in key
               and "num_batches" not in key]
    assert g0_sums == pytest.approx(rank0[: len(g0_sums)])  # rank 0 saved what both ranks hold
    # 2 sequences over 2 ranks: one step per epoch, both ranks trained on different clips
    log = (tmp_path / "checkpoints" / "ddp" / "loss_log.txt").read_text()
    assert "2 process(es)" in log and "item 2," in log
