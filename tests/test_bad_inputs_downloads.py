"""Bad downloads of issue 25, item 4, one test per row of docs/ERRORS.md ("Downloads (against a local server on
127.0.0.1)"): only verified files stay where loaders look.

A mirror (`FileServer`, tests/util/http_file_server.py) delivers the wrong bytes: a web page, a zip with an unsafe or
damaged member, a model zip whose weights are no checkpoint or hold NaN, a FlowNet2 file that is no checkpoint.
Each script is run twice: both runs download, check, refuse with one line and remove the download, so the second
never finds anything "already here" to use. A bad file found at the final name (put there by hand, or by an older
version) is checked before use and moved to ``<name>.rejected``. Ctrl-C ends every download script with exit 130
and one line, keeping only the resumable ``.part``, and never leaves a half-extracted folder. Every case lists each
file and folder of the working folder before and after (`snapshot` of tests/test_bad_inputs.py).
"""
from __future__ import annotations

import errno
import importlib
import io
import os
import runpy
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from http_file_server import FileServer, closed_port_url  # tests/util is on sys.path (tests/conftest.py)

import util.download
from tests.test_bad_inputs import REPO, snapshot, the_error_line
from util.cli import interrupted_line

WEB_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Google Drive - Quota exceeded</title></head>"
            b"<body>Too many users have viewed or downloaded this file recently.</body></html>")
REMOVED = "the download was removed, run again or try another mirror"


def torch_bytes(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zip_file:
        for name, data in members.items():
            if name.endswith("@link"):  # a symbolic link member (Unix mode in the high bits)
                member = zipfile.ZipInfo(name.removesuffix("@link"))
                member.external_attr = 0o120777 << 16
                zip_file.writestr(member, data)
            else:
                zip_file.writestr(name, data)
    return archive.getvalue()


def damaged(data: bytes, inside: bytes) -> bytes:
    """``data`` with one byte of ``inside`` (a stored member's content) flipped: the member's CRC-32 fails."""
    position = data.index(inside) + len(inside) // 2
    return data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1:]


WEIGHTS = torch_bytes({"conv.weight": torch.ones(2, 2)})
NAN_WEIGHTS = torch_bytes({"conv.weight": torch.tensor([[1.0, float("nan")]])})
FRAMES = b"0123456789abcdef" * 64


@dataclass(frozen=True)
class Script:
    """One download script as a user calls it: its module, the flags placing its file, the file's final name."""

    module: str
    flags: tuple[str, ...]
    final: str  # relative to the working folder

    @property
    def prog(self) -> str:
        return self.module.removeprefix("scripts.").replace(".", "/")

    @property
    def path(self) -> Path:
        return REPO / (self.module.replace(".", "/") + ".py")

    def main(self, *argv: str) -> int:
        return importlib.import_module(self.module).main([*self.flags, *argv])


MODELS = Script("scripts.download_models", ("--model", "label2city"), "checkpoints/models.zip")
DATASETS = Script("scripts.download_datasets", (), "datasets/datasets.zip")
FLOWNET2 = Script("scripts.download_flownet2", ("--out", "fn/FlowNet2_checkpoint.pth.tar"),
                  "fn/FlowNet2_checkpoint.pth.tar")
EVERY_SCRIPT = [MODELS, DATASETS, FLOWNET2,
                Script("scripts.download_models_flownet2", FLOWNET2.flags, FLOWNET2.final),
                Script("scripts.street.download_models", (), "checkpoints/models.zip"),
                Script("scripts.street.download_models_g1", (), "checkpoints/models_g1.zip"),
                Script("scripts.face.download_models", (), "checkpoints/models_face.zip")]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder; every Google Drive link points at a closed local port (never the internet)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(util.download, "google_drive_url", closed_port_url)  # scripts run afresh by runpy
    for module in ("scripts.download_datasets", "scripts.download_flownet2", "scripts.download_models"):
        monkeypatch.setattr(importlib.import_module(module), "google_drive_url", closed_port_url)
    return tmp_path


def run(action: Callable[[], int], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """Exit code (a SystemExit counts as its code), stdout, stderr."""
    capsys.readouterr()
    try:
        code = action()
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------------------------- downloaded twice
DOWNLOADED = {  # id: (script, bytes the mirror delivers, fragments of the line)
    "web_page_as_models_zip": (MODELS, WEB_PAGE, "download_models: error: models.zip: a web page ('Google Drive - "
                               "Quota exceeded'), not the file: the link leads to a page (dead, sign-in or quota "
                               "exceeded)"),
    "web_page_as_datasets_zip": (DATASETS, WEB_PAGE, "download_datasets: error: datasets.zip: a web page"),
    "models_zip_with_dotdot_member": (MODELS, zip_bytes({"label2city_2048/latest_net_G0.pth": WEIGHTS,
                                                         "../outside.pth": WEIGHTS}),
                                      "models.zip: refusing member '../outside.pth' ('..' component), which could "
                                      "write outside the folder it is extracted into"),
    "datasets_zip_with_dotdot_member": (DATASETS, zip_bytes({"../../etc/cron.d/job": b"x"}),
                                        "datasets.zip: refusing member '../../etc/cron.d/job' ('..' component)"),
    "datasets_zip_with_absolute_member": (DATASETS, zip_bytes({"/tmp/evil.png": b"x"}),
                                          "datasets.zip: refusing member '/tmp/evil.png' (absolute path)"),
    "datasets_zip_with_symlink_member": (DATASETS, zip_bytes({"face/link@link": b"/etc/passwd"}),
                                         "datasets.zip: refusing member 'face/link' (symbolic link)"),
    "damaged_datasets_zip": (DATASETS, damaged(zip_bytes({"face/frames.bin": FRAMES}), FRAMES),
                             "datasets.zip: a damaged zip archive (member 'face/frames.bin' fails its CRC-32 check)"),
    "models_zip_weights_not_a_checkpoint": (MODELS, zip_bytes({"label2city_2048/latest_net_G0.pth": b"weights"}),
                                            "models.zip: member label2city_2048/latest_net_G0.pth is not a PyTorch "
                                            "checkpoint (unreadable pickle): not the published model"),
    "models_zip_weights_with_nan": (MODELS, zip_bytes({"label2city_2048/latest_net_G0.pth": NAN_WEIGHTS}),
                                    "models.zip: member label2city_2048/latest_net_G0.pth holds non-finite weights "
                                    "(NaN or inf in 1 of 1 tensors: conv.weight)"),
    "flownet2_not_a_checkpoint": (FLOWNET2, b"\x00\x01 these bytes are no checkpoint",
                                  "download_flownet2: error: FlowNet2_checkpoint.pth.tar: file "
                                  "fn/FlowNet2_checkpoint.pth.tar.part is not a PyTorch checkpoint (unreadable "
                                  "pickle): it is not NVIDIA's FlowNet2 checkpoint"),
    "flownet2_web_page": (EVERY_SCRIPT[3], WEB_PAGE, "download_models_flownet2: error: FlowNet2_checkpoint.pth.tar: "
                          "a web page ('Google Drive - Quota exceeded'), not the file"),
    "flownet2_checkpoint_of_another_network": (FLOWNET2, torch_bytes({"state_dict": {"conv1.weight": torch.zeros(2)}}),
                                               "checkpoint fn/FlowNet2_checkpoint.pth.tar.part does not match "
                                               "FlowNet2: missing keys: flownetc.conv1.0.weight"),
    "flownet2_without_state_dict": (FLOWNET2, torch_bytes({"epoch": 3}),
                                    "file fn/FlowNet2_checkpoint.pth.tar.part holds no 'state_dict': it is not "
                                    "NVIDIA's FlowNet2 checkpoint"),
}


@pytest.mark.parametrize("case", DOWNLOADED, ids=list(DOWNLOADED))
def test_wrong_download_is_removed_and_the_rerun_checks_afresh(case: str, work: Path, server: FileServer,
                                                               capsys: pytest.CaptureFixture) -> None:
    script, data, fragment = DOWNLOADED[case]
    server.files["file"] = data
    before = snapshot(work)
    for _ in range(2):
        code, out, err = run(lambda: script.main("--url", f"{server.url}/files/file"), capsys)
        the_error_line(code, err, 1, fragment, REMOVED)
        assert "already" not in out + err and "using it" not in out + err
        assert snapshot(work) == before, "nothing may be left at the final name (nor a .part, nor a folder)"
    assert len(server.requests_to("/files/file")) == 2  # the rerun fetched, hence checked, again


# ---------------------------------------------------------------------------------------------- found in place
FOUND = {  # id: (script, bytes found at the final name, extra flags, fragments of the line)
    "web_page_found_as_models_zip": (MODELS, WEB_PAGE, (), "download_models: error: checkpoints/models.zip (already "
                                     "here): a web page ('Google Drive - Quota exceeded'), not the file"),
    "zip_with_dotdot_member_found_as_datasets_zip": (DATASETS, zip_bytes({"../evil.txt": b"x"}), (),
                                                     "download_datasets: error: datasets/datasets.zip (already here): "
                                                     "refusing member '../evil.txt' ('..' component)"),
    "not_a_checkpoint_found_as_flownet2": (FLOWNET2, b"\x00 no checkpoint", (),
                                           "download_flownet2: error: fn/FlowNet2_checkpoint.pth.tar (already here): "
                                           "file fn/FlowNet2_checkpoint.pth.tar is not a PyTorch checkpoint"),
    "checksum_mismatch_of_a_zip_found_in_place": (EVERY_SCRIPT[5], zip_bytes({"label2city_1024_g1/a.pth": WEIGHTS}),
                                                  ("--sha256", "0" * 64), "street/download_models_g1: error: "
                                                  f"checkpoints/models_g1.zip (already here): SHA-256 mismatch, "
                                                  f"expected {'0' * 64}"),
}


@pytest.mark.parametrize("case", FOUND, ids=list(FOUND))
def test_bad_file_found_in_place_is_moved_aside_not_used(case: str, work: Path, server: FileServer,
                                                         capsys: pytest.CaptureFixture) -> None:
    script, data, flags, fragment = FOUND[case]
    final = work / script.final
    final.parent.mkdir(parents=True)
    final.write_bytes(data)
    server.files["file"] = data  # the mirror delivers the same wrong bytes
    before = snapshot(work)
    moved = {**{path: entry for path, entry in before.items() if path != script.final},
             f"{script.final}.rejected": before[script.final]}  # renamed: same size and mtime
    code, out, err = run(lambda: script.main(*flags, "--url", f"{server.url}/files/file"), capsys)
    the_error_line(code, err, 1, fragment, f"moved it to {script.final}.rejected, out of the way of loaders and "
                   "reruns; run again to download it afresh")
    assert "using it" not in out + err and not server.log  # checked in place, nothing fetched
    assert snapshot(work) == moved
    code, out, err = run(lambda: script.main(*flags, "--url", f"{server.url}/files/file"), capsys)
    the_error_line(code, err, 1, REMOVED)  # the rerun downloads afresh, checks, and refuses again
    assert "already" not in out + err and snapshot(work) == moved


# ---------------------------------------------------------------------------------------------- Ctrl-C
class InterruptedBar:
    """tqdm stand-in whose first update is a Ctrl-C: the first chunk is already written to the .part."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __enter__(self) -> InterruptedBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, count: int) -> None:
        raise KeyboardInterrupt


def check_interrupted(code: int, err: str, prog: str) -> None:
    """Exit 130 and, progress bars aside, the one line of util/cli.py."""
    assert code == 130 and "Traceback" not in err, err
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip() and "B/s]" not in line]
    assert lines == [interrupted_line(prog, util.download.INTERRUPTED_OUTCOME)]


def run_as_main(script: Script, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """``python scripts/...py ARGV``, in-process (so monkeypatches apply): its ``__main__`` block runs."""
    monkeypatch.setattr(sys, "argv", [str(script.path), *script.flags, *argv])
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script inserts the repository root
    runpy.run_path(str(script.path), run_name="__main__")


@pytest.mark.parametrize("script", EVERY_SCRIPT, ids=[script.prog for script in EVERY_SCRIPT])
def test_ctrl_c_during_a_download_keeps_only_the_part(script: Script, work: Path, server: FileServer,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture) -> None:
    server.files["file"] = os.urandom(3 * util.download.CHUNK_BYTES)
    monkeypatch.setattr(util.download, "tqdm", InterruptedBar)
    before = snapshot(work)
    code, out, err = run(lambda: run_as_main(script, ["--url", f"{server.url}/files/file"], monkeypatch), capsys)
    check_interrupted(code, err, script.prog)
    part = f"{script.final}.part"
    assert set(snapshot(work)) - set(before) == {str(Path(script.final).parent), part}  # the folder, the .part
    assert (work / part).read_bytes() == server.files["file"][:util.download.CHUNK_BYTES]


def test_ctrl_c_during_extraction_puts_no_folder_in_place(work: Path, server: FileServer,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    server.files["models.zip"] = zip_bytes({"label2city_2048/latest_net_G0.pth": WEIGHTS,
                                            "label2city_2048/latest_net_G1.pth": WEIGHTS,
                                            "label2city_single/latest_net_G.pth": WEIGHTS})
    extract_all = zipfile.ZipFile.extractall

    def interrupted(self: zipfile.ZipFile, path: str, *args: object, **kwargs: object) -> None:
        self.extract(self.infolist()[0], path)
        raise KeyboardInterrupt

    monkeypatch.setattr(zipfile.ZipFile, "extractall", interrupted)
    argv = ["--url", f"{server.url}/files/models.zip"]
    code, out, err = run(lambda: run_as_main(MODELS, argv, monkeypatch), capsys)
    check_interrupted(code, err, "download_models")
    # the zip passed its checks before it took its name; no model folder, no extraction folder
    assert set(snapshot(work)) == {"checkpoints", "checkpoints/models.zip"}
    monkeypatch.setattr(zipfile.ZipFile, "extractall", extract_all)
    code, out, err = run(lambda: MODELS.main(*argv), capsys)
    assert code == 0, err
    assert "checkpoints/models.zip was already here (a previous run stopped before extracting it); it passed the " \
           "checks" in out
    assert sorted(str(path.relative_to(work)) for path in (work / "checkpoints").rglob("*.pth")) == [
        "checkpoints/label2city_2048/latest_net_G0.pth", "checkpoints/label2city_2048/latest_net_G1.pth",
        "checkpoints/label2city_single/latest_net_G.pth"]
    assert len(server.log) == 1  # the kept zip was checked again and used, not fetched again


def test_full_disk_during_extraction_is_one_line_and_puts_no_folder_in_place(work: Path, server: FileServer,
                                                                            monkeypatch: pytest.MonkeyPatch,
                                                                            capsys: pytest.CaptureFixture) -> None:
    server.files["models.zip"] = zip_bytes({"label2city_2048/latest_net_G0.pth": WEIGHTS,
                                            "label2city_2048/latest_net_G1.pth": WEIGHTS})

    def full_disk(self: zipfile.ZipFile, path: str, *args: object, **kwargs: object) -> None:
        self.extract(self.infolist()[0], path)
        raise OSError(errno.ENOSPC, "No space left on device", str(Path(path) / "label2city_2048"))

    monkeypatch.setattr(zipfile.ZipFile, "extractall", full_disk)
    code, out, err = run(lambda: MODELS.main("--url", f"{server.url}/files/models.zip"), capsys)
    the_error_line(code, err, 1, "download_models: error: no space left on the device of checkpoints/.extract_",
                   "free some space, or choose another --checkpoints_dir, and run again")
    # the verified zip stays at its name (a rerun checks it again and extracts it), no model folder, no staging
    assert set(snapshot(work)) == {"checkpoints", "checkpoints/models.zip"}
