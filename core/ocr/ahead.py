"""Reading the next scanned page while this page's recognizers run.

A scanned page costs its OCR (ONNX Runtime on both cores, the GIL released)
and then its recognizers (mostly Python on one core).  In the one-process
page loop of ``core.engine.analyze_document`` the second core idles during
the recognizers; :class:`ReadAhead` lets it read the next page meanwhile.

Only pixels cross to the background thread: the page is rendered in the
calling thread (PyMuPDF is not thread-safe) by the same ``render`` the page
stage uses, and the thread runs ``ocr_image`` on it, the same cached call.
The page stage (``core.engine``) hands the reading to ``ocr_page_chars``
only for exactly that request (same document, page, resolution, whole
page, default engine and cache), so what a page is read as never depends
on whether it was read ahead; a reading nobody asks for is dropped.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np
import pymupdf


@dataclass
class _Reading:
    doc: pymupdf.Document
    number: int
    dpi: int
    img: np.ndarray
    offset: tuple[float, float]
    lines: Future


class ReadAhead:
    """One reading in flight at most, on one background thread."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ocr-ahead")
        self._next: Optional[_Reading] = None

    def start(self, page: pymupdf.Page, dpi: int) -> None:
        """Render ``page`` here and read it in the background, when it is a
        page the page stage will OCR whole (images over most of it)."""
        from core.ocr.page import ocr_image, render, reads_whole

        self._drop()
        if not reads_whole(page):
            return
        img, offset = render(page, dpi)
        if img.size == 0:
            return
        lines = self._pool.submit(ocr_image, img, dpi=dpi, clip=None)
        self._next = _Reading(page.parent, page.number, dpi, img, offset, lines)

    def take(self, page: pymupdf.Page, dpi: int) -> Optional[tuple[np.ndarray, tuple, list]]:
        """(render, its offset, OCR lines) of ``page`` when it was read ahead
        at ``dpi``; the reading's error, if it failed, is raised here."""
        r = self._next
        if r is None or r.doc is not page.parent or r.number != page.number or r.dpi != dpi:
            return None
        self._next = None
        return r.img, r.offset, r.lines.result()

    def close(self) -> None:
        self._drop()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _drop(self) -> None:
        r, self._next = self._next, None
        if r is not None and not r.lines.cancel():
            r.lines.exception()  # wait: one reading at a time, and never one left running


_ACTIVE = threading.local()


@contextmanager
def reading_ahead(enabled: bool = True) -> Iterator[Optional[ReadAhead]]:
    """A :class:`ReadAhead` for this thread's page loop (None when not
    ``enabled``), closed at the end, also on cancel or error."""
    if not enabled:
        yield None
        return
    ahead = ReadAhead()
    _ACTIVE.ahead = ahead
    try:
        yield ahead
    finally:
        _ACTIVE.ahead = None
        ahead.close()


def active() -> Optional[ReadAhead]:
    return getattr(_ACTIVE, "ahead", None)
