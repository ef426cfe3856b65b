"""bench/compare_reference.py and its rooms in bench/reference/ without an NVIDIA checkout: the comparison core on
two of OUR tiny models with equal weights (in process and through its worker processes with --self_check), the
alternation schedule, the verdict and table, and the one-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench import compare_reference as cr
from bench.reference.our_side import our_options, write_ours
from bench.reference.parity import alternate, gradient_difference, summarize
from bench.reference.report import TABLE_HEADER, format_table
from bench.reference.session import CallResult, InProcessSession
from bench.reference.spec import CONFIGS, SIDES, frames_per_call, make_spec, parse_size
from bench.reference.worker import RUNNERS, to_channels_last

REPO = Path(__file__).resolve().parents[2]
TINY = "--ngf 8 --ndf 8 --n_blocks 2"


def tiny_spec(tmp_path: Path, config: str, size: str = "64x32") -> dict:
    """--no_vgg: a VGG19 (550 MB of random weights) per fresh training session would dominate the test's time."""
    args = cr.build_parser().parse_args(["--self_check", "--configs", config, "--sizes", size, "--flags", TINY,
                                         "--no_vgg"])
    return make_spec(args, config, parse_size(size), str(tmp_path))


def our_sessions(spec: dict) -> dict:
    """Both sides = our runner for the spec, each loading the same reference-format files."""
    runner = RUNNERS[("ours", spec["mode"])]
    return {side: (lambda: InProcessSession(runner(spec))) for side in SIDES}


@pytest.mark.parametrize(("config", "fresh"), [("label2city_1024_g1", False), ("label2city_256_g1", True)])
def test_core_on_two_of_our_models(tmp_path: Path, config: str, fresh: bool) -> None:
    spec = tiny_spec(tmp_path, config)
    write_ours(spec)
    repeats = 2 if fresh else 4
    record = alternate(our_sessions(spec), repeats=repeats, fresh=fresh)
    row = summarize(record, frames_per_call(spec), "fp32", 1e-4)
    assert row["max_abs_diff"] == 0.0 and row["parity"] == "ok"
    assert row["pairs"] == repeats and all(len(record[s]["seconds"]) == repeats for s in SIDES)
    assert 0.5 < row["ratio"]["median"] < 2.0  # same code on both sides
    if spec["mode"] == "training":
        assert record["ours"]["output"].shape == (1, 6, 3, 32, 64)  # the chunk of 6 generated frames
        assert row["loss_max_rel_diff"] == 0.0 and row["grad_max_rel_diff"] == 0.0
        assert {"G0", "D", "D_T0"} <= set(record["ours"]["grads"]) and "loss_G" in record["ours"]["losses"]
    else:
        assert record["ours"]["output"].shape == (1, 3, 32, 64) and row["grad_max_rel_diff"] is None
    row.update(config=config, frame="64x32", mode=spec["mode"], device="cpu")
    table = format_table([row], "settings").splitlines()
    assert table[2] == TABLE_HEADER and table[3].count("---") == TABLE_HEADER.count("|") - 1
    assert table[4].startswith(f"| {config} | 64x32 | {spec['mode']} | cpu | fp32 |") and "| ok |" in table[4]


class FakeSession:
    """Records calls: seconds 2.0 for ours, 1.0 for theirs; outputs differ by ``offset``."""

    log: list[str] = []
    alive: set[str] = set()

    def __init__(self, side: str, offset: float = 0.0) -> None:
        self.side, self.offset = side, offset
        FakeSession.log.append(f"start {side}")
        FakeSession.alive.add(side)
        assert len(FakeSession.alive) == 1 or not self.fresh_only

    fresh_only = False

    def call(self, keep_output: bool) -> CallResult:
        FakeSession.log.append(self.side)
        output = torch.zeros(1, 3, 2, 2) + (self.offset if self.side == "ours" else 0.0)
        return CallResult(2.0 if self.side == "ours" else 1.0, 0.5, output if keep_output else None)

    def close(self) -> None:
        FakeSession.alive.discard(self.side)


@pytest.mark.parametrize("fresh", [False, True])
def test_alternation_order_and_isolation(fresh: bool) -> None:
    FakeSession.log, FakeSession.alive, FakeSession.fresh_only = [], set(), fresh
    record = alternate({side: (lambda side=side: FakeSession(side)) for side in SIDES}, repeats=3, fresh=fresh)
    calls = [entry for entry in FakeSession.log if not entry.startswith("start")]
    if fresh:  # each timed call in its own session, warm-up first, never two alive
        assert calls == ["ours", "ours", "theirs", "theirs", "theirs", "theirs", "ours", "ours", "ours", "ours",
                         "theirs", "theirs"]
        assert FakeSession.log.count("start ours") == 3
    else:  # both warm up once, then ours, theirs | theirs, ours | ours, theirs
        assert calls == ["ours", "theirs", "ours", "theirs", "theirs", "ours", "ours", "theirs"]
    assert not FakeSession.alive
    row = summarize(record, 1, "fp32", 1e-4)
    assert row["ratio"] == {"median": 2.0, "min": 2.0, "max": 2.0} and row["ours"]["per_frame_s"]["median"] == 2.0


def test_verdict_fails_above_tolerance_and_only_for_fp32() -> None:
    FakeSession.fresh_only = False
    record = alternate({side: (lambda side=side: FakeSession(side, offset=1e-3)) for side in SIDES}, 1, False)
    assert summarize(record, 1, "fp32", 1e-4)["parity"] == "FAIL"
    assert summarize(record, 1, "fp32", 1e-2)["parity"] == "ok"
    assert summarize(record, 1, "bf16", 1e-4)["parity"].startswith("n/a")
    grads = {"G0": {"w": torch.tensor([1.0, -2.0])}}
    assert gradient_difference(grads, {"G0": {"w": torch.tensor([1.0, -2.5])}}) == pytest.approx(0.2)
    assert gradient_difference(grads, {"G0": {"v": torch.tensor([1.0, -2.0])}}) == float("inf")


def test_self_check_through_worker_processes(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    result = subprocess.run([sys.executable, "bench/compare_reference.py", "--self_check", "--configs",
                             "label2city_1024_g1", "--sizes", "128x64", "--flags", TINY, "--repeats", "2",
                             "--threads", "1", "--json", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| label2city_1024_g1 | 128x64 | inference |" in result.stdout and "| ok |" in result.stdout
    row = json.loads(out.read_text())["rows"][0]
    assert row["max_abs_diff"] == 0.0 and row["parity"] == "ok" and row["pairs"] == 2
    assert 0.5 < row["ratio"]["median"] < 2.0


def test_default_configs_fit_the_device() -> None:
    assert cr.default_configs("cpu") == "label2city_1024_g1"
    assert cr.default_configs("cuda").split(",") == list(CONFIGS)
    args = cr.build_parser().parse_args(["--self_check"])
    assert cr.check_args(args) == [("label2city_1024_g1", (1024, 512))]


@pytest.mark.parametrize("argv", [[], ["--nvidia_dir", "{tmp}/none"], ["--nvidia_dir", "{tmp}"],
                                  ["--self_check", "--sizes", "100x50"], ["--self_check", "--configs", "nope"]])
def test_bad_flags_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str]) -> None:
    code = cr.main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: ")
    if "--nvidia_dir" in argv:
        assert str(tmp_path) in err and "github.com/NVIDIA/vid2vid" in err


def test_channels_last_reaches_every_network_of_a_runner() -> None:
    class Trainer:
        def __init__(self) -> None:
            self.netD = torch.nn.Conv2d(3, 4, 3)

        def networks(self) -> dict:
            return {"D": self.netD}

    class Runner:
        def __init__(self) -> None:
            self.model = torch.nn.Conv2d(4, 8, 3)
            self.trainer = Trainer()

    runner = Runner()
    to_channels_last(runner)
    for weight in (runner.model.weight, runner.trainer.netD.weight):
        assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()


def test_nvidia_process_reads_weights_but_leaves_the_clashing_names_free(tmp_path: Path) -> None:
    """A worker for NVIDIA's code loads the entry point and reads weight files through our models/checkpoint.py, yet
    no module named models/options/util/data stays loaded (NVIDIA's packages of those names come later)."""
    torch.save({"weight": torch.ones(2)}, tmp_path / "net.pth")
    script = "\n".join([
        "import importlib.util, sys",
        f"spec = importlib.util.spec_from_file_location('entry', {str(REPO / 'bench' / 'compare_reference.py')!r})",
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))",
        "from bench.reference import shims",
        "assert not shims.clashing_modules(), shims.clashing_modules()",
        f"state = shims.read_weights({str(tmp_path / 'net.pth')!r}, 'test weights')",
        "assert not shims.clashing_modules(), shims.clashing_modules()",
        f"shims.read_weights({str(tmp_path / 'none.pth')!r}, 'test weights')",
    ])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 1 and "AssertionError" not in result.stderr, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1].startswith("FileNotFoundError: test weights not found at")


@pytest.mark.parametrize("no_vgg", [False, True])
def test_our_training_options_keep_the_vgg_loss_unless_no_vgg(tmp_path: Path, no_vgg: bool) -> None:
    """The Trainer ignores the VGG loss it is handed under --no_vgg: our options carry --no_vgg only when asked."""
    args = cr.build_parser().parse_args(["--self_check", "--configs", "label2city_256_g1", "--flags", TINY]
                                        + (["--no_vgg"] if no_vgg else []))
    spec = make_spec(args, "label2city_256_g1", (64, 32), str(tmp_path))
    assert our_options(spec, training=True).no_vgg == no_vgg
