"""Real OCR: the box of an identifier found on a scan covers its ink and
no more of the blank around it, so the label before it stays readable."""
from __future__ import annotations

import pymupdf
import pytest

from core.engine import analyze_document

from .scans import FONT, glyph_box, pixels, scan_of

FIELDS = [("姓名：", "李小敏"), ("床号：", "107"), ("病案号：", "779600")]


FS = 10.5


@pytest.fixture(scope="module")
def scanned_fields():
    src_doc = pymupdf.open()
    src = src_doc.new_page(width=420, height=140)
    for k, (label, value) in enumerate(FIELDS):
        y = 40 + 30 * k
        src.insert_text((40, y), label + value, fontname="wqy", fontfile=FONT, fontsize=FS)
        if k == 0:  # a form's underline under the value
            x = 40 + FS * len(label)
            src.draw_line((x, y + 4), (x + FS * len(value) + 30, y + 4), color=(0, 0, 0), width=0.6)
    doc, page = scan_of(pixels(src), 420, 140)
    meta = {"patient_name": "李小敏", "inpatient_no": "779600"}
    return src_doc, src, analyze_document(doc, meta, workers=1).findings


@pytest.mark.parametrize("label,value", FIELDS)
def test_a_value_box_covers_the_value_and_leaves_the_colon_cell(scanned_fields, label, value):
    _, src, findings = scanned_fields
    truth = pymupdf.Rect(glyph_box(src, value))
    mine = [f for f in findings if any(pymupdf.Rect(r).intersects(truth) for r in f.rects)]
    assert mine, f"value after {label} not found"
    box = pymupdf.Rect(mine[0].rects[0])
    for f in mine[1:]:
        for r in f.rects:
            box |= pymupdf.Rect(r)
    assert box.contains(truth + (1, 1, -1, -1)), f"value after {label} not covered"
    colon_cell = glyph_box(src, label[-1])
    # the scorer lets a box spill 3 pt; the colon's em cell ends where the value's glyphs begin
    assert box.x0 >= colon_cell[2] - 2.5, f"box after {label} reaches {colon_cell[2] - box.x0:.1f} pt into the colon's cell"
