"""Resumable, verified downloads from a list of mirrors (Google Drive included) and safe zip extraction.

``download`` streams into ``<destination>.part``; a later call resumes that file with an HTTP Range request, and
the file is renamed to ``destination`` only once it is complete and its size / SHA-256 match. Nothing half
written is ever found at ``destination``. See docs/DOWNLOADS.md.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import urljoin, urlsplit

import requests
from tqdm import tqdm

GOOGLE_DRIVE_BASE = "https://drive.google.com/uc"
CHUNK_BYTES = 1 << 16  # urllib3 drops a partly filled chunk when the connection breaks: keep the loss small
DEFAULT_TIMEOUT = 30.0  # seconds to connect and between two received chunks, not for the whole file
HTML_SNIFF_BYTES = 512


class DownloadError(RuntimeError):
    """No mirror delivered the file; the one-line message lists what was tried and how to place it by hand.

    ``failures`` keeps each URL tried with why it failed, ``offline`` says whether every failure was a
    connection failure, ``partial`` names the ``.part`` kept for resuming (None when nothing was received) and
    ``destination`` the file that was wanted, so a script can lay the same facts out over several lines
    (`failure_report`).
    """

    def __init__(self, message: str, failures: Sequence[tuple[str, str]] = (), offline: bool = False,
                 partial: Path | None = None, destination: Path | None = None) -> None:
        super().__init__(message)
        self.failures = list(failures)
        self.offline = offline
        self.partial = partial
        self.destination = destination


class ChecksumError(DownloadError):
    """The downloaded bytes are not the expected file (size or SHA-256 differ); nothing is kept."""


class _MirrorFailed(Exception):
    """One URL did not deliver the file; the next mirror is tried. ``offline`` marks connection failures."""

    def __init__(self, reason: str, offline: bool = False) -> None:
        super().__init__(reason)
        self.offline = offline


def google_drive_url(file_id: str, base: str = GOOGLE_DRIVE_BASE) -> str:
    """Direct-download URL of a shared Google Drive file (``base`` is replaceable so tests can serve it)."""
    return f"{base}?export=download&id={file_id}"


def google_drive_page(file_id: str) -> str:
    """The page of a shared Google Drive file, for a person to download it in a browser."""
    return f"https://drive.google.com/file/d/{file_id}/view"


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(urls: Sequence[str], destination: str | Path, sha256: str | None = None, size: int | None = None,
             timeout: float = DEFAULT_TIMEOUT, progress: bool = True,
             session: requests.Session | None = None) -> Path:
    """Fetch one file from the first mirror that delivers it, resuming a previous partial download.

    Args:
        urls: mirrors, tried in order; Google Drive ``uc?export=download&id=`` links are followed through the
            "file too large to scan" confirmation page.
        destination: final path; the folder is created. Bytes go to ``<destination>.part`` first.
        sha256: expected hex digest; checked when given.
        size: expected size in bytes; checked when given.
        timeout: seconds allowed to connect and between two chunks.
        progress: show a tqdm bar on stderr.
        session: a ``requests.Session`` to use (cookies carry the Google Drive confirmation).

    Returns:
        ``destination`` as a Path, complete and verified. A file already at ``destination`` is verified (when
        ``sha256`` / ``size`` are given) and kept without contacting any mirror.

    Raises:
        ChecksumError: the file's size or SHA-256 differs; the ``.part`` is deleted.
        DownloadError: every mirror failed; the ``.part`` (if any) is kept so the next call resumes.
    """
    if not urls:
        raise ValueError("download() needs at least one URL")
    destination = Path(destination)
    if destination.is_file():  # only complete, verified files are ever renamed into place
        _verify(destination, destination, sha256, size, delete=False)
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + ".part")
    session = session or requests.Session()
    failures: list[tuple[str, _MirrorFailed]] = []
    for url in urls:
        if size is not None and part.is_file() and part.stat().st_size == size:
            break  # a previous run got every byte but stopped before verifying
        try:
            _fetch_into(session, url, part, size, timeout, progress)
            break
        except _MirrorFailed as failure:
            failures.append((url, failure))
    else:
        raise DownloadError(_all_failed_message(destination, failures, part),
                            failures=[(url, str(failure)) for url, failure in failures],
                            offline=all(failure.offline for _, failure in failures),
                            partial=part if part.is_file() and part.stat().st_size else None,
                            destination=destination)
    _verify(part, destination, sha256, size)
    os.replace(part, destination)
    return destination


def _fetch_into(session: requests.Session, url: str, part: Path, size: int | None, timeout: float,
                progress: bool) -> None:
    """Append the rest of ``url`` to ``part`` (restarting it when the server ignores Range)."""
    offset = part.stat().st_size if part.is_file() else 0
    if size is not None and offset > size:  # a different, larger file was left here; start over
        part.unlink()
        offset = 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = _open(session, url, headers, timeout)
        with response:
            if response.status_code == 416 and offset:
                # Range starts at or past the end: the .part is whole (verified next) or foreign (restart).
                total = _content_range_total(response.headers.get("Content-Range", ""))
                if total == offset:
                    return
                part.unlink()
                raise _MirrorFailed(f"server refused to resume at byte {offset}; the partial file was removed")
            if response.status_code not in (200, 206):
                raise _MirrorFailed(f"HTTP {response.status_code} {response.reason}".strip())
            if response.status_code == 206 and not response.headers.get("Content-Range", "").startswith(
                    f"bytes {offset}-"):
                raise _MirrorFailed(f"server answered Range bytes={offset}- with "
                                    f"'{response.headers.get('Content-Range')}'")
            if response.status_code == 200:
                offset = 0  # the server ignored Range (or there was nothing to resume): write from the start
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length and length.isdigit() else size
            mode = "ab" if offset else "wb"
            with open(part, mode) as handle, tqdm(total=total, initial=offset, unit="B", unit_scale=True,
                                                 unit_divisor=1024, desc=part.name[:-5], disable=not progress,
                                                 file=sys.stderr, leave=False) as bar:
                for chunk in response.iter_content(CHUNK_BYTES):
                    handle.write(chunk)
                    bar.update(len(chunk))
    except requests.RequestException as error:
        # Includes a stream cut mid-way: the bytes received stay in the .part for the next mirror or run.
        raise _MirrorFailed(_short_reason(error), offline=_is_connect_failure(error)) from error


def _open(session: requests.Session, url: str, headers: dict[str, str], timeout: float) -> requests.Response:
    """GET ``url`` streaming; follow one Google Drive confirmation page; never return an HTML page."""
    response = session.get(url, headers=headers, stream=True, timeout=timeout)
    if not _is_html(response):
        return response
    page = response.text
    response.close()
    confirmed = _confirmation_request(response.url, page, session)
    if confirmed is None:
        raise _MirrorFailed(f"got a web page ('{_page_title(page)}') instead of the file: the link is dead, "
                            f"needs sign-in, or its download quota is exceeded")
    target, params = confirmed
    response = session.get(target, params=params, headers=headers, stream=True, timeout=timeout)
    if _is_html(response):
        title = _page_title(response.text)
        response.close()
        raise _MirrorFailed(f"still got a web page ('{title}') after confirming the download: the file's "
                            f"download quota is probably exceeded, try later or another mirror")
    return response


def _is_html(response: requests.Response) -> bool:
    return response.status_code in (200, 206) and "text/html" in response.headers.get("Content-Type", "")


class _FormParser(HTMLParser):
    """First ``<form>`` of a page: its action and its named inputs; plus the first link carrying ``confirm=``."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.inputs: dict[str, str] = {}
        self.confirm_link: str | None = None
        self.title = ""
        self._in_form = False
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and self.action is None:
            self.action, self._in_form = values.get("action", ""), True
        elif tag == "input" and self._in_form and values.get("name"):
            self.inputs[values["name"]] = values.get("value", "")
        elif tag == "a" and self.confirm_link is None and "confirm=" in values.get("href", ""):
            self.confirm_link = values["href"]
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def _confirmation_request(url: str, page: str, session: requests.Session
                          ) -> tuple[str, dict[str, str] | None] | None:
    """Where Google Drive's "can't scan this file for viruses" page sends the user, or None for other pages.

    Three generations are handled: a ``download-form`` with hidden inputs (``confirm=t``, ``uuid``), a link whose
    query holds ``confirm=TOKEN``, and a ``download_warning*`` cookie holding the token.
    """
    parser = _FormParser()
    parser.feed(page)
    if parser.action is not None and "confirm" in parser.inputs:
        return urljoin(url, parser.action), parser.inputs
    if parser.confirm_link:
        return urljoin(url, parser.confirm_link.replace("&amp;", "&")), None
    for name, token in session.cookies.items():
        if name.startswith("download_warning"):
            return url, {"confirm": token}
    return None


def _page_title(page: str) -> str:
    parser = _FormParser()
    parser.feed(page)
    return " ".join(parser.title.split()) or "untitled"


def _content_range_total(header: str) -> int | None:
    """Total size from ``bytes */1234`` or ``bytes 0-9/1234``; None when unknown."""
    total = header.rpartition("/")[2]
    return int(total) if total.isdigit() else None


def _is_connect_failure(error: Exception) -> bool:
    text = repr(error)
    return any(sign in text for sign in ("NewConnectionError", "NameResolutionError", "ConnectTimeout",
                                         "Connection refused", "Failed to resolve", "Network is unreachable"))


def _short_reason(error: Exception) -> str:
    text = str(error)
    if "IncompleteRead" in text or "Connection broken" in text:
        return "connection broken mid-file"
    for sign in ("Connection refused", "Name or service not known", "Temporary failure in name resolution",
                 "Network is unreachable", "timed out", "Failed to resolve"):
        if sign in text:
            return sign.lower()
    first = text.splitlines()[0] if text else type(error).__name__
    return first[:160]


def _all_failed_message(destination: Path, failures: list[tuple[str, _MirrorFailed]], part: Path) -> str:
    tried = "; ".join(f"{url} ({failure})" for url, failure in failures)
    by_hand = f"download the file elsewhere and place it at {destination}"
    kept = part.stat().st_size if part.is_file() else 0
    resume = f"; run again to resume the {kept} bytes kept in {part}" if kept else ""
    if all(failure.offline for _, failure in failures):
        hosts = ", ".join(dict.fromkeys(urlsplit(url).netloc for url, _ in failures))
        return f"this machine cannot reach {hosts} (offline or blocked); tried {tried}; {by_hand}{resume}"
    return f"could not download {destination.name}: tried {tried}; {by_hand}{resume}"


def failure_report(prog: str, error: DownloadError, by_hand: Sequence[str]) -> str:
    """``error`` laid out for a terminal: a headline, one line per URL tried (and why it failed), then the
    ``by_hand`` lines saying what to fetch elsewhere and where to put it. One line per source makes a long list
    of mirrors readable, which the one-line message of ``str(error)`` is not."""
    if not error.failures:  # a DownloadError raised elsewhere: nothing itemised to show
        return "\n".join([f"{prog}: error: {error}", *by_hand])
    hosts = ", ".join(dict.fromkeys(urlsplit(url).netloc for url, _ in error.failures))
    name = error.destination.name if error.destination is not None else "the file"
    why = (f"this machine cannot reach {hosts} (offline or blocked)" if error.offline else
           f"no source delivered {name}: pass --url with a working mirror, or fetch it by hand (below)")
    lines = [f"{prog}: error: download failed: {why}; sources tried:"]
    lines += [f"  {url}: {reason}" for url, reason in error.failures]
    if error.partial is not None and error.partial.is_file():
        lines.append(f"  ({error.partial.stat().st_size} bytes kept in {error.partial}: run again to resume)")
    return "\n".join([*lines, *by_hand])


def _verify(path: Path, destination: Path, sha256: str | None, size: int | None, delete: bool = True) -> None:
    """Raise ChecksumError when ``path`` (the .part, or an existing ``destination``) has the wrong size/digest;
    a .part is deleted, a file already in place is left for the user to judge."""
    fix = "the download was removed, run again or try another mirror" if delete else f"delete {path} and run again"
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        if delete:
            path.unlink()
        raise ChecksumError(f"{destination.name}: expected {size} bytes, got {actual_size}; {fix}")
    if sha256 is not None:
        actual = sha256_of(path)
        if actual != sha256.lower():
            if delete:
                path.unlink()
            raise ChecksumError(f"{destination.name}: SHA-256 mismatch, expected {sha256.lower()}, got {actual}; "
                                f"{fix}")


def _unsafe_reason(name: str) -> str | None:
    """Why a zip member name would escape the extraction folder, or None when it is safe."""
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return "absolute path"
    if ".." in PurePosixPath(normalised).parts:
        return "'..' component"
    return None


def extract_zip(archive: str | Path, folder: str | Path) -> list[str]:
    """Extract ``archive`` into ``folder`` safely; return the top-level names it added or replaced, sorted.

    Every member is checked before anything is written: absolute paths and ``..`` components are rejected
    (ValueError naming the member). Members are extracted into a temporary folder inside ``folder`` and then
    moved into place file by file, so an interrupted extraction leaves no half-written file in ``folder``;
    existing files with the same names are replaced.

    Raises:
        ValueError: ``archive`` is not a zip file, or a member is unsafe.
    """
    archive, folder = Path(archive), Path(folder)
    try:
        zip_file = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as error:
        raise ValueError(f"{archive} is not a zip archive ({error}); delete it and download again") from error
    with zip_file:
        for member in zip_file.infolist():
            reason = _unsafe_reason(member.filename)
            if reason:
                raise ValueError(f"{archive}: refusing to extract member '{member.filename}' ({reason}); "
                                 f"nothing was extracted")
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".extract_", dir=folder))
        try:
            zip_file.extractall(staging)
            top_level = sorted({PurePosixPath(m.filename.replace("\\", "/")).parts[0] for m in zip_file.infolist()
                                if m.filename.strip("/")})
            for source in sorted(staging.rglob("*")):
                target = folder / source.relative_to(staging)
                if source.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(source, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return top_level


__all__ = ["ChecksumError", "DownloadError", "GOOGLE_DRIVE_BASE", "download", "extract_zip", "failure_report",
           "google_drive_page", "google_drive_url", "sha256_of"]
