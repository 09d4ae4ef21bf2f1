"""Builders for OCR test pages: born-digital source pages, their "scans"
(rendered at 150 dpi and inserted as the only content of a new page),
ground-truth glyph boxes and ink-coverage measurement."""

from __future__ import annotations

import numpy as np
import pymupdf

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
SCAN_DPI = 150


def source_page(
    lines: list[str], width: float = 595, height: float = 300, fontsize: float = 11, x: float = 40
):
    """A born-digital page with one text line per entry (wqy font)."""
    doc = pymupdf.open()
    page = doc.new_page(width=width, height=height)
    y = 50.0
    for text in lines:
        page.insert_text((x, y), text, fontname="wqy", fontfile=FONT, fontsize=fontsize)
        y += fontsize * 2.4
    return doc, page


def pixels(page: pymupdf.Page, dpi: int = SCAN_DPI) -> np.ndarray:
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csRGB, alpha=False)
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3).copy()


def scan_of(img: np.ndarray, width: float, height: float, rotate: int = 0):
    """An image-only page showing ``img`` over the whole page (a scan)."""
    doc = pymupdf.open()
    page = doc.new_page(width=width, height=height)
    pix = pymupdf.Pixmap(
        pymupdf.csRGB, img.shape[1], img.shape[0], np.ascontiguousarray(img).tobytes(), False
    )
    page.insert_image(page.rect, pixmap=pix)
    if rotate:
        page.set_rotation(rotate)
    return doc, page


def glyph_box(page: pymupdf.Page, needle: str) -> tuple[float, float, float, float]:
    """Union of the text-layer glyph boxes of ``needle`` (unrotated points)."""
    chars = [
        (c["c"], c["bbox"])
        for b in page.get_text("rawdict")["blocks"]
        for ln in b.get("lines", [])
        for s in ln["spans"]
        for c in s["chars"]
    ]
    text = "".join(c for c, _ in chars)
    i = text.index(needle)
    boxes = [b for _, b in chars[i : i + len(needle)]]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def ink_mask(img: np.ndarray) -> np.ndarray:
    return img.mean(axis=2) < 140


def ink_covered(ink: np.ndarray, truth_px, box_px) -> float:
    """Share of the ink inside ``truth_px`` that ``box_px`` covers."""
    h, w = ink.shape
    tx0, ty0, tx1, ty1 = [int(round(v)) for v in truth_px]
    region = np.zeros_like(ink)
    region[max(0, ty0) : min(h, ty1), max(0, tx0) : min(w, tx1)] = True
    target = ink & region
    total = int(target.sum())
    assert total > 0, "no ink inside the ground-truth box"
    bx0, by0, bx1, by1 = box_px
    cover = np.zeros_like(ink)
    cover[
        max(0, int(np.floor(by0))) : min(h, int(np.ceil(by1))),
        max(0, int(np.floor(bx0))) : min(w, int(np.ceil(bx1))),
    ] = True
    return float((target & cover).sum()) / total


def find(lines, needle: str):
    """(line, start) of the first OCR line containing ``needle``."""
    for ln in lines:
        text = "".join(c.c for c in ln)
        i = text.find(needle)
        if i >= 0:
            return ln, i
    texts = ["".join(c.c for c in ln) for ln in lines]
    raise AssertionError(f"{needle!r} not read (synthetic test data); lines: {texts}")


def union(rects):
    rects = list(rects)
    return (
        min(r[0] for r in rects),
        min(r[1] for r in rects),
        max(r[2] for r in rects),
        max(r[3] for r in rects),
    )
