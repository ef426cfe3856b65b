"""util/html.py: page structure, and that a browser (headless Chromium) loads every image and video on it."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from util.html import HTMLPage
from util.video import write_mp4

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_check import check_page  # noqa: E402


def test_page_structure(tmp_path) -> None:
    page = HTMLPage(str(tmp_path / "web"), "run: results", refresh=5)
    page.add_header("sequence 1")
    page.add_text("notes")
    page.add_images(["a/x.jpg", "a/y.png"], ["input", "output"], links=["a/x.jpg", "big.png"], width=100)
    page.add_videos(["videos/s.mp4"], ["input | output"])
    path = page.save()
    html = Path(path).read_text()
    assert path == str(tmp_path / "web" / "index.html")
    assert "<title>run: results</title>" in html and '<meta content="5" http-equiv="refresh">' in html
    assert "<h3>sequence 1</h3>" in html and "<p>notes</p>" in html
    assert 'src="a/x.jpg"' in html and 'href="big.png"' in html and "width:100px" in html
    assert '<source src="videos/s.mp4" type="video/mp4">' in html
    assert sorted(p.name for p in (tmp_path / "web").iterdir()) == ["index.html"]
    with pytest.raises(ValueError, match="same length"):
        page.add_images(["a.jpg"], ["one", "two"])
    with pytest.raises(ValueError, match="level"):
        page.add_header("x", level=7)


def test_chromium_loads_images_and_videos(tmp_path, chromium) -> None:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (32, 64, 3), dtype=np.uint8)).save(tmp_path / "a.jpg")
    Image.fromarray(rng.integers(0, 256, (32, 64), dtype=np.uint8)).save(tmp_path / "b.png")
    write_mp4([rng.integers(0, 256, (31, 63, 3), dtype=np.uint8) for _ in range(5)], str(tmp_path / "v.mp4"))
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    page = HTMLPage(str(tmp_path), "check")
    page.add_images(["a.jpg", "b.png", "broken.jpg", "missing.png"], ["a", "b", "broken", "missing"])
    page.add_videos(["v.mp4", "broken.mp4"], ["good", "broken"])
    report = check_page(Path(page.save()), chromium)
    images = {item["src"]: item["ok"] for item in report["images"]}
    assert images == {"a.jpg": True, "b.png": True, "broken.jpg": False, "missing.png": False}
    videos = {item["src"].rsplit("/", 1)[-1]: item for item in report["videos"]}
    assert videos["v.mp4"]["ok"] and (videos["v.mp4"]["width"], videos["v.mp4"]["height"]) == (64, 32)
    assert not videos["broken.mp4"]["ok"]  # the checker does report failures
