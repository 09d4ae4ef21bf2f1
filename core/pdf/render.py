"""Render pages to pixels (display orientation, i.e. /Rotate applied)."""
from __future__ import annotations

import numpy as np
import pymupdf


def render_pixmap(page: pymupdf.Page, dpi: int, clip=None, gray: bool = False) -> pymupdf.Pixmap:
    cs = pymupdf.csGRAY if gray else pymupdf.csRGB
    return page.get_pixmap(dpi=dpi, colorspace=cs, alpha=False, clip=clip)


def render_page_rgb(page: pymupdf.Page, dpi: int = 150, clip=None) -> np.ndarray:
    pix = render_pixmap(page, dpi, clip)
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, pix.n).copy()


def render_page_png(page: pymupdf.Page, dpi: int = 100) -> bytes:
    return render_pixmap(page, dpi).tobytes("png")
