"""util.download against a local HTTP server: resume, Range-ignoring servers, checksums, mirrors, offline errors,
the Google Drive confirmation pages, and safe zip extraction."""
from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from http_file_server import FileServer, closed_port_url

from util.download import ChecksumError, DownloadError, download, extract_zip, google_drive_url


@pytest.fixture
def payload() -> bytes:
    return os.urandom(300_000)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_plain_download_is_verified_and_renamed(server: FileServer, payload: bytes, tmp_path: Path) -> None:
    server.files["model.bin"] = payload
    destination = tmp_path / "sub" / "model.bin"
    result = download([f"{server.url}/files/model.bin"], destination, sha256=_sha(payload), size=len(payload),
                      progress=False)
    assert result == destination and destination.read_bytes() == payload
    assert not (tmp_path / "sub" / "model.bin.part").exists()


def test_partial_file_is_resumed_with_a_range_request(server: FileServer, payload: bytes, tmp_path: Path) -> None:
    server.files["model.bin"] = payload
    destination = tmp_path / "model.bin"
    (tmp_path / "model.bin.part").write_bytes(payload[:100_000])
    download([f"{server.url}/files/model.bin"], destination, sha256=_sha(payload), progress=False)
    assert destination.read_bytes() == payload
    (entry,) = server.requests_to("/files/model.bin")
    assert entry["range"] == "bytes=100000-" and entry["sent"] == len(payload) - 100_000


def test_complete_part_file_is_finished_after_a_416(server: FileServer, payload: bytes, tmp_path: Path) -> None:
    server.files["model.bin"] = payload
    (tmp_path / "model.bin.part").write_bytes(payload)
    download([f"{server.url}/files/model.bin"], tmp_path / "model.bin", sha256=_sha(payload), progress=False)
    assert (tmp_path / "model.bin").read_bytes() == payload


def test_server_ignoring_range_restarts_from_zero(server: FileServer, payload: bytes, tmp_path: Path) -> None:
    server.files["model.bin"] = payload
    destination = tmp_path / "model.bin"
    (tmp_path / "model.bin.part").write_bytes(b"x" * 5000)  # would corrupt the file if appended to
    download([f"{server.url}/norange/model.bin"], destination, sha256=_sha(payload), progress=False)
    assert destination.read_bytes() == payload
    (entry,) = server.requests_to("/norange/model.bin")
    assert entry["range"] == "bytes=5000-" and entry["sent"] == len(payload)


def test_checksum_mismatch_removes_everything(server: FileServer, payload: bytes, tmp_path: Path) -> None:
    server.files["model.bin"] = payload
    destination = tmp_path / "model.bin"
    expected = _sha(b"another file")
    with pytest.raises(ChecksumError) as error:
        download([f"{server.url}/files/model.bin"], destination, sha256=expected, progress=False)
    message = str(error.value)
    assert "model.bin" in message and expected in message and _sha(payload) in message
    assert sorted(tmp_path.iterdir()) == []


def test_size_mismatch_removes_everything(server: FileServer, payload: bytes, tmp_path: Path) -> None:
    server.files["model.bin"] = payload
    with pytest.raises(ChecksumError, match=f"expected {len(payload) + 1} bytes, got {len(payload)}"):
        download([f"{server.url}/files/model.bin"], tmp_path / "model.bin", size=len(payload) + 1, progress=False)
    assert sorted(tmp_path.iterdir()) == []


def test_next_mirror_is_tried_after_a_404(server: FileServer, payload: bytes, tmp_path: Path) -> None:
    server.files["model.bin"] = payload
    destination = tmp_path / "model.bin"
    download([f"{server.url}/files/gone.bin", f"{server.url}/files/model.bin"], destination, progress=False)
    assert destination.read_bytes() == payload
    assert [entry["path"] for entry in server.log] == ["/files/gone.bin", "/files/model.bin"]


def test_unreachable_mirrors_give_one_offline_line(tmp_path: Path) -> None:
    urls = [closed_port_url("a/model.bin"), closed_port_url("b/model.bin")]
    destination = tmp_path / "model.bin"
    with pytest.raises(DownloadError) as error:
        download(urls, destination, progress=False)
    message = str(error.value)
    assert "\n" not in message
    assert "cannot reach" in message and urlsplit(urls[0]).netloc in message
    assert all(url in message for url in urls)
    assert f"place it at {destination}" in message
    assert not destination.exists()


def test_http_errors_are_listed_per_mirror(server: FileServer, tmp_path: Path) -> None:
    urls = [f"{server.url}/files/gone.bin", f"{server.url}/quota"]
    with pytest.raises(DownloadError) as error:
        download(urls, tmp_path / "model.bin", progress=False)
    message = str(error.value)
    assert "\n" not in message and "cannot reach" not in message
    assert "HTTP 404" in message and "Quota exceeded" in message
    assert sorted(tmp_path.iterdir()) == []  # an HTML page is never written as the file


@pytest.mark.parametrize("route", ["uc", "uc_cookie"])
def test_google_drive_confirmation_page_is_followed(server: FileServer, payload: bytes, tmp_path: Path,
                                                    route: str) -> None:
    server.files["1AbC-large"] = payload
    destination = tmp_path / "model.bin"
    download([google_drive_url("1AbC-large", base=f"{server.url}/{route}")], destination, sha256=_sha(payload),
             progress=False)
    assert destination.read_bytes() == payload
    assert len(server.log) == 2 and server.log[0]["query"] == {"export": "download", "id": "1AbC-large"}


def test_google_drive_url_is_the_direct_download_form() -> None:
    assert google_drive_url("XYZ") == "https://drive.google.com/uc?export=download&id=XYZ"


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_zip_is_extracted_into_place(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "models.zip", {"label2city_2048/latest_net_G0.pth": b"g0",
                                             "label2city_single/latest_net_G_2048.pth": b"g"})
    folder = tmp_path / "checkpoints"
    (folder / "label2city_2048").mkdir(parents=True)
    (folder / "label2city_2048" / "latest_net_G0.pth").write_bytes(b"old")
    assert extract_zip(archive, folder) == ["label2city_2048", "label2city_single"]
    assert (folder / "label2city_2048" / "latest_net_G0.pth").read_bytes() == b"g0"
    assert (folder / "label2city_single" / "latest_net_G_2048.pth").read_bytes() == b"g"
    assert sorted(path.name for path in folder.iterdir()) == ["label2city_2048", "label2city_single"]


@pytest.mark.parametrize("bad_member", ["../evil.txt", "ok/../../evil.txt", "/tmp/evil.txt", "..\\evil.txt"])
def test_zip_with_escaping_member_extracts_nothing(tmp_path: Path, bad_member: str) -> None:
    archive = _zip(tmp_path / "models.zip", {"good/file.txt": b"ok", bad_member: b"bad"})
    folder = tmp_path / "out" / "checkpoints"
    with pytest.raises(ValueError) as error:
        extract_zip(archive, folder)
    assert bad_member in str(error.value)
    assert not folder.exists() and not (tmp_path / "evil.txt").exists() and not (tmp_path / "out" / "evil.txt"
                                                                                  ).exists()


def test_not_a_zip_is_reported(tmp_path: Path) -> None:
    archive = tmp_path / "models.zip"
    archive.write_bytes(io.BytesIO(b"<html>not a zip</html>").getvalue())
    with pytest.raises(ValueError, match="models.zip is not a zip archive"):
        extract_zip(archive, tmp_path / "checkpoints")


def test_existing_destination_is_verified_not_fetched(payload: bytes, tmp_path: Path) -> None:
    destination = tmp_path / "model.bin"
    destination.write_bytes(payload)
    assert download([closed_port_url()], destination, sha256=_sha(payload), progress=False) == destination
    with pytest.raises(ChecksumError, match=f"delete {destination} and run again"):
        download([closed_port_url()], destination, sha256=_sha(b"other"), progress=False)
    assert destination.read_bytes() == payload  # the user's file is never deleted


def test_dropped_connection_keeps_the_part_for_the_next_run(server: FileServer, payload: bytes,
                                                            tmp_path: Path) -> None:
    server.files["model.bin"] = payload
    destination = tmp_path / "model.bin"
    with pytest.raises(DownloadError) as error:
        download([f"{server.url}/cut/model.bin"], destination, progress=False)
    kept = (tmp_path / "model.bin.part").stat().st_size
    assert 0 < kept <= len(payload) // 2 and (tmp_path / "model.bin.part").read_bytes() == payload[:kept]
    assert "connection broken mid-file" in str(error.value) and f"resume the {kept} bytes kept" in str(error.value)
    assert not destination.exists()
    download([f"{server.url}/files/model.bin"], destination, sha256=_sha(payload), progress=False)
    assert destination.read_bytes() == payload
    assert server.requests_to("/files/model.bin")[0]["range"] == f"bytes={kept}-"
