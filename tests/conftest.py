"""Shared test setup: single-process, two threads, deterministic."""
import os
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
