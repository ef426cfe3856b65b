"""Resumable, verified downloads from a list of mirrors (Google Drive included) and safe zip extraction.

``download`` streams into ``<destination>.part``; a later call resumes that file with an HTTP Range request, and
the file is renamed to ``destination`` only once it is complete and every check passed: size / SHA-256 and the
caller's own ``verify`` (a valid zip with safe members, `check_zip`; a checkpoint that loads). Nothing half written
or unverified is ever found at ``destination``: a download that fails a check is deleted, and a file found at
``destination`` is checked again before use and moved aside to ``<destination>.rejected`` when it fails, so no
loader and no rerun picks it up. See docs/DOWNLOADS.md.
"""
from __future__ import annotations

import argparse
import errno
import hashlib
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import urljoin, urlsplit

import requests
from tqdm import tqdm

GOOGLE_DRIVE_BASE = "https://drive.google.com/uc"
CHUNK_BYTES = 1 << 16  # urllib3 drops a partly filled chunk when the connection breaks: keep the loss small
DEFAULT_TIMEOUT = 30.0  # seconds to connect and between two received chunks, not for the whole file
HTML_SNIFF_BYTES = 512
REJECTED_SUFFIX = ".rejected"  # a file found at a destination that fails its checks goes here: no loader reads it
# what a download script's Ctrl-C line adds (util/cli.py): the .part is kept for resuming, final names are untouched
INTERRUPTED_OUTCOME = ("bytes received so far are kept in a .part file next to the destination and nothing "
                       "unverified or half-extracted was put in place; rerun the same command to resume")


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


class VerificationError(DownloadError):
    """A file was delivered but is not the expected one (wrong size or SHA-256, not a zip, an unsafe member, not a
    loadable checkpoint). A download is deleted; a file found at the destination is moved to
    ``<destination>.rejected``. The message says which, and that a rerun downloads afresh."""


class ChecksumError(VerificationError):
    """The bytes have the wrong size or SHA-256."""


class _MirrorFailed(Exception):
    """One URL did not deliver the file; the next mirror is tried. ``offline`` marks connection failures."""

    def __init__(self, reason: str, offline: bool = False) -> None:
        super().__init__(reason)
        self.offline = offline


def sha256_digest(text: str) -> str:
    """An argparse type for ``--sha256``: 64 hex digits (lower-cased), refused at parse time rather than after a
    whole download that can only mismatch."""
    digest = text.strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise argparse.ArgumentTypeError(f"{text!r} is not a SHA-256 digest: expected 64 hexadecimal digits, as "
                                          "printed by sha256sum FILE")
    return digest


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
             session: requests.Session | None = None, verify: Callable[[Path], None] | None = None) -> Path:
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
        verify: called with the path of the complete file (the ``.part``, or a file found at ``destination``)
            after the size / SHA-256 checks; raises ValueError saying what is wrong when it is not the expected
            file (e.g. `check_zip`). The message is prefixed with the file's name.

    Returns:
        ``destination`` as a Path, complete and verified. A file already at ``destination`` goes through the same
        checks (``sha256``, ``size``, ``verify``) and is kept without contacting any mirror.

    Raises:
        VerificationError (ChecksumError for size / SHA-256): the download failed a check and was deleted, or the
            file found at ``destination`` did and was moved to ``<destination>.rejected``.
        DownloadError: every mirror failed; the ``.part`` (if any) is kept so the next call resumes.
    """
    if not urls:
        raise ValueError("download() needs at least one URL")
    destination = Path(destination)
    if destination.is_file():  # put there by hand, or by an older version of this code: checked before use
        _check_in_place(destination, sha256, size, verify)
        return destination
    part = destination.with_name(destination.name + ".part")
    created = _make_folder(destination.parent)
    try:
        return _download_into(urls, destination, part, sha256, size, timeout, progress,
                              session or requests.Session(), verify)
    except BaseException:
        # whatever went wrong (Ctrl-C included) leaves no empty .part and no folder made for nothing
        if part.is_file() and part.stat().st_size == 0:
            part.unlink()
        for folder in reversed(created):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise


def _make_folder(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created, outermost first."""
    missing = [parent for parent in [folder, *folder.parents] if not parent.exists()][::-1]
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _download_into(urls: Sequence[str], destination: Path, part: Path, sha256: str | None, size: int | None,
                   timeout: float, progress: bool, session: requests.Session,
                   verify: Callable[[Path], None] | None) -> Path:
    """`download` once the folder exists: fetch into ``part``, check, rename onto ``destination``."""
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
    fix = "the download was removed, run again or try another mirror"
    problem = _size_or_digest_problem(part, sha256, size)
    if problem is not None:
        part.unlink()
        raise ChecksumError(f"{destination.name}: {problem}; {fix}", destination=destination)
    if verify is not None:
        try:
            verify(part)
        except ValueError as error:
            reason = _wrong_file_reason(part, error)
            part.unlink()
            raise VerificationError(f"{destination.name}: {reason}; {fix}", destination=destination) from None
    os.replace(part, destination)
    return destination


def _check_in_place(destination: Path, sha256: str | None, size: int | None,
                    verify: Callable[[Path], None] | None) -> None:
    """The checks of a fresh download, for a file found at ``destination``; one that fails is moved aside (it may
    be the user's own copy, so it is kept) and the next run downloads afresh."""
    problem, error_type = _size_or_digest_problem(destination, sha256, size), ChecksumError
    if problem is None and verify is not None:
        try:
            verify(destination)
        except ValueError as error:
            problem, error_type = _wrong_file_reason(destination, error), VerificationError
    if problem is not None:
        rejected = destination.with_name(destination.name + REJECTED_SUFFIX)
        os.replace(destination, rejected)
        raise error_type(f"{destination} (already here): {problem}; moved it to {rejected}, out of the way of loaders "
                         f"and reruns; run again to download it afresh", destination=destination)


def _size_or_digest_problem(path: Path, sha256: str | None, size: int | None) -> str | None:
    """How ``path`` differs from the expected size / SHA-256, or None."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        return f"expected {size} bytes, got {actual_size}"
    if sha256 is not None:
        actual = sha256_of(path)
        if actual != sha256.lower():
            return f"SHA-256 mismatch, expected {sha256.lower()}, got {actual}"
    return None


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


def write_failure(error: OSError, flag: str) -> str:
    """One line for a download or extraction that could not write (a full or read-only disk): where, and the fix
    naming the folder flag. What was extracted so far is gone (`extract_zip` stages it and removes the staging)."""
    where = error.filename or "the destination"
    if error.errno == errno.ENOSPC:
        return f"no space left on the device of {where}; free some space, or choose another {flag}, and run again"
    return f"cannot write {where} ({error.strerror or error}); make it writable or choose another {flag}"


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


def _unsafe_reason(member: zipfile.ZipInfo) -> str | None:
    """Why extracting ``member`` could write outside the extraction folder or write something other than what
    the archive shows, or None when it is safe."""
    normalised = member.filename.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return "absolute path"
    if ".." in PurePosixPath(normalised).parts:
        return "'..' component"
    if stat.S_ISLNK(member.external_attr >> 16):  # zipfile would write the link's target path as a file
        return "symbolic link"
    return None


def _check_members(zip_file: zipfile.ZipFile) -> None:
    for member in zip_file.infolist():
        reason = _unsafe_reason(member)
        if reason:
            raise ValueError(f"refusing member '{member.filename}' ({reason}), which could write outside the "
                             f"folder it is extracted into")


def _web_page_title(path: Path) -> str | None:
    """The title of the HTML page ``path`` holds, or None when it is no web page: the usual wrong file, a sign-in,
    quota or error page saved under the file's name by a server that does not call it text/html."""
    with open(path, "rb") as handle:
        start = handle.read(HTML_SNIFF_BYTES * 8).decode("utf-8", errors="replace")
    if "<html" in start[:HTML_SNIFF_BYTES].lower() or start.lstrip().lower().startswith("<!doctype html"):
        return _page_title(start)
    return None


def _wrong_file_reason(path: Path, error: Exception) -> str:
    """Why ``path`` failed a check: a web page is named as such (whatever the check said), else ``error``."""
    title = _web_page_title(path)
    if title is not None:
        return f"a web page ('{title}'), not the file: the link leads to a page (dead, sign-in or quota exceeded)"
    return str(error)


def check_zip(path: str | Path) -> None:
    """Raise ValueError, saying what is wrong (not naming ``path``), unless ``path`` is a readable zip archive
    whose members are all safe to extract (no absolute path, ``..`` or symbolic link) and intact (CRC-32)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zip_file:
            _check_members(zip_file)
            corrupt = zip_file.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise ValueError(f"not a zip archive ({error})" if not zipfile.is_zipfile(path) else
                         f"a damaged zip archive ({error})") from None
    except (NotImplementedError, RuntimeError) as error:  # unknown compression method, encrypted member
        raise ValueError(f"a zip archive this script cannot read ({error})") from None
    if corrupt is not None:
        raise ValueError(f"a damaged zip archive (member '{corrupt}' fails its CRC-32 check)")


@contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold a Ctrl-C back until the block ends, then raise KeyboardInterrupt: for a handful of renames that must
    all happen once started. Outside the main thread (where no signal arrives) the block just runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
    if pressed:
        raise KeyboardInterrupt


def _move_into(source: Path, target: Path) -> None:
    """Rename ``source`` onto ``target``; a folder whose target already exists is merged file by file."""
    if source.is_dir() and target.is_dir():
        for child in sorted(source.iterdir()):
            _move_into(child, target / child.name)
    else:
        os.replace(source, target)


def extract_zip(archive: str | Path, folder: str | Path) -> list[str]:
    """Extract ``archive`` into ``folder`` safely; return the top-level names it added or replaced, sorted.

    Every member is checked before anything is written: absolute paths, ``..`` components and symbolic links are
    refused (ValueError naming the member). Members are extracted into a temporary folder inside ``folder``
    (removed whatever happens), and only once all are out is each top-level entry renamed into place; an
    existing folder of the same name is merged into file by file (same-named files replaced). A Ctrl-C during
    the renames is held back until they are done, so ``folder`` never holds a half-extracted file or folder.

    Raises:
        ValueError: ``archive`` is not a zip file, is damaged, has an unsafe member, or a member would replace a
            folder by a file (or the other way round); nothing was extracted.
    """
    archive, folder = Path(archive), Path(folder)
    try:
        with zipfile.ZipFile(archive) as zip_file:
            _check_members(zip_file)
            folder.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".extract_", dir=folder))
            try:
                zip_file.extractall(staging)
                top_level = sorted(entry.name for entry in staging.iterdir())
                for source in staging.rglob("*"):
                    target = folder / source.relative_to(staging)
                    if target.exists() and target.is_dir() != source.is_dir():
                        raise ValueError(f"member '{source.relative_to(staging).as_posix()}' would replace "
                                         f"{target}, which is a {'folder' if target.is_dir() else 'file'}")
                with deferred_interrupt():
                    for name in top_level:
                        _move_into(staging / name, folder / name)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        reason = (_wrong_file_reason(archive, ValueError(f"not a zip archive ({error})"))
                  if not zipfile.is_zipfile(archive) else f"a damaged zip archive ({error})")
        raise ValueError(f"{archive}: {reason}; nothing was extracted") from None
    except ValueError as error:
        raise ValueError(f"{archive}: {error}; nothing was extracted") from None
    return top_level


__all__ = ["ChecksumError", "DownloadError", "GOOGLE_DRIVE_BASE", "INTERRUPTED_OUTCOME", "REJECTED_SUFFIX",
           "VerificationError", "check_zip", "deferred_interrupt", "download", "extract_zip", "failure_report",
           "google_drive_page", "google_drive_url", "sha256_of"]
