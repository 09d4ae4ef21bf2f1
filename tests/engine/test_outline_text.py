"""Letters drawn as vector outlines ("text as curves") have no text layer: they are OCR'd, redacted with the
whole glyph path removed, checked by the leak gate's OCR, and with OCR off the page is blanked, never
passed unread."""

from __future__ import annotations

import numpy as np
import pymupdf

from core.ocr.engine import get_engine
from core.redaction.apply import apply_plan
from core.redaction.plan import PlanItem, RedactionPlan
from tests.engine.pdfs import text_page
from tests.engine.test_hostile_constructs import redact

HOSPITAL, NAME, RECORD, PHONE = "江南市第一人民医院", "王小明", "ZY2025001", "13912345678"
LINES = [f"{HOSPITAL} 入院记录", f"姓名：{NAME}  住院号：{RECORD}", f"电话：{PHONE}", "诊断：妊娠期高血压"]


def outlined(lines: list[str]) -> pymupdf.Document:
    """A page whose letters are paths only (MuPDF's SVG export with text as paths, read back)."""
    doc = pymupdf.open()
    svg = text_page(doc, lines, size=12).get_svg_image(text_as_path=True)
    pdf = pymupdf.open(stream=svg.encode(), filetype="svg").convert_to_pdf()
    return pymupdf.open(stream=pdf, filetype="pdf")


def shown_text(path) -> str:
    page = pymupdf.open(path)[0]
    pix = page.get_pixmap(dpi=150)
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, pix.n)[:, :, :3]
    return "".join(line.text for line in get_engine().recognize(img)).replace(" ", "")


def test_outlined_page_is_read_and_its_identifiers_hidden(tmp_path):
    doc = outlined(LINES)
    assert not doc[0].get_text().strip()  # nothing for a text-layer detector
    r, out, report = redact(tmp_path, doc)
    assert r.returncode == 0, r.stderr
    shown = shown_text(out)
    assert "妊娠期高血压" in shown
    for value in (HOSPITAL, NAME, RECORD, PHONE):
        assert value not in shown, value


def test_outlined_heading_on_a_text_page_is_read():
    doc = pymupdf.open()
    page = text_page(doc, ["", "", "诊断：妊娠期高血压", "血压 135/85mmHg"], size=12)
    heading = outlined([f"{HOSPITAL} 出院记录"])
    page.show_pdf_page(pymupdf.Rect(0, 0, 595, 842), heading, 0)  # the heading as paths over the text page
    from core.engine import analyze_document

    found = analyze_document(pymupdf.open(stream=doc.tobytes(), filetype="pdf")).findings
    assert any(f.category.value == "institution" and HOSPITAL in f.text for f in found)


def test_a_path_cut_by_a_text_box_goes_whole():
    """One path drawing a line of letters: a box over part of it must not leave it under the fill."""
    doc = pymupdf.open()
    page = doc.new_page()
    shape = page.new_shape()
    shape.draw_bezier((40, 110), (90, 90), (140, 130), (240, 110))  # a wavy "line of glyphs", one path
    shape.draw_line((240, 110), (240, 100))
    shape.draw_bezier((240, 100), (140, 120), (90, 80), (40, 100))
    shape.draw_line((40, 100), (40, 110))
    shape.finish(fill=(0, 0, 0), color=None, closePath=True)
    shape.commit()
    doc = pymupdf.open(stream=doc.tobytes(), filetype="pdf")
    apply_plan(doc, RedactionPlan("review", "black", [PlanItem(0, (100, 95, 160, 115), "patient_name")]))
    left = [d for d in doc[0].get_cdrawings() if any(item[0] == "c" for item in d["items"])]
    assert not left


def test_without_ocr_pages_only_ocr_can_read_are_blanked(tmp_path):
    r, out, report = redact(tmp_path, outlined(LINES), "--no-ocr")
    assert r.returncode == 0, r.stderr
    assert report["blanked_pages"] == [1] and "已整页移除" in r.stderr
    assert not [d for d in pymupdf.open(out)[0].get_cdrawings() if any(i[0] == "c" for i in d["items"])]
