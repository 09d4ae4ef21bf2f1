"""End to end through the engine: visual items are covered by redaction
boxes in the output (pixel check), decoded barcode values are gone from the
text layer, and negative pages keep their area."""

from __future__ import annotations

import pymupdf
import pytest

from core.engine import analyze_document, redact_document
from tools.synth import visual as V

from .helpers import box_filled, covered, false_alarm_share

pytestmark = pytest.mark.timeout(300)


def _redact(doc, ocr: bool):
    analysis = analyze_document(doc, {}, ocr=ocr)
    out, report, _ = redact_document(
        doc, analysis.findings, policy="review", style="black", seeds=analysis.seeds
    )
    return analysis, out, report


@pytest.mark.parametrize("kind", ["barcode", "seal", "signature", "card", "logo"])
def test_born_digital_items_are_filled_in_the_output(kind):
    doc, truths = V.POSITIVE[kind](0)
    analysis, out, report = _redact(doc, ocr=False)
    assert report.ok
    assert len(out) == len(doc)
    for t in truths:
        assert box_filled(out[t.page_index], t.rect) > 0.9, (t.category, t.role)
    text = "".join(p.get_text() for p in out)
    for t in truths:
        if t.text:
            assert t.text not in text
    if kind == "barcode":
        origins = {s.origin for s in analysis.seeds}
        assert "decoded:barcode" in origins


@pytest.mark.parametrize("kind,height", [("barcode", 300), ("signature", 520)])
def test_scanned_items_are_filled_with_real_ocr(kind, height):
    src, truths = V.POSITIVE[kind](1)
    src[0].set_cropbox(pymupdf.Rect(0, 0, src[0].rect.width, height))  # less to OCR: a faster test
    truths = [t for t in truths if t.rect[3] < height]
    doc = V.rasterize(src, seed=1)
    analysis, out, report = _redact(doc, ocr=True)
    assert report.ok
    visual = [f for f in analysis.findings if f.category.value == truths[0].category]
    assert visual, "no visual finding"
    for t in truths:
        assert covered(t, visual, t.category) >= 0.9, (t.category, t.role)  # by the visual recognizer itself
        assert box_filled(out[t.page_index], t.rect) > 0.9, (t.category, t.role)
    if kind == "barcode":
        assert {t.text for t in truths} <= {f.text for f in visual}


@pytest.mark.parametrize("kind", sorted(V.NEGATIVE))
def test_negative_pages_through_engine(kind):
    from tools.eval.visual import page_inputs

    doc, _ = V.NEGATIVE[kind](0)
    analysis = analyze_document(doc, {}, ocr=False)
    visual = [f for f in analysis.findings if f.category.is_visual]
    for p in page_inputs(doc):
        assert false_alarm_share(p, visual) < 0.02


def test_decoded_value_is_hidden_on_earlier_pages_too():
    """A QR code on page 2 encodes the number printed on page 1: the decoded
    seed reaches page 1 (propagation), and verification checks it."""
    value = "BQ77012345"
    doc = pymupdf.open()
    p1 = doc.new_page()
    p1.insert_text((60, 100), f"检验条码号 {value} 见第二页", fontname="china-s", fontsize=11)
    p2 = doc.new_page()
    p2.insert_image(pymupdf.Rect(400, 40, 480, 120), stream=V.png_bytes(V.code_image(value, "qr")))
    analysis, out, report = _redact(doc, ocr=False)
    assert report.ok
    assert any(f.page_index == 1 and f.text == value for f in analysis.findings)
    assert value not in out[0].get_text()
    assert "检验条码号" in out[0].get_text()  # the label stays
