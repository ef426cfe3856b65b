"""bench/compare_reference.py's comparison harness without an NVIDIA checkout: our code on both sides (--self_check)
must give equal frames and a speed ratio near 1, in the table the real comparison prints."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_self_check_equal_frames_and_ratio_near_one(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    result = subprocess.run([sys.executable, "bench/compare_reference.py", "--self_check", "--configs",
                             "label2city_1024_g1", "--sizes", "128x64", "--flags", "--ngf 8 --n_blocks 2",
                             "--repeats", "2", "--threads", "1", "--json", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| label2city_1024_g1 | 128x64 | inference |" in result.stdout and "| ok |" in result.stdout
    row = json.loads(out.read_text())["rows"][0]
    assert row["max_abs_diff"] == 0.0 and row["parity"] == "ok" and row["pairs"] == 2
    assert 0.5 < row["ratio"]["median"] < 2.0 and len(row["ratios"]) == 2  # same code: speed ratio near 1


def test_missing_checkout_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "bench/compare_reference.py", "--nvidia_dir", str(tmp_path / "none")],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert str(tmp_path / "none") in result.stderr
