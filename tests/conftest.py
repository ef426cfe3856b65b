"""Shared test setup: single-process, two threads, deterministic."""
import os
import sys
from pathlib import Path

import pytest
import torch

torch.set_num_threads(2)
os.environ.setdefault("OMP_NUM_THREADS", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO_ROOT / "tests" / "data" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """Folder of the reference manifests and vectors copied from ../shared (see ORIGIN.md there)."""
    return REFERENCE_DIR


sys.path.insert(0, str(REPO_ROOT / "tests" / "util"))
from browser_check import ensure_chromium  # noqa: E402


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of headless Chromium, installed from Debian's packages when absent (see browser_check.py)."""
    path = ensure_chromium()
    if path is None:
        pytest.skip("headless Chromium is not installed and `apt-get install chromium` is not possible here")
    return path
