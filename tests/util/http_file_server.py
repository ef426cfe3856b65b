"""A local HTTP file server for download tests (Range support, a Range-ignoring mode, Google Drive-style
confirmation pages), shared by tests/util/test_download.py and tests/scripts/test_download_scripts.py."""
from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DRIVE_TOKEN = "Tk3n_-x"


class FileServer:
    """Serves ``files`` on 127.0.0.1 at a random port and records every request.

    Routes: ``/files/NAME`` (honours ``Range: bytes=N-``), ``/norange/NAME`` (ignores Range), ``/cut/NAME``
    (connection dropped half-way), ``/uc?id=NAME``
    (Google Drive's current confirmation form, then ``/download?...&confirm=t&uuid=...``), ``/uc_cookie?id=NAME``
    (the older ``download_warning`` cookie + ``confirm=TOKEN``), ``/quota`` (an HTML page with no way on).
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.log: list[dict] = []  # one entry per request: path, range header, bytes of body sent
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        entry = {"path": parts.path, "query": query, "range": request.headers.get("Range"), "sent": 0}
        self.log.append(entry)
        kind, _, name = parts.path.strip("/").partition("/")
        if kind == "files" and name in self.files:
            self._send_file(request, entry, self.files[name], honour_range=True)
        elif kind == "cut" and name in self.files:  # announces the whole file, sends half, drops the connection
            data = self.files[name]
            request.send_response(200)
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            entry["sent"] = len(data) // 2
            request.wfile.write(data[: len(data) // 2])
            request.close_connection = True
        elif kind == "norange" and name in self.files:
            self._send_file(request, entry, self.files[name], honour_range=False)
        elif kind == "uc" and query.get("id") in self.files:
            self._send_html(request, "Google Drive - Virus scan warning", (
                '<form id="download-form" action="/download" method="get">'
                f'<input type="hidden" name="id" value="{query["id"]}">'
                '<input type="hidden" name="export" value="download">'
                '<input type="hidden" name="confirm" value="t">'
                '<input type="hidden" name="uuid" value="1234-abcd">'
                '<input type="submit" value="Download anyway"></form>'))
        elif kind == "download" and query.get("confirm") == "t" and query.get("uuid") == "1234-abcd":
            self._send_file(request, entry, self.files[query["id"]], honour_range=True)
        elif kind == "uc_cookie" and query.get("id") in self.files:
            if query.get("confirm") == DRIVE_TOKEN and DRIVE_TOKEN in request.headers.get("Cookie", ""):
                self._send_file(request, entry, self.files[query["id"]], honour_range=True)
            else:
                self._send_html(request, "Google Drive - Virus scan warning", "<p>too large to scan</p>",
                                cookie=f"download_warning_13058876669334088843_{query['id']}={DRIVE_TOKEN}")
        elif kind == "quota":
            self._send_html(request, "Google Drive - Quota exceeded", "<p>Too many users have viewed it</p>")
        else:
            request.send_error(404)

    @staticmethod
    def _send_file(request: BaseHTTPRequestHandler, entry: dict, data: bytes, honour_range: bool) -> None:
        start = 0
        header = request.headers.get("Range")
        if honour_range and header:
            start = int(header.removeprefix("bytes=").rstrip("-"))
            if start >= len(data):
                request.send_response(416)
                request.send_header("Content-Range", f"bytes */{len(data)}")
                request.send_header("Content-Length", "0")
                request.end_headers()
                return
            request.send_response(206)
            request.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            request.send_response(200)
        body = data[start:]
        request.send_header("Content-Type", "application/octet-stream")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        entry["sent"] = len(body)  # before writing: the client may finish, and the test assert, before we return
        request.wfile.write(body)

    @staticmethod
    def _send_html(request: BaseHTTPRequestHandler, title: str, body: str, cookie: str | None = None) -> None:
        page = f"<html><head><title>{title}</title></head><body>{body}</body></html>".encode()
        request.send_response(200)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        if cookie:
            request.send_header("Set-Cookie", f"{cookie}; Path=/")
        request.send_header("Content-Length", str(len(page)))
        request.end_headers()
        request.wfile.write(page)

    def requests_to(self, path: str) -> list[dict]:
        return [entry for entry in self.log if entry["path"] == path]


def closed_port_url(path: str = "file.bin") -> str:
    """A URL on 127.0.0.1 whose port nothing listens on (connection refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/{path}"


