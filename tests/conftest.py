"""Shared test setup: single-process, two threads, deterministic."""
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

# two threads, or fewer when OMP_NUM_THREADS says so (`OMP_NUM_THREADS=1 make test`)
os.environ.setdefault("OMP_NUM_THREADS", "2")
torch.set_num_threads(max(1, min(2, int(os.environ["OMP_NUM_THREADS"]))))

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO_ROOT / "tests" / "data" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """Folder of the reference manifests and vectors copied from ../shared (see ORIGIN.md there)."""
    return REFERENCE_DIR


sys.path.insert(0, str(REPO_ROOT / "tests" / "util"))
from browser_check import ensure_chromium  # noqa: E402
from http_file_server import FileServer  # noqa: E402


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of headless Chromium, installed from Debian's packages when absent (see browser_check.py)."""
    path = ensure_chromium()
    if path is None:
        pytest.skip("headless Chromium is not installed and `apt-get install chromium` is not possible here")
    return path


@pytest.fixture
def server() -> Iterator[FileServer]:
    """A local HTTP file server on 127.0.0.1 (tests/util/http_file_server.py) for the download tests."""
    file_server = FileServer()
    file_server.thread.start()
    yield file_server
    file_server.httpd.shutdown()
    file_server.httpd.server_close()
