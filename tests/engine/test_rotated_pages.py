"""A rotated page (landscape ECGs and scans are stored with /Rotate) keeps its whole visible area through
the redaction path: nothing shown is cropped away, and what lies outside the CropBox still goes."""

from __future__ import annotations

import pymupdf
import pytest

from core.engine import redact_document

CORNERS = {"左上角文字": (40, 60), "右上角文字": (480, 60), "左下角文字": (40, 790), "右下角文字": (480, 790)}


def _rotated_pdf(rotation: int) -> pymupdf.Document:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for word, point in CORNERS.items():
        page.insert_text(point, word, fontname="china-s", fontsize=11)
    page.insert_text((40, 835), "裁切框外患者王小明", fontname="china-s", fontsize=8)  # below the CropBox
    doc.xref_set_key(page.xref, "CropBox", "[0 20 595 842]")
    doc[0].set_rotation(rotation)
    return pymupdf.open(stream=doc.tobytes(), filetype="pdf")


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_rotated_page_keeps_what_is_shown_and_loses_what_is_not(rotation):
    doc = _rotated_pdf(rotation)
    shown = doc[0].rect
    out, report, _ = redact_document(doc, [], policy="review")
    page = out[0]
    assert page.rotation == rotation
    assert (page.rect.width, page.rect.height) == pytest.approx((shown.width, shown.height))
    text = page.get_text()
    assert all(word in text for word in CORNERS), text
    assert "王小明" not in _text_of_whole_canvas(out)
    pix = page.get_pixmap(dpi=50)
    assert (pix.width > pix.height) == (rotation in (90, 270))


def _text_of_whole_canvas(doc: pymupdf.Document) -> str:
    """Text anywhere in the content stream, not just inside the (now reset) page boxes."""
    wide = pymupdf.open(stream=doc.tobytes(), filetype="pdf")
    for key in ("MediaBox", "CropBox"):
        wide.xref_set_key(wide[0].xref, key, "[-2000 -2000 3000 3000]")
    return wide[0].get_text()
