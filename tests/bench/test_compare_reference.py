"""bench/compare_reference.py without an NVIDIA checkout: its comparison core on two of OUR tiny models with equal
weights (in process and through its worker processes with --self_check), the alternation schedule, the verdict
and table, and the one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench import compare_reference as cr

REPO = Path(__file__).resolve().parents[2]
TINY = "--ngf 8 --ndf 8 --n_blocks 2"


def tiny_spec(tmp_path: Path, config: str, size: str = "64x32") -> dict:
    """--no_vgg: a VGG19 (550 MB of random weights) per fresh training session would dominate the test's time."""
    args = cr.build_parser().parse_args(["--self_check", "--configs", config, "--sizes", size, "--flags", TINY,
                                         "--no_vgg"])
    return cr.make_spec(args, config, cr.parse_size(size), str(tmp_path))


def our_sessions(spec: dict) -> dict:
    """Both sides = our runner for the spec, each loading the same reference-format files."""
    runner = cr.RUNNERS[("ours", spec["mode"])]
    return {side: (lambda: cr.InProcessSession(runner(spec))) for side in cr.SIDES}


@pytest.mark.parametrize(("config", "fresh"), [("label2city_1024_g1", False), ("label2city_256_g1", True)])
def test_core_on_two_of_our_models(tmp_path: Path, config: str, fresh: bool) -> None:
    spec = tiny_spec(tmp_path, config)
    cr.write_ours(spec)
    repeats = 2 if fresh else 4
    record = cr.alternate(our_sessions(spec), repeats=repeats, fresh=fresh)
    row = cr.summarize(record, cr.frames_per_call(spec), "fp32", 1e-4)
    assert row["max_abs_diff"] == 0.0 and row["parity"] == "ok"
    assert row["pairs"] == repeats and all(len(record[s]["seconds"]) == repeats for s in cr.SIDES)
    assert 0.5 < row["ratio"]["median"] < 2.0  # same code on both sides
    if spec["mode"] == "training":
        assert record["ours"]["output"].shape == (1, 6, 3, 32, 64)  # the chunk of 6 generated frames
        assert row["loss_max_rel_diff"] == 0.0 and row["grad_max_rel_diff"] == 0.0
        assert {"G0", "D", "D_T0"} <= set(record["ours"]["grads"]) and "loss_G" in record["ours"]["losses"]
    else:
        assert record["ours"]["output"].shape == (1, 3, 32, 64) and row["grad_max_rel_diff"] is None
    row.update(config=config, frame="64x32", mode=spec["mode"], device="cpu")
    table = cr.format_table([row], "settings").splitlines()
    assert table[2] == cr.TABLE_HEADER and table[3].count("---") == cr.TABLE_HEADER.count("|") - 1
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

    def call(self, keep_output: bool) -> cr.CallResult:
        FakeSession.log.append(self.side)
        output = torch.zeros(1, 3, 2, 2) + (self.offset if self.side == "ours" else 0.0)
        return cr.CallResult(2.0 if self.side == "ours" else 1.0, 0.5, output if keep_output else None)

    def close(self) -> None:
        FakeSession.alive.discard(self.side)


@pytest.mark.parametrize("fresh", [False, True])
def test_alternation_order_and_isolation(fresh: bool) -> None:
    FakeSession.log, FakeSession.alive, FakeSession.fresh_only = [], set(), fresh
    record = cr.alternate({side: (lambda side=side: FakeSession(side)) for side in cr.SIDES}, repeats=3, fresh=fresh)
    calls = [entry for entry in FakeSession.log if not entry.startswith("start")]
    if fresh:  # each timed call in its own session, warm-up first, never two alive
        assert calls == ["ours", "ours", "theirs", "theirs", "theirs", "theirs", "ours", "ours", "ours", "ours",
                         "theirs", "theirs"]
        assert FakeSession.log.count("start ours") == 3
    else:  # both warm up once, then ours, theirs | theirs, ours | ours, theirs
        assert calls == ["ours", "theirs", "ours", "theirs", "theirs", "ours", "ours", "theirs"]
    assert not FakeSession.alive
    row = cr.summarize(record, 1, "fp32", 1e-4)
    assert row["ratio"] == {"median": 2.0, "min": 2.0, "max": 2.0} and row["ours"]["per_frame_s"]["median"] == 2.0


def test_verdict_fails_above_tolerance_and_only_for_fp32() -> None:
    FakeSession.fresh_only = False
    record = cr.alternate({side: (lambda side=side: FakeSession(side, offset=1e-3)) for side in cr.SIDES}, 1, False)
    assert cr.summarize(record, 1, "fp32", 1e-4)["parity"] == "FAIL"
    assert cr.summarize(record, 1, "fp32", 1e-2)["parity"] == "ok"
    assert cr.summarize(record, 1, "bf16", 1e-4)["parity"].startswith("n/a")
    grads = {"G0": {"w": torch.tensor([1.0, -2.0])}}
    assert cr.gradient_difference(grads, {"G0": {"w": torch.tensor([1.0, -2.5])}}) == pytest.approx(0.2)
    assert cr.gradient_difference(grads, {"G0": {"v": torch.tensor([1.0, -2.0])}}) == float("inf")


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
    assert cr.default_configs("cuda").split(",") == list(cr.CONFIGS)
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
    cr.to_channels_last(runner)
    for weight in (runner.model.weight, runner.trainer.netD.weight):
        assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
