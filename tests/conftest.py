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
from browser_check import find_chromium  # noqa: E402
from http_file_server import FileServer  # noqa: E402

from tests.helpers import tiny_sample_dataset  # noqa: E402


@pytest.fixture(scope="module")
def dataroot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`tiny_sample_dataset`: 2 training and 1 test sequence of 8 frames, 64x32, written once per test module."""
    return tiny_sample_dataset(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of headless Chromium for the HTML-page tests. `make browser` installs it (`.ci/run` does); without it
    those tests fail rather than skip, so that a run without the browser check never looks complete."""
    path = find_chromium()
    if path is None:
        pytest.fail("no headless Chromium on PATH: run `make browser`", pytrace=False)
    return path


@pytest.fixture
def server() -> Iterator[FileServer]:
    """A local HTTP file server on 127.0.0.1 (tests/util/http_file_server.py) for the download tests."""
    file_server = FileServer()
    file_server.thread.start()
    yield file_server
    file_server.httpd.shutdown()
    file_server.httpd.server_close()


@pytest.fixture(autouse=True)
def grad_mode_stays_on() -> Iterator[None]:
    """A test that runs a script in-process must not leave autograd switched off for the tests after it (a script's
    ``torch.set_grad_enabled(False)`` once broke 40 later training tests): fail the test that does it."""
    yield
    if not torch.is_grad_enabled():
        torch.set_grad_enabled(True)
        pytest.fail("autograd was left disabled (use `with torch.no_grad():` in the code under test)")
