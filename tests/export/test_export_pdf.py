"""The merged PDF: order, bookmarks, page numbers, cover, options,
password, flatten, hidden data."""

from __future__ import annotations

import pymupdf
import pytest

from core.errors import InputError
from core.export.options import ExportDocument, ExportOptions
from core.export.pipeline import export_case
from tests.export import helpers

IDS = [v for _, v, _ in helpers.IDENTIFIERS]


def _open(result, password=""):
    doc = pymupdf.open(stream=result.pdf, filetype="pdf")
    if password:
        assert doc.authenticate(password)
    return doc


def _export_admission(pdf: pymupdf.Document):
    """A one-document export (no cover) of ``pdf`` as the 入院记录, with its findings."""
    data = pdf.tobytes()
    return export_case(
        [ExportDocument("d01", "入院记录", data, helpers.findings_for(data))],
        helpers.META,
        ExportOptions(cover=False),
        extra_identifiers=IDS,
    )


def test_merged_in_catalog_order_with_cover_bookmarks_and_page_numbers():
    result = export_case(
        helpers.case_documents(),
        helpers.META,
        ExportOptions(watermark="匿名化副本 · 仅供{committee}使用 · {code}", committee="孕产妇危重症评审"),
        extra_identifiers=IDS,
        approval=[{"role": "审核人", "action": "审核批准", "at": "2025-04-01"}],
    )
    doc = _open(result)
    assert doc.page_count == 4 == result.page_count
    assert [t for _, t, _ in doc.get_toc()] == ["封面", "入院记录", "病程记录"]
    assert [p for _, _, p in doc.get_toc()] == [1, 2, 4]
    cover = doc[0].get_text()
    assert result.code in cover and "入院记录" in cover and "审核人" in cover
    assert "患者姓名：" in cover and "医师姓名：" in cover  # counts per category, display names
    for i in range(0, 4):  # one number per page, the PDF's own (the cover is page 1)
        assert f"第 {i + 1} 页 / 共 4 页" in doc[i].get_text()
    assert "第 2 页起" in cover  # the table of contents points at PDF pages
    for i in range(1, 4):
        assert f"仅供孕产妇危重症评审使用 · {result.code}" in doc[i].get_text()
    assert "停经38周" in doc[1].get_text()  # clinical content kept
    everything = "".join(p.get_text() for p in doc)
    for value in IDS:
        assert value not in everything
    assert result.verify["ok"] and result.manifest["sha256"]


def test_include_exclude_and_explicit_order():
    docs = helpers.case_documents()
    r = export_case(docs, helpers.META, ExportOptions(cover=False, exclude=["d01"]), extra_identifiers=IDS)
    assert [t for _, t, _ in _open(r).get_toc()] == ["病程记录"]
    r = export_case(
        docs, helpers.META, ExportOptions(cover=False, order=["d02", "d01"]), extra_identifiers=IDS
    )
    assert [t for _, t, _ in _open(r).get_toc()] == ["病程记录", "入院记录"]
    docs[0].include = False  # excluded during review: never exported, whatever the options say
    r = export_case(
        docs, helpers.META, ExportOptions(cover=False, include=["d01", "d02"]), extra_identifiers=IDS
    )
    assert [t for _, t, _ in _open(r).get_toc()] == ["入院记录"]
    with pytest.raises(InputError):
        export_case(docs, helpers.META, ExportOptions(exclude=["d01"]), extra_identifiers=IDS)


def test_password_protected_output_opens_only_with_the_password():
    result = export_case(
        helpers.case_documents(),
        helpers.META,
        ExportOptions(password="Secret-Pw-2025"),
        extra_identifiers=IDS,
    )
    doc = pymupdf.open(stream=result.pdf, filetype="pdf")
    assert doc.needs_pass
    assert doc.is_encrypted
    assert not doc.authenticate("wrong-password")
    assert not doc.authenticate("")
    assert doc.authenticate("Secret-Pw-2025")
    assert doc.page_count == 4
    assert "AES" in doc.metadata["encryption"] and "256" in doc.metadata["encryption"]
    assert "入院记录" in doc[1].get_text()
    assert b"\xe5\x85\xa5\xe9\x99\xa2" not in result.pdf  # not even the UTF-8 of 入院 in plain bytes


def test_flatten_output_has_no_text():
    result = export_case(
        helpers.case_documents(),
        helpers.META,
        ExportOptions(flatten=True, flatten_dpi=100, verify_ocr="none"),
        extra_identifiers=IDS,
    )
    doc = _open(result)
    assert doc.page_count == 4
    for page in doc:
        assert page.get_text().strip() == ""
        assert len(page.get_images()) == 1
        assert not page.get_fonts()
    assert [t for _, t, _ in doc.get_toc()] == ["封面", "入院记录", "病程记录"]


def test_hidden_data_of_inputs_is_removed():
    pdf = pymupdf.open(stream=helpers.admission_pdf(), filetype="pdf")
    pdf.set_metadata({"author": helpers.PATIENT, "title": helpers.HOSPITAL})
    pdf.set_xml_metadata(f"<x:xmpmeta xmlns:x='adobe:ns:meta/'>{helpers.PATIENT}</x:xmpmeta>")
    pdf.set_toc([[1, helpers.PATIENT, 1]])
    pdf[0].add_text_annot((300, 300), f"家属 {helpers.HUSBAND}")
    pdf.embfile_add("note.txt", helpers.ID_NUMBER.encode())
    pdf.set_page_labels([{"startpage": 0, "prefix": helpers.PATIENT, "style": "D"}])
    result = _export_admission(pdf)
    doc = _open(result)
    # the PAdES signing revision adds only Producer (pyHanko) and dates; nothing from the inputs survives
    meta = {k: v for k, v in doc.metadata.items() if v and k not in ("format", "encryption")}
    assert set(meta) <= {"producer", "creationDate", "modDate"}, meta
    xmp = doc.get_xml_metadata()
    for value in IDS:
        assert value not in xmp and value not in str(meta)
    assert doc.embfile_names() == []
    assert all(not list(p.annots()) for p in doc)
    assert [t for _, t, _ in doc.get_toc()] == ["入院记录"]
    for value in IDS:
        assert value.encode("utf-16-be") not in result.pdf and value.encode() not in result.pdf


def test_flatten_with_ocr_text_layer_is_searchable_but_clean():
    data = helpers.progress_pdf()
    result = export_case(
        [ExportDocument("d01", "病程记录", data, helpers.findings_for(data))],
        helpers.META,
        ExportOptions(
            flatten=True, flatten_ocr_text=True, cover=False, page_numbers=False, verify_ocr="none"
        ),
        extra_identifiers=IDS,
    )
    page = _open(result)[0]
    assert len(page.get_images()) == 1
    text = page.get_text()
    assert "医嘱" in text or "执行" in text  # OCR layer: searchable
    for value in IDS:
        assert value not in text


def test_text_no_one_sees_is_removed_and_counted():
    """Glyphs drawn at font size 0 are unseen: removed on the export's one redaction path and counted for
    the audit trail (counts only, never the text)."""
    pdf = pymupdf.open(stream=helpers.admission_pdf(), filetype="pdf")
    page = pdf[0]
    page.insert_text((60, 780), "x", fontname="helv", fontsize=9)  # gives the page a Helvetica resource
    xref = page.get_contents()[-1]
    hidden = b"BT /helv 0 Tf 60 760 Td (" + helpers.ID_NUMBER.encode() + b") Tj ET"
    pdf.update_stream(xref, (pdf.xref_stream(xref) or b"") + b"\n" + hidden)
    result = _export_admission(pdf)
    assert result.unseen_removed["glyphs"] >= len(helpers.ID_NUMBER)
    assert helpers.ID_NUMBER.encode() not in _open(result).tobytes(expand=255)
