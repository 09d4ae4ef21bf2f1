"""OCR for export verification and flattened text layers.

Uses the project's OCR module (``core.ocr.page.ocr_page_chars``).  Until
that module is importable, RapidOCR is called directly (same engine, line
boxes split evenly into characters) so export verification never silently
skips image pages.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pymupdf


@lru_cache(maxsize=1)
def _project_ocr():
    try:
        from core.ocr.page import ocr_page_chars  # type: ignore

        return ocr_page_chars
    except ImportError:
        return None


@lru_cache(maxsize=1)
def _rapid():
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


def _rapid_chars(page: pymupdf.Page, dpi: int) -> list[tuple[str, tuple]]:
    pix = page.get_pixmap(dpi=dpi, alpha=False)
    img = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, pix.n)
    result, _ = _rapid()(img)
    out = []
    f = 72.0 / dpi
    for box, text, _score in result or []:
        xs = [p[0] for p in box]
        ys = [p[1] for p in box]
        x0, x1, y0, y1 = min(xs) * f, max(xs) * f, min(ys) * f, max(ys) * f
        n = max(1, len(text))
        step = (x1 - x0) / n
        for i, c in enumerate(text):
            disp = pymupdf.Rect(x0 + i * step, y0, x0 + (i + 1) * step, y1) * page.derotation_matrix
            out.append((c, tuple(disp)))
        out.append(("\n", None))
    return out


def ocr_chars(page: pymupdf.Page, dpi: int = 150) -> list[tuple[str, tuple]]:
    """[(char, rect in unrotated page points)], with ("\\n", None) between lines."""
    fn = _project_ocr()
    if fn is None:
        return _rapid_chars(page, dpi)
    out = []
    last_bottom = None
    for ch in fn(page, dpi):
        c = getattr(ch, "c", None) or ch[0]
        rect = getattr(ch, "rect", None) or ch[1]
        if last_bottom is not None and rect and rect[1] > last_bottom:
            out.append(("\n", None))
        out.append((c, tuple(rect) if rect else None))
        if rect:
            last_bottom = rect[3]
    return [(c, r) for c, r in out if c != "\n" or r is None]


def ocr_text(page: pymupdf.Page, dpi: int = 150) -> str:
    return "".join(c for c, _ in ocr_chars(page, dpi))
