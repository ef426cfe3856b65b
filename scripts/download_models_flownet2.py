"""The reference's other name for the FlowNet2 download: the same code as ``scripts/download_flownet2.py``.

    python scripts/download_models_flownet2.py [--out models/flownet2_pytorch/FlowNet2_checkpoint.pth.tar]
                                               [--url MIRROR ...] [--sha256 HEX]

Fetches NVIDIA's ``FlowNet2_checkpoint.pth.tar`` (Google Drive id 1E8re-b6csNuo-abg1vJKCDjCzlIam50F; ``--url``
mirrors first), resumes an interrupted download and loads the file strictly into FlowNet2. NVIDIA published no size
or SHA-256 for it: give ``--sha256`` to check one (a mismatching download is deleted). When nothing can be reached,
each source tried is listed on its own line, followed by where to put a file fetched by hand. See docs/DOWNLOADS.md.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split

from scripts import download_flownet2  # noqa: E402
from util.cli import exit_on_interrupt  # noqa: E402
from util.download import INTERRUPTED_OUTCOME  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    return download_flownet2.main(argv, prog="download_models_flownet2", itemized=True)


if __name__ == "__main__":
    sys.exit(exit_on_interrupt(main, "download_models_flownet2", INTERRUPTED_OUTCOME))
