"""Image pixels under an opaque box drawn over them (an earlier "redaction"
by drawing a rectangle in a PDF editor) are blanked: the page looks the same,
and the image extracted from the output no longer holds what the box hid.
Covers that let the image show through (transparency, a multiply blend) keep
it.  PDFs built here, real OCR of the extracted images."""

from __future__ import annotations

import io

import numpy as np
import pymupdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from core.ocr.engine import get_engine
from tests.engine.pdfs import FONT, text_page
from tests.engine.test_hostile_constructs import redact

NAME, ID = "王小红", "320106199501011237"
IMAGE_RECT = pymupdf.Rect(72, 100, 472, 200)
ID_AREA = pymupdf.Rect(72, 150, 472, 200)  # the lower half of the image holds the ID


def _id_card_copy() -> bytes:
    """A scanned-looking card: a clinical word above, the ID number below."""
    image = Image.new("RGB", (800, 200), "white")
    draw = ImageDraw.Draw(image)
    draw.text((20, 20), "血型 O型", fill="black", font=ImageFont.truetype(FONT, 56))
    draw.text((20, 110), ID, fill="black", font=ImageFont.truetype(FONT, 60))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _page_with_cover(**cover) -> pymupdf.Document:
    doc = pymupdf.open()
    page = text_page(doc, ["入院诊断：妊娠期高血压"])
    page.insert_image(IMAGE_RECT, stream=_id_card_copy())
    if cover.pop("image", None):  # a white patch image pasted over the ID
        patch = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 40, 5), False)
        patch.set_rect(patch.irect, (255, 255, 255))
        page.insert_image(ID_AREA, pixmap=patch)
    else:
        page.draw_rect(ID_AREA, color=None, **cover)
    return doc


def _image_text(path) -> str:
    doc = pymupdf.open(path)
    texts = []
    for img in doc[0].get_images(full=True):
        pix = pymupdf.Pixmap(doc, img[0])
        if pix.n > 3 or pix.alpha:
            pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
        array = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, pix.n)
        texts += [line.text for line in get_engine().recognize(array[:, :, :3].copy())]
    return "".join(texts).replace(" ", "")


def _render(doc_or_path) -> bytes:
    doc = doc_or_path if isinstance(doc_or_path, pymupdf.Document) else pymupdf.open(doc_or_path)
    return doc[0].get_pixmap(dpi=72).samples


@pytest.mark.parametrize("cover", [{"fill": (0, 0, 0)}, {"fill": (1, 1, 1)}, {"image": True}])
def test_pixels_under_an_opaque_cover_are_blanked_and_the_page_looks_the_same(tmp_path, cover):
    doc = _page_with_cover(**cover)
    before = _render(doc)
    r, out, report = redact(tmp_path, doc, meta={"patient_name": NAME})  # the ID is in no case index
    assert r.returncode == 0, r.stderr
    assert ID[:10] not in _image_text(out)
    assert "血型" in _image_text(out)  # the part nothing covers is kept
    assert _render(out) == before
    assert report["unseen_removed"]["covered_images"] == 1
    assert "被其他内容盖住的图像" in r.stderr and ID not in r.stderr


@pytest.mark.parametrize("cover", [{"fill": (1, 1, 0), "fill_opacity": 0.4}, {"fill": (1, 1, 0.6)}])
def test_an_image_that_shows_through_its_box_is_kept(tmp_path, cover):
    doc = _page_with_cover(**cover)
    if "fill_opacity" not in cover:  # a highlighter box: full opacity, multiply blend
        page = doc[0]
        kind, value = doc.xref_get_key(page.xref, "Resources")
        resources = int(value.split()[0]) if kind == "xref" else page.xref
        key = "ExtGState/Mult" if kind == "xref" else "Resources/ExtGState/Mult"
        doc.xref_set_key(resources, key, "<</Type/ExtGState /BM /Multiply>>")
        xref = page.get_contents()[-1]
        doc.update_stream(xref, b"/Mult gs\n" + doc.xref_stream(xref))
    r, out, report = redact(tmp_path, doc, meta={"patient_name": NAME})
    assert r.returncode == 0, r.stderr
    assert report["unseen_removed"]["covered_images"] == 0
    # what shows through is what detection saw and redacted: the ID is an identifier on the page
    assert ID[:10] not in pymupdf.open(out)[0].get_text()


def test_a_page_drawing_the_same_signature_twice_among_others_is_checked_not_blanked(tmp_path):
    """The generator's record page with five transparent signature images, two of them drawn twice: the
    check paints the copy's images one solid pixel in turn, and MuPDF's image info, which matches images
    by their pixels, then named a temporary image a replacement had deleted for the second drawing of a
    signature, so the page went out blanked whole (ValueError)."""
    from collections import Counter

    from core.redaction.covered import blank_covered_pixels
    from tools.synth.corpus import make_record

    make_record(tmp_path / "r.pdf", pages=30, seed=14, scanned=0.2)
    doc = pymupdf.open(tmp_path / "r.pdf")
    drawn = Counter(i["xref"] for i in doc[7].get_image_info(xrefs=True))
    assert len(drawn) >= 3 and max(drawn.values()) >= 2  # the premise: images drawn twice among others
    for page in doc:  # in order, as a redaction does: MuPDF's store holds the earlier pages' images
        blank_covered_pixels(page, None)
