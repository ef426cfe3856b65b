"""Download NVIDIA's FlowNet2 checkpoint (flownet2-pytorch) and check that it loads strictly.

    python scripts/download_flownet2.py [--out models/flownet2_pytorch/FlowNet2_checkpoint.pth.tar]
                                        [--url MIRROR ...] [--sha256 HEX]

The file comes from the Google Drive share the reference vid2vid uses; ``--url`` mirrors are tried before it.
An interrupted download resumes on the next run. No official SHA-256 is published, so the file is only checked
against one when ``--sha256`` is given; it is always read as training reads it (``weights_only=True``, every key
and shape of FlowNet2, finite values) before it takes its name: a download failing a check is deleted, a file
found at --out that fails is moved to ``<name>.rejected``. ``scripts/download_models_flownet2.py`` (the
reference's other name for this step) runs the same code. See docs/DOWNLOADS.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split

import torch  # noqa: E402

from models.checkpoint import CheckpointError, check_finite, check_state_dict, read_checkpoint  # noqa: E402
from models.flow import DEFAULT_FLOWNET2_CHECKPOINT  # noqa: E402
from models.flownet2 import FlowNet2  # noqa: E402
from util.cli import exit_on_interrupt  # noqa: E402
from util.download import (  # noqa: E402
    INTERRUPTED_OUTCOME,
    DownloadError,
    VerificationError,
    download,
    failure_report,
    google_drive_page,
    google_drive_url,
    sha256_digest,
    write_failure,
)

FLOWNET2_DRIVE_ID = "1E8re-b6csNuo-abg1vJKCDjCzlIam50F"  # the share the reference vid2vid downloads from


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(DEFAULT_FLOWNET2_CHECKPOINT),
                        help="where the checkpoint goes (default: where --flownet_checkpoint looks by default)")
    parser.add_argument("--url", action="append", default=[], metavar="URL",
                        help="a mirror of FlowNet2_checkpoint.pth.tar, tried before Google Drive; repeatable")
    parser.add_argument("--sha256", type=sha256_digest, default=None, metavar="HEX",
                        help="expected SHA-256 of the file; no official digest is published, so without this "
                             "flag only the strict load checks the file")
    return parser


def check_flownet2(path: Path) -> int:
    """Parameters in NVIDIA's FlowNet2 checkpoint at ``path``; ValueError saying what is wrong when it is not one.

    The checks of `models.flow.load_flownet2` (``weights_only`` read, a dict with a ``state_dict`` matching
    FlowNet2 key for key and shape) plus finite values, on a network built on the meta device (no 650 MB copy);
    the messages speak of the file checked, not of the training flags the loader's own messages suggest."""
    not_it = "it is not NVIDIA's FlowNet2 checkpoint"
    try:
        container = read_checkpoint(path, "file", not_it)
        if not isinstance(container, dict) or not isinstance(container.get("state_dict"), dict):
            raise ValueError(f"file {path} holds no 'state_dict': {not_it}")
        with torch.device("meta"):
            network = FlowNet2()
        state = check_state_dict(network, container["state_dict"], str(path))
        check_finite(state, f"file {path}", f"{not_it} (a damaged copy)")
    except CheckpointError as error:
        raise ValueError(str(error)) from None
    return sum(value.numel() for value in state.values())


def by_hand_steps(out: Path) -> list[str]:
    """What to do when no source can be reached (the lines after the sources tried)."""
    return [f"by hand: on a machine with internet access, download {out.name} from "
            f"{google_drive_page(FLOWNET2_DRIVE_ID)} (or a mirror);",
            f"  put it at {out} and run this script again, which then only checks it (or keep it anywhere and "
            f"pass --flownet_checkpoint PATH to train.py)"]


def main(argv: list[str] | None = None, prog: str = "download_flownet2", itemized: bool = True) -> int:
    """Download and check the checkpoint; ``itemized`` reports a failed download over several lines (one per
    source tried, then the by-hand steps), as the reference-named entry scripts do, instead of one line."""
    args = build_parser(f"{prog}.py").parse_args(argv)
    out = Path(args.out)
    if out.is_file():
        print(f"{out} already exists; checking it")
    parameters: list[int] = []
    try:
        download([*args.url, google_drive_url(FLOWNET2_DRIVE_ID)], out, sha256=args.sha256,
                 verify=lambda path: parameters.append(check_flownet2(path)))
    except VerificationError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a full or read-only disk while writing the download or extracting it
        print(f"{prog}: error: {write_failure(error, '--out')}", file=sys.stderr)
        return 1
    except DownloadError as error:
        print(failure_report(prog, error, by_hand_steps(out)) if itemized else
              f"{prog}: error: {error}; the Google Drive link may be dead: pass --url with a mirror", file=sys.stderr)
        return 1
    print(f"FlowNet2 checkpoint ready at {out.resolve()} ({parameters[0] / 1e6:.1f} M parameters, strict load OK); "
          f"use --flow_net flownet2" + ("" if out.resolve() == DEFAULT_FLOWNET2_CHECKPOINT else
                                        f" --flownet_checkpoint {out}"))
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_interrupt(main, "download_flownet2", INTERRUPTED_OUTCOME))
