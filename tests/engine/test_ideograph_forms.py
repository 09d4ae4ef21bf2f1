"""A text layer whose font maps glyphs to radical or compatibility code points (王⼩红 with U+2F29, ⻓沙 with
U+2ED3): the recognizers read the ideographs, the redaction removes the characters as stored, and the
leak gate folds them by itself."""

from __future__ import annotations

import unicodedata

import pymupdf

from core.engine import analyze_document, redact_to_bytes
from core.pdf.text import layer_form, text_lines
from core.verify.match import gate_norm

LINES = ["姓名：王\u2f29红  性别：女  年龄：28岁", "现住址：\u2ed3沙市岳麓区麓山路12号", "诊断：先兆子痫"]


def _record() -> pymupdf.Document:
    doc = pymupdf.open()
    page = doc.new_page()
    for k, line in enumerate(LINES):
        page.insert_text((60, 80 + 30 * k), line, fontname="china-s", fontsize=12)
    return doc


def test_layer_forms_read_as_the_characters_they_print():
    assert layer_form("\u2f29") == "小" and layer_form("\u2ed3") == "长" and layer_form("\uf900") == "豈"
    assert layer_form("a") == "a" and layer_form("小") == "小" and layer_form("１") == "１"
    assert layer_form("\U0001d7cf") == "1" and layer_form("\u00b9") == "1" and layer_form("\u0661") == "1"
    assert layer_form("\u200b") == layer_form("\ufe00") == layer_form("\u0301") == ""
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


def _layer_of(lines: list[str]) -> pymupdf.Document:
    """A page whose text layer holds ``lines`` as they are (code points no font draws included): a simple
    font whose ToUnicode maps one byte per character."""
    chars = sorted({ch for line in lines for ch in line})
    assert len(chars) < 200
    code = {ch: 0x21 + i for i, ch in enumerate(chars)}
    bf = "".join(f"<{code[ch]:02X}> <{ch.encode('utf-16-be').hex().upper()}>\n" for ch in chars)
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def "
        "1 begincodespacerange <00> <FF> endcodespacerange "
        f"{len(chars)} beginbfchar\n{bf}endbfchar endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((5, 5), " ", fontname="helv", fontsize=1)
    font = [x for x in doc.get_page_fonts(0) if x[4] == "helv"][0][0]
    tu = doc.get_new_xref()
    doc.update_object(tu, "<<>>")
    doc.update_stream(tu, cmap.encode())
    doc.xref_set_key(font, "ToUnicode", f"{tu} 0 R")

    def shown(ch: str) -> str:  # a character that prints nothing is set (nearly) without advance
        size = 0.1 if unicodedata.category(ch) in ("Mn", "Me", "Cf") else 12
        return f"/helv {size} Tf <{code[ch]:02X}> Tj "

    body = "".join(
        f"BT 60 {760 - 30 * k} Td {''.join(shown(ch) for ch in line)}ET\n" for k, line in enumerate(lines)
    )
    xref = page.get_contents()[-1]
    doc.update_stream(xref, doc.xref_stream(xref) + b"\n" + body.encode())
    return doc


def test_marks_and_format_characters_inside_a_name_and_styled_digits_hide_nothing():
    digits = "".join(chr(0x1D7CE + int(d)) for d in "13912345678")  # mathematical bold digits
    doc = _layer_of(["患者张\u200b伟，男，45岁。", "家属王\ufe00小\u0301红陪同。", f"电话：{digits}"])
    text = "".join(c.c for line in text_lines(doc[0]) for c in line)
    assert "张伟" in text and "王小红" in text and "13912345678" in text
    texts = {f.text for f in analyze_document(doc, ocr=False).findings}
    assert {"张伟", "王小红", "13912345678"} <= texts
