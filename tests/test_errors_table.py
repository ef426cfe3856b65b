"""docs/ERRORS.md is a table of tests: every row names a test that pytest collects, and the table stays at least as
long as issue 25 asked (90 rows). A row whose test was renamed or removed fails here instead of going stale."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MIN_ROWS = 90
TEST_NAME = re.compile(r"`((?:tests/[\w/]+\.py)(?:::\w+(?:\[[^\]`]+\])?)?|test_\w+(?:\[[^\]`]+\])?)`")


def error_rows() -> list[tuple[str, list[str]]]:
    """(the row's first cell, the test names of its last cell) for every row of the tables headed
    ``| input | …``."""
    rows, in_table = [], False
    for line in (REPO / "docs" / "ERRORS.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            in_table = False
        elif line.startswith("| input |"):
            in_table = True
        elif in_table and not line.startswith("| ---"):
            cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
            rows.append((cells[0], TEST_NAME.findall(cells[-1])))
    return rows


def collected(files: set[str]) -> set[str]:
    """Node ids pytest collects from ``files`` (``tests/x.py::test_y[id]``)."""
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                             *sorted(files)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {line.strip() for line in result.stdout.splitlines() if "::" in line}


def test_every_row_names_a_collected_test() -> None:
    rows = error_rows()
    assert len(rows) >= MIN_ROWS, f"docs/ERRORS.md has {len(rows)} rows"
    unnamed = [first for first, names in rows if not names]
    assert not unnamed, f"rows without a test: {unnamed}"
    bad_input_files = {str(p.relative_to(REPO)) for p in (REPO / "tests").glob("test_bad_inputs*.py")}
    named_files = {name.split("::")[0] for _, names in rows for name in names if name.startswith("tests/")}
    ids = collected(bad_input_files | named_files)
    missing = []
    for first, names in rows:
        for name in names:
            if name.startswith("tests/") and "::" not in name:
                found = any(node.startswith(f"{name}::") for node in ids)  # a whole file
            elif name.startswith("tests/"):
                found = name in ids or any(node.startswith(f"{name}[") for node in ids)
            else:  # a bare test name: one of the bad-input files
                found = any(node.split("::", 1)[1] == name or node.split("::", 1)[1].startswith(f"{name}[")
                            for node in ids if node.split("::")[0] in bad_input_files)
            if not found:
                missing.append(f"{first}: {name}")
    assert not missing, "rows naming tests pytest does not collect:\n" + "\n".join(missing)
