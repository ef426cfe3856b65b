"""scripts/download_flownet2.py and scripts/download_models.py as a user runs them, against a local server."""
from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from http_file_server import FileServer, closed_port_url  # tests/util is on sys.path (tests/conftest.py)

import scripts.download_flownet2 as download_flownet2
import scripts.download_models as download_models

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / script), *args], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=120)


def _torch_bytes(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_flownet2_wrong_file_is_downloaded_then_removed(server: FileServer, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    server.files["FlowNet2_checkpoint.pth.tar"] = _torch_bytes({"state_dict": {"conv1.weight": torch.zeros(2)}})
    out = tmp_path / "flownet2" / "FlowNet2_checkpoint.pth.tar"
    for _ in range(2):  # the rerun downloads and checks afresh: nothing was left to be "already" there
        assert download_flownet2.main(["--out", str(out), "--url",
                                       f"{server.url}/files/FlowNet2_checkpoint.pth.tar"]) == 1
        printed = capsys.readouterr()
        assert "already exists" not in printed.out
        (line,) = [line for line in printed.err.splitlines() if "download_flownet2: error:" in line]
        assert f"checkpoint {out}.part does not match FlowNet2: missing keys: flownetc.conv1.0.weight" in line
        assert "unexpected keys: conv1.weight" in line and "the download was removed" in line
        assert sorted(tmp_path.iterdir()) == []  # neither the file nor the folder made for it
    assert len(server.requests_to("/files/FlowNet2_checkpoint.pth.tar")) == 2


def test_flownet2_download_then_strict_load_succeeds(server: FileServer, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    server.files["fn.pth.tar"] = b"pretend checkpoint"
    checked: list[Path] = []

    def fake_check(path: Path) -> int:  # the real file is 650 MB; the strict check has its own tests
        checked.append(Path(path))
        return 1_001_000

    monkeypatch.setattr(download_flownet2, "check_flownet2", fake_check)
    out = tmp_path / "FlowNet2_checkpoint.pth.tar"
    sha = hashlib.sha256(b"pretend checkpoint").hexdigest()
    assert download_flownet2.main(["--out", str(out), "--url", f"{server.url}/files/fn.pth.tar",
                                   "--sha256", sha]) == 0
    # checked under its .part name, before it took the name loaders look for
    assert out.read_bytes() == b"pretend checkpoint" and checked == [out.with_name(out.name + ".part")]
    printed = capsys.readouterr().out
    assert str(out.resolve()) in printed and "1.0 M parameters" in printed


def test_flownet2_dead_links_suggest_a_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(download_flownet2, "google_drive_url", lambda file_id: closed_port_url(file_id))
    out = tmp_path / "FlowNet2_checkpoint.pth.tar"
    assert download_flownet2.main(["--out", str(out)]) == 1
    report = capsys.readouterr().err
    assert "cannot reach" in report and download_flownet2.FLOWNET2_DRIVE_ID in report
    assert f"put it at {out}" in report  # the by-hand steps (tests/scripts/test_reference_scripts.py: layout)


WEIGHTS = _torch_bytes({"conv.weight": torch.ones(2, 2)})  # a state_dict of finite tensors, as published


def test_models_zip_lands_in_checkpoints_dir(server: FileServer, tmp_path: Path) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr("label2city_1024_g1/latest_net_G0.pth", WEIGHTS)
    server.files["models_g1.zip"] = archive.getvalue()
    checkpoints = tmp_path / "checkpoints"
    result = _run("download_models.py", "--model", "label2city_g1", "--checkpoints_dir", str(checkpoints),
                  "--url", f"{server.url}/files/models_g1.zip")
    assert result.returncode == 0, result.stderr
    assert (checkpoints / "label2city_1024_g1" / "latest_net_G0.pth").read_bytes() == WEIGHTS
    assert sorted(path.name for path in checkpoints.iterdir()) == ["label2city_1024_g1"]  # zip removed
    assert str(checkpoints / "label2city_1024_g1") in result.stdout
    # the published folder describes itself: the flags of the reference's test_g1_1024.sh
    saved = json.loads((checkpoints / "label2city_1024_g1" / "opt.json").read_text())
    shape = (saved["label_nc"], saved["loadSize"], saved["n_scales_spatial"], saved["n_downsample_G"])
    assert shape == (35, 1024, 3, 2)
    assert saved["use_instance"] and saved["fg"] and saved["use_single_G"]


def test_models_dead_links_suggest_a_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(download_models, "google_drive_url", lambda file_id: closed_port_url(file_id))
    assert download_models.main(["--model", "edge2face", "--checkpoints_dir", str(tmp_path)]) == 1
    report = capsys.readouterr().err
    assert "10LvNw-2lrh-6sPGkWbQDfHspkqz5AKxb" in report and "download models_face.zip from" in report


def test_models_unsafe_zip_is_refused(server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr("../outside.pth", b"x")
    server.files["models.zip"] = archive.getvalue()
    checkpoints = tmp_path / "checkpoints"
    assert download_models.main(["--model", "label2city", "--checkpoints_dir", str(checkpoints),
                                 "--url", f"{server.url}/files/models.zip"]) == 1
    assert "'../outside.pth'" in capsys.readouterr().err
    assert not (tmp_path / "outside.pth").exists()


def test_models_zip_left_by_an_interrupted_run_is_checked_then_reused(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(download_models, "google_drive_url", lambda file_id: closed_port_url(file_id))
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    with zipfile.ZipFile(checkpoints / "models_face.zip", "w") as zip_file:
        zip_file.writestr("edge2face_512/latest_net_G0.pth", WEIGHTS)
    assert download_models.main(["--model", "edge2face", "--checkpoints_dir", str(checkpoints)]) == 0
    assert sorted(path.name for path in checkpoints.iterdir()) == ["edge2face_512"]
    assert "was already here (a previous run stopped before extracting it); it passed the checks" in \
        capsys.readouterr().out
