"""Form fields and annotations are page content as shown: what they show is detected and redacted like
any text, the clinical values in them stay readable, and what they do not show (a note's popup) is gone."""

from __future__ import annotations

import pymupdf

from core.pdf.open import open_pdf
from tests.engine.pdfs import FONT
from tests.engine.test_hostile_constructs import assert_nowhere, redact

NAME, PHONE, ID = "王小红", "13912345678", "320106199501011237"
DIAGNOSIS = "妊娠期高血压"


def form_pdf() -> pymupdf.Document:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_font(fontname="wqy", fontfile=FONT)
    page.insert_text((50, 80), "姓名：", fontname="wqy", fontsize=12)
    page.insert_text((50, 120), "诊断：", fontname="wqy", fontsize=12)
    for y, value, field in ((66, NAME, "name"), (106, DIAGNOSIS, "diagnosis")):
        widget = pymupdf.Widget()
        widget.field_type, widget.field_name, widget.field_value = pymupdf.PDF_WIDGET_TYPE_TEXT, field, value
        widget.rect, widget.text_font, widget.text_fontsize = pymupdf.Rect(90, y, 300, y + 18), "china-s", 12
        page.add_widget(widget)
    page.add_freetext_annot(
        pymupdf.Rect(50, 200, 300, 230), f"联系电话 {PHONE}", fontname="china-s", fontsize=11
    )
    page.add_text_annot((400, 80), f"身份证号 {ID}")  # a sticky note: its text is never shown on the page
    return pymupdf.open(stream=doc.tobytes(), filetype="pdf")


def test_opened_document_shows_fields_and_notes_as_page_text():
    doc = open_pdf(form_pdf().tobytes())
    page = doc[0]
    assert not list(page.annots()) and not list(page.widgets())
    text = page.get_text()
    assert NAME in text and DIAGNOSIS in text and PHONE in text and ID not in text


def test_cli_redacts_what_fields_show_and_keeps_their_clinical_values(tmp_path):
    r, out, report = redact(tmp_path, form_pdf(), "--no-ocr")
    assert r.returncode == 0, r.stderr
    assert_nowhere(out, NAME, PHONE, ID)
    assert DIAGNOSIS in pymupdf.open(out)[0].get_text()
