"""util.download against a local HTTP server: resume, Range-ignoring servers, checksums, mirrors, offline errors,
the Google Drive confirmation pages, checks before a file takes its final name (and again when found there), and
safe zip extraction."""
from __future__ import annotations

import hashlib
import os
import signal
import stat
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from http_file_server import FileServer, closed_port_url

from util.download import (
    ChecksumError,
    DownloadError,
    VerificationError,
    check_zip,
    deferred_interrupt,
    download,
    extract_zip,
    google_drive_url,
)


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
    archive.write_bytes(b"<html><title>Sign in</title>not a zip</html>")
    with pytest.raises(ValueError, match=r"models.zip: a web page \('Sign in'\), not the file"):
        extract_zip(archive, tmp_path / "checkpoints")
    archive.write_bytes(b"PK but no zip")
    with pytest.raises(ValueError, match="models.zip: not a zip archive"):
        extract_zip(archive, tmp_path / "checkpoints")
    assert sorted(tmp_path.iterdir()) == [archive]


def test_existing_destination_is_verified_not_fetched(payload: bytes, tmp_path: Path) -> None:
    destination = tmp_path / "model.bin"
    destination.write_bytes(payload)
    assert download([closed_port_url()], destination, sha256=_sha(payload), progress=False) == destination
    rejected = tmp_path / "model.bin.rejected"
    with pytest.raises(ChecksumError, match=f"moved it to {rejected}.*run again to download it afresh"):
        download([closed_port_url()], destination, sha256=_sha(b"other"), progress=False)
    assert rejected.read_bytes() == payload and not destination.exists()  # out of the way, never deleted


def _refuse(path: Path) -> None:
    raise ValueError(f"not what was wanted ({path.stat().st_size} bytes)")


def test_a_download_failing_verify_never_takes_its_name(server: FileServer, payload: bytes,
                                                        tmp_path: Path) -> None:
    server.files["model.bin"] = payload
    destination = tmp_path / "new" / "deeper" / "model.bin"
    for _ in range(2):  # the rerun fetches and checks again: nothing was kept to be "already here"
        with pytest.raises(VerificationError, match=f"model.bin: not what was wanted \\({len(payload)} bytes\\); "
                                                    "the download was removed"):
            download([f"{server.url}/files/model.bin"], destination, verify=_refuse, progress=False)
        assert sorted(tmp_path.iterdir()) == []  # the folders it made for the file went with it
    assert len(server.requests_to("/files/model.bin")) == 2


def test_a_web_page_is_named_as_such_whatever_the_check_said(server: FileServer, tmp_path: Path) -> None:
    server.files["model.bin"] = b"<!DOCTYPE html>\n<html><head><title>Quota exceeded</title></head></html>"
    with pytest.raises(VerificationError, match=r"model.bin: a web page \('Quota exceeded'\), not the file"):
        download([f"{server.url}/files/model.bin"], tmp_path / "model.bin", verify=_refuse, progress=False)
    assert sorted(tmp_path.iterdir()) == []


def test_a_file_in_place_failing_verify_is_moved_aside(payload: bytes, tmp_path: Path) -> None:
    destination = tmp_path / "model.bin"
    destination.write_bytes(payload)
    with pytest.raises(VerificationError) as error:
        download([closed_port_url()], destination, verify=_refuse, progress=False)
    assert str(error.value) == (f"{destination} (already here): not what was wanted ({len(payload)} bytes); moved "
                                f"it to {destination}.rejected, out of the way of loaders and reruns; run again to "
                                "download it afresh")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.bin.rejected"]


def _zip_with(path: Path, name: str, data: bytes, mode: int | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("good/file.txt", b"ok")
        member = zipfile.ZipInfo(name)
        if mode is not None:
            member.external_attr = mode << 16
        archive.writestr(member, data)
    return path


def test_check_zip_refuses_links_damage_and_escapes(tmp_path: Path) -> None:
    check_zip(_zip_with(tmp_path / "fine.zip", "good/other.txt", b"fine"))
    link = _zip_with(tmp_path / "link.zip", "good/link", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)
    with pytest.raises(ValueError, match="refusing member 'good/link' \\(symbolic link\\)"):
        check_zip(link)
    with pytest.raises(ValueError, match="refusing member '../up.txt' \\('..' component\\)"):
        check_zip(_zip_with(tmp_path / "up.zip", "../up.txt", b"x"))
    damaged = _zip_with(tmp_path / "damaged.zip", "good/data.bin", b"0123456789" * 50)
    data = bytearray(damaged.read_bytes())
    data[data.index(b"0123456789") + 3] ^= 0xFF  # stored, not deflated: the member's bytes are there as written
    damaged.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="a damaged zip archive \\(member 'good/data.bin' fails its CRC-32"):
        check_zip(damaged)
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a zip archive"):
        check_zip(junk)


def test_new_folders_appear_whole_and_staging_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = _zip(tmp_path / "models.zip", {"label2city_2048/a.pth": b"a", "label2city_2048/b.pth": b"b"})
    folder = tmp_path / "checkpoints"
    moved: list[tuple[str, str]] = []
    real_replace = os.replace

    def recording_replace(source: Path, target: Path) -> None:
        moved.append((Path(source).name, str(Path(target).relative_to(folder))))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", recording_replace)
    extract_zip(archive, folder)
    assert moved == [("label2city_2048", "label2city_2048")]  # one rename of the whole folder, not file by file
    assert sorted(path.name for path in folder.iterdir()) == ["label2city_2048"]


def test_ctrl_c_during_the_renames_is_held_until_they_are_done() -> None:
    handler, done = signal.getsignal(signal.SIGINT), []
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupt():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("every rename")
    assert done == ["every rename"]
    assert signal.getsignal(signal.SIGINT) is handler


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
