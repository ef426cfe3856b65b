"""Download NVIDIA's published vid2vid models and unpack them into the checkpoints folder.

    python scripts/download_models.py --model label2city|label2city_g1|edge2face [--checkpoints_dir ./checkpoints]
                                      [--url MIRROR ...] [--sha256 HEX]

Each model is a zip on the Google Drive shares the reference vid2vid links to; ``--url`` mirrors of the same zip
are tried first. The zip is downloaded into --checkpoints_dir as ``<zip>.part`` (resumed if interrupted) and takes
its name only once verified: a zip, no unsafe member, every ``.pth`` a state_dict of finite weights (and the
``--sha256`` when given). A download failing a check is deleted; a zip found in place that fails is moved to
``<zip>.rejected``. The zip is then extracted (folders appear whole) and removed. No official SHA-256 is
published; pass ``--sha256`` to verify against a digest you trust. The reference's per-model names
(scripts/street/download_models.py, scripts/street/download_models_g1.py, scripts/face/download_models.py) run
this code with the model fixed. See docs/DOWNLOADS.md and docs/INFERENCE.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split

from models.checkpoint import CheckpointError, read_state_dict  # noqa: E402
from options import TestOptions  # noqa: E402
from options.run_folder import OPTIONS_JSON, RunFolder  # noqa: E402
from options.saved_run import PUBLISHED_RUN_FLAGS, published_run_options  # noqa: E402
from util.atomic import write_text_atomically  # noqa: E402
from util.cli import exit_on_interrupt  # noqa: E402
from util.download import (  # noqa: E402
    INTERRUPTED_OUTCOME,
    DownloadError,
    VerificationError,
    check_zip,
    download,
    extract_zip,
    failure_report,
    google_drive_page,
    google_drive_url,
    sha256_digest,
    write_failure,
)

# model -> (Google Drive file id, zip name), as published with the reference vid2vid
MODELS = {
    "label2city": ("1MKtImgtnGC28EPU7Nh9DfFpHW6okNVkl", "models.zip"),
    "label2city_g1": ("1QoE1p3QikxNVbbTBWWRDtIspg-RcLE8y", "models_g1.zip"),
    "edge2face": ("10LvNw-2lrh-6sPGkWbQDfHspkqz5AKxb", "models_face.zip"),
}


def build_parser(model: str | None = None, prog: str = "download_models.py") -> argparse.ArgumentParser:
    """The command line; with ``model`` given (the reference-named entry scripts) there is no --model flag."""
    description = __doc__.split("\n\n")[0]
    if model is not None:
        description = f"Download NVIDIA's published {model} models ({MODELS[model][1]}) into the checkpoints folder."
    parser = argparse.ArgumentParser(prog=prog, description=description)
    if model is None:
        parser.add_argument("--model", required=True, choices=sorted(MODELS), help="which published model zip")
    parser.add_argument("--checkpoints_dir", default="./checkpoints", help="where the model folders go")
    parser.add_argument("--url", action="append", default=[], metavar="URL",
                        help="a mirror of the model's zip, tried before Google Drive; repeatable")
    parser.add_argument("--sha256", type=sha256_digest, default=None, metavar="HEX",
                        help="expected SHA-256 of the zip (no official digest is published)")
    return parser


def check_model_zip(archive: Path) -> None:
    """ValueError unless ``archive`` is a safe, intact zip (`check_zip`) whose ``.pth`` members are state_dicts of
    finite weights, read as test.py reads them (each is extracted alone to a scratch folder next to the zip)."""
    check_zip(archive)
    with zipfile.ZipFile(archive) as zip_file, tempfile.TemporaryDirectory(prefix=".verify_",
                                                                           dir=archive.parent) as scratch:
        for member in zip_file.infolist():
            if not member.filename.endswith(".pth"):
                continue
            extracted = zip_file.extract(member, scratch)
            try:
                read_state_dict(extracted, "member", "not the published model")
            except CheckpointError as error:  # the scratch path means nothing to the user: name the member
                raise ValueError(str(error).replace(extracted, member.filename)) from None
            finally:
                os.remove(extracted)


def write_run_options(run_folder: RunFolder) -> bool:
    """Give a published model folder the opt.json our runs have, so ``test.py --name <folder>`` needs no
    architecture flags; the values are those of the reference's test script for that model. An existing file
    is kept."""
    if run_folder.name not in PUBLISHED_RUN_FLAGS or os.path.exists(run_folder.options_json):
        return False
    options = published_run_options(TestOptions(), run_folder.name)
    write_text_atomically(run_folder.options_json, json.dumps(options, indent=2) + "\n")
    return True


def by_hand_steps(model: str, archive: Path) -> list[str]:
    """What to do when no source can be reached (the lines after the sources tried)."""
    file_id, zip_name = MODELS[model]
    return [f"by hand: on a machine with internet access, download {zip_name} from {google_drive_page(file_id)} "
            f"(or a mirror);",
            f"  put it at {archive} and run this script again: it extracts the zip without contacting anything"]


def main(argv: list[str] | None = None, model: str | None = None, prog: str = "download_models",
         itemized: bool = True) -> int:
    """Download, check and unpack one model zip. ``model`` fixes the model (no --model flag); ``itemized``
    reports a failed download over several lines (one per source tried, then the by-hand steps) instead of one."""
    args = build_parser(model, f"{prog}.py").parse_args(argv)
    model = model or args.model
    file_id, zip_name = MODELS[model]
    checkpoints_dir = Path(args.checkpoints_dir)
    archive = checkpoints_dir / zip_name
    found = archive.is_file()  # left by a run stopped before extracting, or put there by hand: checked again
    try:
        download([*args.url, google_drive_url(file_id)], archive, sha256=args.sha256, verify=check_model_zip)
        if found:
            print(f"{archive} was already here (a previous run stopped before extracting it); it passed the checks")
        folders = extract_zip(archive, checkpoints_dir)
    except VerificationError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a full or read-only disk while writing the download or extracting it
        print(f"{prog}: error: {write_failure(error, '--checkpoints_dir')}", file=sys.stderr)
        return 1
    except DownloadError as error:
        print(failure_report(prog, error, by_hand_steps(model, archive)) if itemized else
              f"{prog}: error: {error}; the reference's Google Drive links may be dead: pass --url with "
              f"a mirror of {zip_name}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    archive.unlink()
    print(f"{model}: extracted {zip_name} into {checkpoints_dir}:")
    for folder in folders:
        run_folder = RunFolder(str(checkpoints_dir), folder)
        described = write_run_options(run_folder)
        print(f"  {run_folder}" + (f" (+ {OPTIONS_JSON}: python test.py --name {folder} needs no "
                                                  "architecture flags)" if described else ""))
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_interrupt(main, "download_models", INTERRUPTED_OUTCOME))
