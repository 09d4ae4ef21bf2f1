"""OCR's character boxes are estimates and may overlap their neighbours: a
name's box that starts inside the previous character's box would cut that
character.  The finding's box ends at the ink gap between the two glyphs,
never inside the name.  A scan built here, real OCR."""

from __future__ import annotations

import numpy as np
import pymupdf

from core.detect.base import finding_from_span
from core.engine import page_input
from core.models import Category
from tests.engine.pdfs import char_boxes, rasterize

LINE, NAME = "今日王小红查房", "王小红"


def _scan_and_glyphs():
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 120), LINE, fontsize=20, fontname="china-s")
    return rasterize(pymupdf.open("pdf", doc.tobytes()), dpi=150), dict(char_boxes(page))


def _ink_columns(page: pymupdf.Page, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    pix = page.get_pixmap(clip=pymupdf.Rect(x0, y0, x1, y1), dpi=300, colorspace=pymupdf.csGRAY)
    gray = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width)
    return x0 + np.nonzero((gray < 128).any(axis=0))[0] * 72 / 300


def test_a_name_box_reaching_into_the_previous_character_stops_at_their_ink_gap():
    scan, glyphs = _scan_and_glyphs()
    pin, _ = page_input(scan[0])
    text = pin.text
    start = text.text.find(NAME)
    assert start > 0 and text.text[start - 1] == "日", text.text
    before = text.boxes[start - 1]
    # an estimate that overlaps: the name's first box starts 40 % into 日's box
    first = list(text.boxes[start])
    first[0] = before[0] + 0.6 * (before[2] - before[0])
    text.boxes[start] = tuple(first)
    finding = finding_from_span(pin, start, start + len(NAME), Category.PATIENT_NAME, "test")
    x0 = finding.rects[0][0]
    ri, wang = glyphs["日"], glyphs["王"]
    ri_ink = _ink_columns(scan[0], ri[0], ri[2], ri[1], ri[3])
    wang_ink = _ink_columns(scan[0], wang[0], wang[2], wang[1], wang[3])
    assert ri_ink.max() < x0 + 0.5  # 日 keeps its ink
    assert x0 <= wang_ink.min()  # 王 is covered from its first stroke
