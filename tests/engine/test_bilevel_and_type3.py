"""Bilevel 300 dpi scans (CCITT G4 and JBIG2, plain and double-layer) and
Type3 fonts with real glyph procedures: the engine renders, OCRs and
redacts them; the output holds the name and the ID in no form (pixels read
by OCR, text layer, pdftotext, raw streams); clinical text stays; the leak
gate's own OCR reads the identifiers on the unredacted input."""

from __future__ import annotations

import pymupdf
import pytest

from core.engine import analyze_document, redact_document
from core.ocr.page import ocr_page_chars
from core.pdf.trust import assess_page
from core.verify import Identifier, verify_pdf
from tests.engine import scan_type3_pdfs as kit
from tests.engine.scan_type3_pdfs import CLINICAL, ID, NAME
from tests.engine.test_hostile_constructs import assert_nowhere, redact

META = {"patient_name": NAME}  # the ID must be found on the page itself
IDENTIFIERS = [Identifier(NAME, "patient_name", "test"), Identifier(ID, "id_number", "test")]
BUILDS = {  # the JBIG2 double-layer scan goes through the CLI below
    "ccitt": lambda: kit.bilevel_scan("ccitt"),
    "jbig2": lambda: kit.bilevel_scan("jbig2"),
    "ccitt-double-layer": lambda: kit.bilevel_scan("ccitt", double_layer=True),
    "type3": lambda: kit.type3_page(),
    "type3-tounicode": lambda: kit.type3_page(tounicode=True),
}


def _ocr_text(page: pymupdf.Page) -> str:
    return "".join(c.c for line in ocr_page_chars(page, 200, use_cache=False) for c in line)


@pytest.fixture(scope="module", params=sorted(BUILDS))
def redacted(request, tmp_path_factory):
    data = BUILDS[request.param]()
    doc = pymupdf.open("pdf", data)
    analysis = analyze_document(doc, META, workers=1)
    out, report, _plan = redact_document(
        doc, analysis.findings, policy="review", seeds=analysis.seeds, meta=META
    )
    path = tmp_path_factory.mktemp(request.param) / "out.pdf"
    path.write_bytes(out.tobytes())
    return request.param, data, analysis, out, report, path


def test_filters_are_what_the_names_say():
    for name, want in (("ccitt", "CCITTFaxDecode"), ("jbig2", "JBIG2Decode")):
        doc = pymupdf.open("pdf", BUILDS[name]())
        (img,) = doc[0].get_images(full=True)
        assert img[2] >= 2400 and img[4] == 1 and img[8] == want  # 300 dpi A4, 1 bit
        pix = pymupdf.Pixmap(doc, img[0])  # the image decodes to ink on white
        share = sum(1 for v in pix.samples if v < 128) / len(pix.samples)
        assert 0.001 < share < 0.2


def test_page_is_read_by_ocr_and_treated_as_a_scan(redacted):
    name, data, analysis, _out, _report, _path = redacted
    (page,) = analysis.pages
    assert not page.error and page.scanned and page.ocr_chars > 20
    if name.startswith("type3") or "double" in name:
        reasons = assess_page(pymupdf.open("pdf", data)[0]).reasons
        assert ("type3" if name.startswith("type3") else "invisible_over_image") in reasons


def test_name_and_id_are_gone_in_every_form_clinical_text_stays(redacted):
    name, _data, _analysis, out, report, path = redacted
    assert report.ok, report.describe()
    seen = _ocr_text(out[0])
    assert NAME not in seen and ID not in seen and ID[-8:] not in seen
    assert "高血压" in seen and "尿蛋白" in seen
    assert_nowhere(path, NAME, ID)


def test_leak_gate_ocr_reads_the_identifiers_of_the_input(redacted):
    name, data, *_ = redacted
    report = verify_pdf(data, IDENTIFIERS, ocr="images")
    places = {(l.page, l.where, l.category) for l in report.leaks}
    assert (1, "ocr", "patient_name") in places and (1, "ocr", "id_number") in places


def test_cli_redacts_a_jbig2_double_layer_scan(tmp_path):
    r, out, report = redact(tmp_path, kit.bilevel_scan("jbig2", double_layer=True), meta=META)
    assert r.returncode == 0, r.stderr
    assert report["scanned_pages"] == [1] and report["verification"]["ok"]
    assert_nowhere(out, NAME, ID)
    seen = _ocr_text(pymupdf.open(out)[0])
    assert NAME not in seen and ID not in seen and CLINICAL[-3:] in seen
