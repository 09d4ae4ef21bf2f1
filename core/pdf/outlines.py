"""Letters drawn as vector outlines ("text as curves"): glyph-sized filled paths with curves.

Some report printers and PDF converters emit every glyph (or every line) as a path: the page shows text
that its text layer does not have.  ``core.ocr.page`` OCRs where such paths are; ``core.redaction.apply``
removes the whole path under a box, not only what the box covers.
"""

from __future__ import annotations

import pymupdf

from core.models import Rect
from core.pdf.drawings import page_drawings

MAX_GLYPH_PT = 72.0  # taller filled curves are drawings (emblems, seals), not print


def glyph_paths(page: pymupdf.Page) -> list[Rect]:
    """Boxes (unrotated points) of the page's glyph-like paths; none when the content cannot be read."""
    try:
        drawings = page_drawings(page)
    except Exception:  # damaged content streams: judged by the page's other checks
        return []
    return [tuple(d["rect"]) for d in drawings if is_glyph_like(d)]


def is_glyph_like(drawing: dict) -> bool:
    """A filled path with curves, no taller than a line of large print."""
    r = drawing.get("rect")
    if r is None or drawing.get("fill") is None:
        return False
    w, h = r[2] - r[0], r[3] - r[1]
    if not (0.5 <= h <= MAX_GLYPH_PT and w > 0.3):
        return False
    return any(item[0] in ("c", "qu") for item in drawing.get("items") or ())
