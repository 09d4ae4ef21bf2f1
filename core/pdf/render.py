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


GREY_SPACES = ("DeviceGray", "ICCBased(Gray", "CalGray")


def is_grey_image(info: dict) -> bool:
    """Whether an image of ``page.get_image_info()`` is grey.  Its component
    count alone does not say: an Indexed or Separation colourspace has one
    component and may show any colour."""
    return info.get("colorspace") == 1 and str(info.get("cs-name", "")).startswith(GREY_SPACES)


def release_page_memory() -> None:
    """After a page: drop MuPDF's cache of decoded images and fonts (each page
    is seen once) and hand the heap that a page's renders, OCR tensors and
    text freed back to the system (glibc keeps it otherwise: a page process
    grew by ~110 MB over a few scanned pages, measured).  Nothing is lost:
    what is dropped is rebuilt on demand."""
    pymupdf.TOOLS.store_shrink(100)
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


_TRIM: list = []


def _malloc_trim():
    if not _TRIM:
        try:
            import ctypes

            _TRIM.append(ctypes.CDLL("libc.so.6").malloc_trim)
        except (OSError, AttributeError):  # not glibc: nothing to hand back
            _TRIM.append(None)
    return _TRIM[0]
