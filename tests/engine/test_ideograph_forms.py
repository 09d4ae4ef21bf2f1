"""A text layer whose font maps glyphs to radical or compatibility code points (王⼩红 with U+2F29, ⻓沙 with
U+2ED3): the recognizers read the ideographs, the redaction removes the characters as stored, and the
leak gate folds them by itself."""

from __future__ import annotations

import pymupdf

from core.engine import analyze_document, redact_to_bytes
from core.pdf.text import ideograph_form, text_lines
from core.verify.match import gate_norm

LINES = ["姓名：王\u2f29红  性别：女  年龄：28岁", "现住址：\u2ed3沙市岳麓区麓山路12号", "诊断：先兆子痫"]


def _record() -> pymupdf.Document:
    doc = pymupdf.open()
    page = doc.new_page()
    for k, line in enumerate(LINES):
        page.insert_text((60, 80 + 30 * k), line, fontname="china-s", fontsize=12)
    return doc


def test_radical_forms_read_as_their_ideographs():
    assert (
        ideograph_form("\u2f29") == "小"
        and ideograph_form("\u2ed3") == "长"
        and ideograph_form("\uf900") == "豈"
    )
    assert ideograph_form("a") == "a" and ideograph_form("小") == "小"
    text = "".join(c.c for line in text_lines(_record()[0]) for c in line)
    assert "王小红" in text and "长沙市" in text


def test_a_name_and_an_address_in_radical_forms_are_found_and_removed():
    doc = _record()
    analysis = analyze_document(doc, ocr=False)
    texts = {(f.category.value, f.text) for f in analysis.findings}
    assert ("patient_name", "王小红") in texts
    assert any(cat == "address" and t.startswith("长沙市") for cat, t in texts)
    data, report, _ = redact_to_bytes(doc, analysis.findings)
    assert report.ok
    out = pymupdf.open("pdf", data)[0].get_text()
    assert "\u2f29" not in out and "\u2ed3" not in out and "先兆子痫" in out


def test_the_leak_gate_folds_radical_forms_itself():
    assert gate_norm("王\u2f29红") == gate_norm("王小红")
    assert gate_norm("\u2ed3沙") == gate_norm("长沙")
