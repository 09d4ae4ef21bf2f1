"""One reading of a page's vector drawings, shared by every reader.

``page.get_cdrawings()`` interprets the page's whole content stream.  The
OCR regions (letters drawn as outlines, pages made of paths:
``core.pdf.outlines``, ``core.ocr.page``), the visual layout
(``core.detect.visual.common``) and the leak gate's OCR tasks all read it.
Within :func:`one_reading` (the engine's analysis of one page) the page
is read once and every reader gets that reading; outside it each call
reads the page as it is now, so a page changed in place (redactions,
drawing) is never judged from an old reading.  The dicts returned are
shared: readers must not change them.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

import pymupdf

_SCOPE = threading.local()  # the page being analysed on this thread and its reading


@contextmanager
def one_reading(page: pymupdf.Page) -> Iterator[None]:
    """While the block runs (nothing changes ``page``), :func:`page_drawings`
    of this page object reads it once."""
    outer = getattr(_SCOPE, "page", None), getattr(_SCOPE, "drawings", None)
    _SCOPE.page, _SCOPE.drawings = page, None
    try:
        yield
    finally:
        _SCOPE.page, _SCOPE.drawings = outer


def page_drawings(page: pymupdf.Page) -> list[dict]:
    """``page.get_cdrawings()``, once per :func:`one_reading` block; raises as
    it does on content MuPDF cannot read (nothing is kept then)."""
    if getattr(_SCOPE, "page", None) is not page:
        return page.get_cdrawings()
    if _SCOPE.drawings is None:
        _SCOPE.drawings = page.get_cdrawings()
    return _SCOPE.drawings
