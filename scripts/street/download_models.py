"""The reference's name for downloading its label2city models: ``scripts/download_models.py --model label2city``.

    python scripts/street/download_models.py [--checkpoints_dir ./checkpoints] [--url MIRROR ...] [--sha256 HEX]

Fetches ``models.zip`` (Google Drive id 1MKtImgtnGC28EPU7Nh9DfFpHW6okNVkl; ``--url`` mirrors first): the model of
scripts/street/test_2048.sh (label2city_2048); the folders it fills are printed.
The zip is resumed if interrupted, its members are checked, it is unpacked into --checkpoints_dir and removed, and
every published model folder gets an opt.json so ``test.py --name <folder>`` needs no architecture flags. NVIDIA
published no size or SHA-256 for it: give ``--sha256`` to check one (a mismatching download is deleted). When
nothing can be reached, each source tried is listed on its own line, followed by where to put a zip fetched by hand.
See docs/DOWNLOADS.md.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, wherever this is run from
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split

from scripts import download_models  # noqa: E402
from util.cli import exit_on_interrupt  # noqa: E402
from util.download import INTERRUPTED_OUTCOME  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    return download_models.main(argv, model="label2city", prog="street/download_models", itemized=True)


if __name__ == "__main__":
    sys.exit(exit_on_interrupt(main, "street/download_models", INTERRUPTED_OUTCOME))
