"""Download the reference vid2vid's small example datasets (datasets.zip) and unpack them into ./datasets.

    python scripts/download_datasets.py [--datasets_dir ./datasets] [--url MIRROR ...] [--sha256 HEX] [--merge]

The reference's own scripts/download_datasets.py fetched one zip from Google Drive (id
1rPcbnanuApZeo2uc7h55OneBkbcFCnnf) into datasets/ and unzipped it there; by the reference's README it holds its
example Cityscapes sequence and the face and pose examples (DensePose / OpenPose results included). Here the zip is
resumed if interrupted (``--url`` mirrors are tried first) and takes its name only once it is checked (a zip, intact,
no unsafe member); it is then unpacked (folders appear whole) and removed. A download failing a check is deleted, a
zip found in place that fails is moved to ``datasets.zip.rejected``.
Folders of the zip that already exist in --datasets_dir (for example the synthetic datasets/Cityscapes) are not
mixed with it unless ``--merge`` is given. NVIDIA published no size or SHA-256 for the zip: give ``--sha256`` to
check one (a mismatching download is deleted). When nothing can be reached, each source tried is listed on its own
line, then where to put a zip fetched by hand, and ``python scripts/make_sample_dataset.py`` as the offline
alternative. See docs/DOWNLOADS.md.
"""
from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path, PurePosixPath

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import util.interrupt_hook  # noqa: E402, F401 - first: a Ctrl-C while torch loads is one line, not a traceback

# isort: split

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

PROG = "download_datasets"
DATASETS_DRIVE_ID = "1rPcbnanuApZeo2uc7h55OneBkbcFCnnf"  # the share the reference's download_datasets.py used
ZIP_NAME = "datasets.zip"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"{PROG}.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets_dir", default="./datasets",
                        help="where the zip's dataset folders go (default: %(default)s, as the reference)")
    parser.add_argument("--url", action="append", default=[], metavar="URL",
                        help=f"a mirror of {ZIP_NAME}, tried before Google Drive; repeatable")
    parser.add_argument("--sha256", type=sha256_digest, default=None, metavar="HEX",
                        help="expected SHA-256 of the zip (NVIDIA published none, so nothing is checked without it)")
    parser.add_argument("--merge", action="store_true",
                        help="unpack into dataset folders that already exist (same-named files are replaced, the "
                             "others kept); without it such folders are left alone and nothing is unpacked")
    return parser


def by_hand_steps(archive: Path) -> list[str]:
    """What to do when no source can be reached (the lines after the sources tried)."""
    return [f"by hand: on a machine with internet access, download {ZIP_NAME} from "
            f"{google_drive_page(DATASETS_DRIVE_ID)} (or a mirror);",
            f"  put it at {archive} and run this script again: it unpacks the zip without contacting anything",
            "offline instead: python scripts/make_sample_dataset.py writes a synthetic street dataset "
            "(datasets/Cityscapes/, no face or pose examples) that train.py and test.py read the same way"]


def top_level_names(archive: Path) -> list[str]:
    """The first path component of every member, sorted (what unpacking will add to the datasets folder)."""
    try:
        with zipfile.ZipFile(archive) as zip_file:
            names = zip_file.namelist()
    except zipfile.BadZipFile as error:
        raise ValueError(f"{archive} is not a zip archive ({error}); delete it and download again") from error
    return sorted({PurePosixPath(name.replace("\\", "/")).parts[0] for name in names if name.strip("/")})


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    folder = Path(args.datasets_dir)
    archive = folder / ZIP_NAME
    found = archive.is_file()  # left by a run stopped before unpacking, or put there by hand: checked again
    try:
        download([*args.url, google_drive_url(DATASETS_DRIVE_ID)], archive, sha256=args.sha256, verify=check_zip)
        if found:
            print(f"{archive} was already here (a previous run stopped before unpacking it); it passed the checks")
        # A second copy of a sequence folder (say the synthetic sample and the real example) would be trained on
        # as one dataset without a word, so existing folders are only added to when asked.
        existing = [name for name in top_level_names(archive) if (folder / name).exists()]
        if existing and not args.merge:
            print(f"{PROG}: error: {', '.join(str(folder / name) for name in existing)} already exist(s); move "
                  f"them away and run again, or pass --merge to add the example's files to them ({archive} is "
                  f"kept, so no download is needed)", file=sys.stderr)
            return 1
        names = extract_zip(archive, folder)
    except VerificationError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a full or read-only disk while writing the download or extracting it
        print(f"{PROG}: error: {write_failure(error, '--datasets_dir')}", file=sys.stderr)
        return 1
    except DownloadError as error:
        print(failure_report(PROG, error, by_hand_steps(archive)), file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    archive.unlink()
    print(f"extracted {ZIP_NAME} into {folder}:")
    for name in names:
        print(f"  {folder / name}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_on_interrupt(main, PROG, INTERRUPTED_OUTCOME))
