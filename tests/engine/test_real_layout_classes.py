"""Classes of misses and over-redactions seen on real EMR print layouts
(issue 10, corpus (b)), on PDFs built here: values that overflow onto the
next label, Chromium's zero-width moves, staff names in table cells."""
from __future__ import annotations

import pymupdf

from core.detect.base import AnalysisContext, PageInput
from core.detect.registry import load_default_recognizers
from core.models import CaseMeta
from core.pdf.sanitize import sanitize
from core.pdf.text import extract_page_text
from core.plan import PlanItem, RedactionPlan
from core.redact import apply_plan
from tests.engine.pdfs import FONT, char_positions

ADDRESS = "杭州市南明区中山东路223号27栋2220室"


def _page_with(doc: pymupdf.Document, texts: list[tuple[float, float, str]], size: float = 8.0) -> pymupdf.Page:
    page = doc.new_page(width=595, height=842)
    page.insert_font(fontname="wqy", fontfile=FONT)
    for x, y, text in texts:
        page.insert_text((x, y), text, fontname="wqy", fontsize=size)
    return page


def _findings(name: str, page: pymupdf.Page, meta: dict | None = None):
    rec = load_default_recognizers([name])[0]
    pin = PageInput(page.number, page, extract_page_text(page))
    return rec.analyze(pin, AnalysisContext(meta=CaseMeta.from_dict(meta)))


def test_a_value_overflowing_across_the_next_label_is_read_whole():
    """An absolutely positioned form: the address runs on over the 电话 label
    of the next cell.  Merged by x the two would interleave (…22电20话室) and
    the address would be covered only up to 27栋."""
    doc = pymupdf.open()
    value_x = 80.0
    label_x = value_x + pymupdf.Font(fontfile=FONT).text_length(ADDRESS[:-4], 8.0)  # over "2220室"
    page = _page_with(doc, [(40, 100, "现住址"), (value_x, 100, ADDRESS), (label_x, 100, "电话"),
                            (label_x + 20, 100, "15891620900")])
    text = extract_page_text(page).text
    assert ADDRESS in text and "电话" in text
    hits = [f for f in _findings("address", page)]
    assert [f.text for f in hits] == [ADDRESS]
    last = max(c[1] for c in char_positions(page) if c[0] == "室")
    assert max(r[2] for f in hits for r in f.rects) > last + 6  # the box reaches past 室


def test_text_printed_side_by_side_is_still_one_line():
    doc = pymupdf.open()
    page = _page_with(doc, [(40, 100, "姓名："), (64, 100, "王小红"), (88, 100, "性别：女")])
    assert "姓名：王小红性别：女" in extract_page_text(page).text


def _zero_move_page(doc: pymupdf.Document) -> pymupdf.Page:
    """What Chromium prints for '\\u200b男': a space glyph, then "0 0 Td" back to
    the line start, then the next glyph at the same place."""
    page = doc.new_page(width=300, height=200)
    page.insert_text((20, 40), "x", fontname="helv", fontsize=10)
    font = page.get_fonts()[0][4]
    xref = page.get_contents()[0]
    stream = (f"\nBT /{font} 10 Tf 1 0 0 1 100 150 Tm /Span<</ActualText <FEFF200B> >> BDC ( ) Tj EMC "
              f"0 0 Td (AB) Tj ET\n").encode()
    doc.update_stream(xref, doc.xref_stream(xref) + stream)
    return page


def test_glyphs_after_a_zero_width_move_keep_their_place_after_redaction():
    doc = pymupdf.open()
    _zero_move_page(doc)
    before = [c for c in char_positions(doc[0]) if c[0] in "AB"]
    plan = RedactionPlan("review", "black", [PlanItem(0, (15.0, 30.0, 30.0, 45.0), "patient_name")])
    apply_plan(doc, plan)
    sanitize(doc)
    out = pymupdf.open("pdf", doc.tobytes())
    after = [c for c in char_positions(out[0]) if c[0] in "AB"]
    assert [c[0] for c in after] == ["A", "B"]
    assert all(abs(a[1] - b[1]) < 0.01 and abs(a[2] - b[2]) < 0.01 for a, b in zip(before, after)), (before, after)
    assert "x" not in out[0].get_text()
