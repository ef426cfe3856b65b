"""Device selection: --gpu_ids -1 is the CPU; the default falls back to the CPU without CUDA."""
import pytest
import torch

from options import TrainOptions
from util.device import select_device


def parse(*argv):
    return TrainOptions().parse(list(argv), save=False, verbose=False)


def test_cpu_flag():
    assert select_device(parse("--gpu_ids", "-1")) == torch.device("cpu")


def test_default_falls_back_with_one_notice(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device(parse()) == torch.device("cpu")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("notice: CUDA is not available")


def test_explicit_gpus_without_cuda_is_an_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="--gpu_ids 0,1 asks for GPUs but CUDA is not available; pass --gpu_ids -1"):
        select_device(parse("--gpu_ids", "0,1"))


def test_local_rank_picks_the_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert select_device(parse("--gpu_ids", "2,3")) == torch.device("cuda", 3)
