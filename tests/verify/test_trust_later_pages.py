"""The text-layer cross-check keeps reading glyphs it has not confirmed:
a font that agreed with its pixels on the first pages of a document does
not vouch for glyphs it had not shown there (real PDFs, real OCR)."""

from __future__ import annotations

import pymupdf

from core.engine import analyze_document, redact_document
from core.ocr.page import ocr_page_chars
from core.pdf.trust import assess_page
from tests.verify import pdfs
from tests.verify.pdfs import NAME


def test_a_lie_limited_to_a_few_glyphs_on_a_later_page_is_caught():
    doc = pymupdf.open("pdf", pdfs.lie_on_a_later_page(honest_pages=4))
    trusts = [assess_page(page) for page in doc]  # in order, one document: what the engine does
    assert all(t.trusted for t in trusts[:-1]), [t.reasons for t in trusts]
    assert not trusts[-1].trusted and "ocr_mismatch" in trusts[-1].reasons


def test_the_name_behind_a_later_page_lie_is_hidden():
    data = pdfs.lie_on_a_later_page(honest_pages=3)
    doc = pymupdf.open("pdf", data)
    analysis = analyze_document(doc, {"patient_name": NAME}, workers=1)
    assert analysis.pages[-1].scanned or analysis.pages[-1].ocr_chars > 0
    out, report, _plan = redact_document(doc, analysis.findings, policy="review", seeds=analysis.seeds)
    assert report.ok, report.describe()
    seen = "".join(c.c for line in ocr_page_chars(out[-1], 200, use_cache=False) for c in line)
    assert NAME not in seen and "复查" in seen


def test_a_look_alike_misreading_is_no_lie_a_swapped_name_character_is():
    from core.pdf.trust import Run, compare

    def run(text):
        return Run("F", text, (0, 0, 40, 10), tuple(("sig", "F", i, ord(ch)) for i, ch in enumerate(text)))

    assert not compare(run("医嘱内容"), "医瞩内容", 0.93)[0]  # the recogniser's habit in one font
    assert compare(run("今日李复"), "今日王复", 0.95)[0]  # one glyph of a name claimed as another
    assert compare(run("阵伟医师"), "陈伟医师", 0.95)[0]  # close, but not close enough to pass
