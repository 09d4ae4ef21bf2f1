"""Real OCR: the box of an identifier found on a scan covers its ink and
no more of the blank around it, so the label before it stays readable."""

from __future__ import annotations

import numpy as np
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
    assert box.x0 >= colon_cell[2] - 2.5, (
        f"box after {label} reaches {colon_cell[2] - box.x0:.1f} pt into the colon's cell"
    )


def test_a_faint_line_on_an_underline_is_detected():
    """A light-grey printed value on a form's underline scores under the
    detector's default 0.5 (the phone number's box was dropped, never read);
    the engine keeps boxes from 0.4 on, and the number is found."""
    from core.ocr.engine import RapidOcrEngine
    from core.ocr.page import render

    from .test_table_cells import noisy_scan

    class DefaultThreshold(RapidOcrEngine):
        BOX_THRESH = 0.5

    phone = "13940472665"
    ukai = "/usr/share/fonts/truetype/arphic/ukai.ttc"
    src_doc = pymupdf.open()
    src = src_doc.new_page(width=595, height=120)
    grey = (0.6, 0.6, 0.6)
    src.insert_text((215, 60), "地址/电话:", fontname="f", fontfile=ukai, fontsize=10, color=grey)
    src.insert_text(
        (262, 58),
        "石家庄市蜀山区五四路131号20栋1452室/" + phone,
        fontname="f",
        fontfile=ukai,
        fontsize=10,
        color=grey,
    )
    src.draw_line((258, 61), (550, 61), color=(0, 0, 0), width=0.75)
    doc, page = noisy_scan(src)
    img, _ = render(page, 150)
    assert not any(phone in ln.text for ln in DefaultThreshold().recognize(img)), "premise: 0.5 drops the box"
    found = [f for f in analyze_document(doc, {}, workers=1).findings if f.category.value == "phone"]
    assert found, "the phone number was not found"
    # every inked pixel of the number lies under the finding's box
    ink = pixels(page).mean(axis=2) < 200  # faint print: grey, not black
    k = 150 / 72
    tx0, ty0, tx1, ty1 = (int(round(v * k)) for v in glyph_box(src, phone))
    target = np.zeros_like(ink)
    target[ty0:ty1, tx0:tx1] = True
    target &= ink
    box = np.zeros_like(ink)
    for r in found[0].rects:
        box[
            int(np.floor(r[1] * k)) : int(np.ceil(r[3] * k)), int(np.floor(r[0] * k)) : int(np.ceil(r[2] * k))
        ] = True
    assert (target & box).sum() >= 0.97 * target.sum() > 0


@pytest.fixture(scope="module")
def scanned_form_rows():
    """A form scanned: 病案号 over a slightly sloping underline (a skewed scan's
    rule is inked over several pixel rows, none of them full), and an address
    line right above the next field's label."""
    src_doc = pymupdf.open()
    src = src_doc.new_page(width=420, height=160)
    src.insert_text((40, 40), "病案号：779600", fontname="wqy", fontfile=FONT, fontsize=FS)
    x = 40 + FS * 4
    src.draw_line((x - 30, 43.2), (x + FS * 6 + 30, 45.6), color=(0, 0, 0), width=0.7)
    src.insert_text(
        (40, 80), "现住址：江苏省徐州市铜山区青年路102号", fontname="wqy", fontfile=FONT, fontsize=FS
    )
    src.insert_text((40, 93), "职业：工人", fontname="wqy", fontfile=FONT, fontsize=FS)
    doc, _ = scan_of(pixels(src), 420, 160)
    meta = {"inpatient_no": "779600"}
    return src, analyze_document(doc, meta, workers=1).findings


def _box_over(findings, truth):
    mine = [r for f in findings for r in f.rects if pymupdf.Rect(r).intersects(truth)]
    assert mine, "value not found"
    box = pymupdf.Rect(mine[0])
    for r in mine[1:]:
        box |= pymupdf.Rect(r)
    return box


def test_a_sloping_underline_does_not_keep_the_box_in_the_colon_cell(scanned_form_rows):
    src, findings = scanned_form_rows
    truth = pymupdf.Rect(glyph_box(src, "779600"))
    box = _box_over(findings, truth)
    assert box.contains(truth + (1, 1, -1, -1)), "value not covered"
    colon_cell = glyph_box(src, "：")
    assert box.x0 >= colon_cell[2] - 2.5, f"box reaches {colon_cell[2] - box.x0:.1f} pt into the colon's cell"


def test_a_value_box_stops_above_the_label_on_the_next_line(scanned_form_rows):
    src, findings = scanned_form_rows
    truth = pymupdf.Rect(glyph_box(src, "江苏省徐州市"))
    box = _box_over(findings, truth)
    assert box.y0 <= truth.y0 + 2 and box.y1 >= truth.y1 - 2, "address not covered"
    label = glyph_box(src, "职业")
    # the redaction pads a box by 1 pt; the label's glyph cells must stay clear
    assert box.y1 + 1.0 <= label[1] + 0.5, f"box reaches {box.y1 + 1.0 - label[1]:.1f} pt into 职业"
