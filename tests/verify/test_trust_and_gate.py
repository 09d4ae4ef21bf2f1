"""Text layers that lie or hide, and the independent leak gate: real PDFs
built here, real OCR of the renders."""

from __future__ import annotations

import subprocess
import tempfile

import pymupdf

from core.engine import analyze_document, redact_document
from core.ocr.page import ocr_page_chars
from core.pdf.text import text_lines
from core.pdf.trust import assess_page
from core.verify import Identifier, verify_pdf
from core.verify.match import Matcher
from tests.verify import pdfs
from tests.verify.pdfs import NAME, NUMBER

META = {"patient_name": NAME, "inpatient_no": NUMBER}


def _redact(data: bytes):
    doc = pymupdf.open("pdf", data)
    analysis = analyze_document(doc, META, workers=1)
    out, report, _plan = redact_document(doc, analysis.findings, policy="review", seeds=analysis.seeds)
    return analysis, out, report


def _ocr_text(doc: pymupdf.Document) -> str:
    return "".join(c.c for p in doc for line in ocr_page_chars(p, 200, use_cache=False) for c in line)


def _pdftotext(doc: pymupdf.Document) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(doc.tobytes())
        fh.flush()
        return subprocess.run(["pdftotext", fh.name, "-"], capture_output=True, text=True).stdout


def _gone(out: pymupdf.Document) -> None:
    seen = _ocr_text(out)
    assert NAME not in seen and NUMBER not in seen
    assert "心内科" in seen  # clinical text around them stays readable


def test_font_without_tounicode_is_untrusted_and_read_by_ocr():
    data = pdfs.font_without_tounicode()
    assert not assess_page(pymupdf.open("pdf", data)[0]).trusted
    analysis, out, report = _redact(data)
    assert any(f.source.value == "ocr" and NAME in (f.text or "") for f in analysis.findings)
    assert report.ok, report.describe()
    _gone(out)


def test_lying_tounicode_makes_the_page_untrusted_and_the_name_is_hidden():
    data = pdfs.lying_tounicode()
    trust = assess_page(pymupdf.open("pdf", data)[0])
    assert not trust.trusted and "ocr_mismatch" in trust.reasons
    _analysis, out, report = _redact(data)
    assert report.ok, report.describe()
    _gone(out)


def test_clean_page_is_trusted():
    doc = pymupdf.open("pdf", pdfs.zero_width_number_before_date())
    assert assess_page(doc[0]).trusted


def test_reversed_name_and_shuffled_number_read_in_order_and_hidden():
    data = pdfs.reversed_and_shuffled()
    lines = ["".join(c.c for c in l) for l in text_lines(pymupdf.open("pdf", data)[0])]
    assert NAME in lines and NUMBER in lines
    _analysis, out, report = _redact(data)
    assert report.ok, report.describe()
    text = _pdftotext(out).replace(" ", "").replace("\n", "")
    assert NAME not in text and NUMBER not in text


def test_number_touching_a_date_is_hidden_or_refused():
    _analysis, out, report = _redact(pdfs.zero_width_number_before_date())
    if report.ok:
        assert NUMBER not in _pdftotext(out).replace("\u200b", "")
    else:
        assert NUMBER not in report.describe()


def test_gate_finds_a_value_touching_other_digits():
    m = Matcher([Identifier(NUMBER, "record_number")])
    assert m.search(f"住院号：\u200b{NUMBER}\n2025-07-15", fuzzy=False)
    assert m.search(f"１{NUMBER}８", fuzzy=False)  # full-width digits on both sides
    assert not m.search("住院号：6359526\n2025-07-15", fuzzy=False)


def test_double_layer_scan_pixels_are_covered():
    data = pdfs.double_layer_scan()
    trust = assess_page(pymupdf.open("pdf", data)[0])
    assert "invisible_over_image" in trust.reasons
    _analysis, out, report = _redact(data)
    assert report.ok, report.describe()
    _gone(out)


def _planted(content: bytes, crop: bool = False) -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=400)
    page.insert_text((40, 60), "出院记录", fontname="china-s", fontsize=14)
    if content:
        xref = doc.get_new_xref()
        doc.update_object(xref, "<<>>")
        doc.update_stream(xref, content)
        doc.xref_set_key(page.xref, "Contents", f"[{page.get_contents()[0]} 0 R {xref} 0 R]")
    if crop:
        page.insert_text((40, 380), f"Inpatient {NUMBER}", fontname="helv", fontsize=12)
        page.set_cropbox(pymupdf.Rect(0, 0, 400, 200))
    return doc.tobytes()


def test_gate_reads_raw_strings_no_extractor_shows():
    """A value in a marked-content property (/Alt): no extractor prints
    it, the raw content stream still holds it."""
    data = _planted(f"/Span <</Alt <{NUMBER.encode().hex()}>>> BDC EMC".encode())
    report = verify_pdf(data, [Identifier(NUMBER, "record_number")], ocr="none")
    assert not report.ok
    assert {l.where for l in report.leaks} == {"raw stream"}
    assert NUMBER not in report.describe() and "第 1 页" in report.describe()


def test_gate_reads_the_whole_mediabox_with_pdftotext():
    data = _planted(b"", crop=True)
    report = verify_pdf(data, [Identifier(NUMBER, "record_number")], ocr="none")
    wheres = {l.where for l in report.leaks}
    assert "pdftotext" in wheres and "text" in wheres
    assert all(l.page == 1 for l in report.leaks if l.where == "pdftotext")


def test_the_gate_reading_pages_in_this_process_keeps_its_ocr_threads(monkeypatch):
    """The one-thread setting of the gate's worker processes must not stick to the calling process
    (the next record's OCR there would run on one core, without reading ahead)."""
    import os

    from core.verify.ocr import ocr_pages

    monkeypatch.delenv("DEID_OCR_THREADS", raising=False)
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "诊断：妊娠期高血压", fontname="china-s", fontsize=12)
    texts = ocr_pages(doc.tobytes(), "", [(0, None)], dpi=150, workers=1)
    assert "妊娠期高血压" in texts[0]
    assert "DEID_OCR_THREADS" not in os.environ
