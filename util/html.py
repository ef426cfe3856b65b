"""A small HTML page builder (dominate): a title, headers, paragraphs, rows of captioned images and videos.

Used for test results (``results/<name>/<phase>_<epoch>/index.html``) and training snapshots
(``checkpoints/<name>/web/index.html``). Every path given to the page is written as given, so pass paths
relative to the page's folder; the page then works from any location, over http or file://.

Example::

    page = HTMLPage("results/run/test_latest", "run: test results")
    page.add_header("sequence 0001")
    page.add_videos(["0001/video.mp4"], ["input | output"])
    page.add_images(["0001/real_A_0003.png", "0001/fake_B_0003.jpg"], ["input", "output"])
    page.save()
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import dominate
from dominate import tags

from util.atomic import write_text_atomically


class HTMLPage:
    """An HTML page written to ``<folder>/<file_name>``; ``refresh`` > 0 makes browsers reload it every N s."""

    def __init__(self, folder: str, title: str, refresh: int = 0, file_name: str = "index.html") -> None:
        self.folder = folder
        self.file_name = file_name
        self.doc = dominate.document(title=title)
        with self.doc.head:
            tags.meta(charset="utf-8")
            if refresh > 0:
                tags.meta(http_equiv="refresh", content=str(refresh))
            tags.style(
                "body{font-family:sans-serif;margin:1em}"
                "table{border-collapse:collapse;table-layout:fixed;margin-bottom:1em}"
                "td{padding:4px;vertical-align:top;text-align:center;word-wrap:break-word}"
                "td p{margin:2px 0}"
            )
        with self.doc:
            tags.h1(title)

    @property
    def path(self) -> str:
        return os.path.join(self.folder, self.file_name)

    def add_header(self, text: str, level: int = 3) -> None:
        """A section header (``<h1>``..``<h6>``, default ``<h3>`` as in the reference's pages)."""
        if not 1 <= level <= 6:
            raise ValueError(f"header level must be 1..6, got {level}")
        with self.doc:
            getattr(tags, f"h{level}")(text)

    def add_text(self, text: str) -> None:
        """A paragraph of plain text."""
        with self.doc:
            tags.p(text)

    def add_images(
        self,
        images: Sequence[str],
        captions: Sequence[str],
        links: Sequence[str] | None = None,
        width: int = 256,
    ) -> None:
        """One table row of images, each with a caption below; clicking an image opens ``links[i]`` (default:
        the image itself). ``width`` is the displayed width in CSS pixels."""
        links = images if links is None else links
        _check_lengths(images, captions, links)
        with self.doc:
            with tags.table(), tags.tr():
                for image, caption, link in zip(images, captions, links, strict=True):
                    with tags.td(style=f"width:{width}px"):
                        with tags.a(href=link):
                            tags.img(src=image, style=f"width:{width}px", alt=caption)
                        tags.p(caption)

    def add_videos(self, videos: Sequence[str], captions: Sequence[str], width: int = 512) -> None:
        """One table row of ``<video>`` players (controls, looping, muted so browsers may autoplay them)."""
        _check_lengths(videos, captions)
        with self.doc:
            with tags.table(), tags.tr():
                for video, caption in zip(videos, captions, strict=True):
                    with tags.td(style=f"width:{width}px"):
                        with tags.video(
                            width=str(width), controls=True, loop=True, muted=True, preload="auto", playsinline=True
                        ):
                            tags.source(src=video, type="video/mp4")
                        with tags.p():
                            tags.a(caption, href=video)

    def render(self) -> str:
        return self.doc.render()

    def save(self) -> str:
        """Write the page (atomically: temporary file + rename) and return its path."""
        os.makedirs(self.folder, exist_ok=True)
        write_text_atomically(self.path, self.render())
        return self.path


def _check_lengths(*sequences: Sequence[str]) -> None:
    lengths = {len(seq) for seq in sequences}
    if len(lengths) != 1:
        raise ValueError(f"paths, captions (and links) must have the same length, got {sorted(lengths)}")
