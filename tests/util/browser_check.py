"""Open an HTML page in headless Chromium and report, from inside the browser, whether every ``<img>`` and
``<video>`` on it loaded. Used by the HTML-page tests; `make browser` installs Debian's ``chromium``."""
from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
RESULT_ID = "__load_check_result__"

# Runs in the page: waits for the load event, then for every video's metadata (or error), then writes a JSON
# report into a <pre> that --dump-dom prints.
CHECK_SCRIPT = """
<script>
window.addEventListener('load', function () {
  var videos = Array.prototype.slice.call(document.querySelectorAll('video'));
  var waits = videos.map(function (v) {
    return new Promise(function (resolve) {
      if (v.readyState >= 1 || v.error) { resolve(); return; }
      v.addEventListener('loadedmetadata', resolve);
      v.addEventListener('error', resolve, true);
      var sources = v.querySelectorAll('source');
      if (sources.length) sources[sources.length - 1].addEventListener('error', resolve);
      setTimeout(resolve, 8000);
    });
  });
  Promise.all(waits).then(function () {
    var report = {
      images: Array.prototype.map.call(document.images, function (img) {
        return {src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0, width: img.naturalWidth};
      }),
      videos: videos.map(function (v) {
        return {src: v.currentSrc, ok: v.readyState >= 1 && v.videoWidth > 0, readyState: v.readyState,
                width: v.videoWidth, height: v.videoHeight, duration: v.duration,
                error: v.error ? v.error.code : null};
      })
    };
    var pre = document.createElement('pre');
    pre.id = 'RESULT_ID';
    pre.textContent = JSON.stringify(report);
    document.body.appendChild(pre);
  });
});
</script>
""".replace("RESULT_ID", RESULT_ID)


def find_chromium() -> str | None:
    """Path of the first Chromium (or Chrome) binary on PATH, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002, ANN001, ANN002
        pass


def check_page(page: Path, chromium: str, timeout: float = 90.0) -> dict:
    """Serve ``page``'s folder on 127.0.0.1, open a copy of the page with the check script in Chromium, return
    ``{'images': [...], 'videos': [...]}`` as the browser saw them."""
    folder = page.parent
    check_name = f"_browser_check_{page.stem}.html"
    html = page.read_text(encoding="utf-8")
    html = html.replace("</body>", CHECK_SCRIPT + "</body>") if "</body>" in html else html + CHECK_SCRIPT
    (folder / check_name).write_text(html, encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with tempfile.TemporaryDirectory() as profile:
            url = f"http://127.0.0.1:{server.server_address[1]}/{check_name}"
            result = subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--mute-audio",
                 "--autoplay-policy=no-user-gesture-required", f"--user-data-dir={profile}",
                 "--virtual-time-budget=20000", "--dump-dom", url],
                capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        server.shutdown()
        server.server_close()
        (folder / check_name).unlink(missing_ok=True)
    match = re.search(rf'<pre id="{RESULT_ID}">(.*?)</pre>', result.stdout, re.S)
    if not match:
        raise AssertionError(f"the check script reported nothing; chromium rc {result.returncode}, "
                             f"stderr tail: {result.stderr[-2000:]}")
    text = match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return json.loads(text)
