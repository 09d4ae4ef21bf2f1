"""Images that show nothing of what they hold (drawn at 1 % opacity, squeezed
into a dot) lose their pixels through the one redaction path
(``core.redaction.covered`` via ``core.redaction.apply``): detection and the
leak gate read the rendered page and cannot see them, anyone who extracts
the image could.  Images that show what they hold keep their pixels.
PDFs built here, through the command line."""

from __future__ import annotations

import io
import re
import zlib

import pymupdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from tests.engine.pdfs import FONT, text_page
from tests.engine.test_hostile_constructs import CLINICAL, redact

NAME, ID = "王小红", "430102199001011237"
META = {"patient_name": NAME, "id_number": ID}
TEXT_BOX = pymupdf.Rect(40, 300, 540, 333)


def _text_png(text: str = f"姓名：{NAME} 身份证号：{ID}") -> bytes:
    image = Image.new("L", (900, 60), 255)
    ImageDraw.Draw(image).text((5, 10), text, fill=0, font=ImageFont.truetype(FONT, 28))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _page_with_image(rect: pymupdf.Rect, alpha: float | str | None, png: bytes | None = None) -> bytes:
    doc = pymupdf.open()
    page = text_page(doc, [CLINICAL])
    if alpha == "smask":  # on a grey ground: the render is not near white
        page.draw_rect(rect, color=None, fill=(0.6, 0.6, 0.6))
    page.insert_image(rect, stream=png or _text_png())
    if alpha is not None:  # the image drawn under a fill alpha
        resources = int(doc.xref_get_key(page.xref, "Resources")[1].split()[0])
        doc.xref_set_key(resources, "ExtGState", f"<</GSa {_faint_state(doc, alpha)}>>")
        xref = page.get_contents()[-1]
        doc.update_stream(
            xref, re.sub(rb"(q\s*\n[^\n]* cm\s*\n/\w+ Do)", rb"q /GSa gs \1 Q", doc.xref_stream(xref))
        )
    return doc.tobytes()


def _faint_state(doc: pymupdf.Document, alpha: float | str) -> str:
    """An ExtGState (direct): a fill alpha, or ("smask") a luminosity soft mask written inline whose
    group paints 1 % grey (an alpha of 0.01 without any /ca)."""
    if alpha != "smask":
        return f"<</ca {alpha} /CA {alpha}>>"
    group = doc.get_new_xref()
    doc.update_object(
        group,
        "<</Type /XObject /Subtype /Form /BBox [0 0 2000 2000] /Group <</S /Transparency /CS /DeviceGray>>>>",
    )
    doc.update_stream(group, b"0.01 g 0 0 2000 2000 re f")
    return f"<</SMask <</S /Luminosity /G {group} 0 R>>>>"


def dark_image_pixels(path) -> int:
    """Dark pixels held by the file's images (what an extractor reads, whatever the page shows)."""
    doc = pymupdf.open(path)
    dark = 0
    for xref in range(1, doc.xref_length()):
        if doc.xref_get_key(xref, "Subtype")[1] == "/Image":
            pix = pymupdf.Pixmap(doc, xref)
            gray = pymupdf.Pixmap(pymupdf.csGRAY, pix) if pix.n - pix.alpha != 1 else pix
            dark += sum(1 for value in gray.samples if value < 128)
    return dark


@pytest.mark.parametrize(
    "rect,alpha",
    [
        (TEXT_BOX, 0.01),
        (TEXT_BOX, "smask"),
        (pymupdf.Rect(40, 300, 40.5, 300.1), None),
        (pymupdf.Rect(40, 300, 540, 301), None),
    ],
    ids=["one-percent-opacity", "a-soft-mask-written-inline", "a-dot", "a-one-point-strip"],
)
def test_an_image_that_shows_nothing_loses_its_pixels(tmp_path, rect, alpha):
    source = tmp_path / "source.pdf"
    source.write_bytes(_page_with_image(rect, alpha))
    assert dark_image_pixels(source) > 1000  # the identifiers are in the input's image
    result, out, report = redact(tmp_path, source.read_bytes(), meta=META)
    assert result.returncode == 0, result.stderr
    assert dark_image_pixels(out) == 0
    assert report["unseen_removed"]["covered_images"] >= 1
    assert CLINICAL in pymupdf.open(out)[0].get_text()


@pytest.mark.parametrize("alpha", [None, 0.5], ids=["opaque", "half-opacity"])
def test_an_image_the_page_shows_keeps_its_pixels_outside_the_boxes(tmp_path, alpha):
    clinical = _text_png("血压135/85mmHg 尿蛋白（+）")
    result, out, _ = redact(tmp_path, _page_with_image(TEXT_BOX, alpha, clinical), meta=META)
    assert result.returncode == 0, result.stderr
    assert dark_image_pixels(out) > 1000


def test_a_rule_drawn_as_a_thin_image_is_kept(tmp_path):
    doc = pymupdf.open()
    page = text_page(doc, [CLINICAL])
    rule = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 1000, 2), False)
    rule.set_rect(rule.irect, (0,))
    page.insert_image(pymupdf.Rect(40, 400, 540, 401), pixmap=rule)
    result, out, _ = redact(tmp_path, doc.tobytes())
    assert result.returncode == 0, result.stderr
    assert dark_image_pixels(out) == 2000


# ------------------------------------------------------------ inline images (BI … ID … EI)
def _inline_image(png: bytes | None = None) -> bytes:
    """``BI … ID … EI`` of the identifier image (gray, Flate), drawn into the unit square."""
    pix = pymupdf.Pixmap(png or _text_png())
    gray = pymupdf.Pixmap(pymupdf.csGRAY, pix) if pix.n - pix.alpha != 1 else pix
    data = zlib.compress(gray.samples)
    head = b"BI /W %d /H %d /CS /G /BPC 8 /F /Fl /L %d ID " % (gray.width, gray.height, len(data))
    return head + data + b"\nEI"


def _page_with_inline_image(matrix: str, alpha: float | None = None, cover: bool = False, png=None) -> bytes:
    doc = pymupdf.open()
    page = text_page(doc, [CLINICAL])
    state = b""
    if alpha is not None:
        resources = int(doc.xref_get_key(page.xref, "Resources")[1].split()[0])
        doc.xref_set_key(resources, "ExtGState", f"<</GSa <</ca {alpha} /CA {alpha}>>>>")
        state = b"/GSa gs "
    xref = page.get_contents()[-1]
    drawn = b"\nq " + state + matrix.encode() + b" cm " + _inline_image(png) + b" Q\n"
    if cover:  # a white rectangle drawn over the image, a little larger
        drawn += b"q 1 g 30 490 520 53 re f Q\n"
    doc.update_stream(xref, doc.xref_stream(xref) + drawn)
    return doc.tobytes()


def inline_images_alone(doc: pymupdf.Document) -> list[pymupdf.Pixmap]:
    """Every inline image of ``doc``, drawn alone and opaque on a page of its own: what an extractor
    reads, whatever the page shows."""
    from core.pdf.inline import inline_image_spans

    images = []
    for xref in (x for page in doc for x in page.get_contents()):
        data = doc.xref_stream(xref)
        for start, stop in inline_image_spans(data):
            alone = pymupdf.open()
            page = alone.new_page(width=100, height=100)
            content = alone.get_new_xref()
            alone.update_object(content, "<<>>")
            alone.update_stream(content, b"q 100 0 0 100 0 0 cm " + data[start:stop] + b" Q")
            alone.xref_set_key(page.xref, "Contents", f"{content} 0 R")
            for block in alone[0].get_text("dict", flags=pymupdf.TEXT_PRESERVE_IMAGES)["blocks"]:
                if block["type"] == 1:
                    images.append(pymupdf.Pixmap(block["image"]))
    return images


def dark_inline_pixels(path) -> int:
    """Dark pixels held by the file's inline images (:func:`inline_images_alone`)."""
    dark = 0
    for pix in inline_images_alone(pymupdf.open(path)):
        gray = pymupdf.Pixmap(pymupdf.csGRAY, pix) if pix.n - pix.alpha != 1 else pix
        dark += sum(1 for value in gray.samples if value < 128)
    return dark


@pytest.mark.parametrize(
    "matrix,alpha,cover",
    [
        ("500 0 0 33 40 500", 0.01, False),
        ("0.5 0 0 0.1 40 500", None, False),
        ("500 0 0 1 40 500", None, False),
        ("500 0 0 33 40 500", None, True),
    ],
    ids=["one-percent-opacity", "a-dot", "a-one-point-strip", "under-a-white-rectangle"],
)
def test_an_inline_image_that_shows_nothing_loses_its_pixels(tmp_path, matrix, alpha, cover):
    source = tmp_path / "source.pdf"
    source.write_bytes(_page_with_inline_image(matrix, alpha, cover))
    assert dark_inline_pixels(source) > 1000  # the identifiers are in the input's inline image
    result, out, report = redact(tmp_path, source.read_bytes(), meta=META)
    assert result.returncode == 0, result.stderr
    assert dark_inline_pixels(out) == 0
    assert report["unseen_removed"]["covered_images"] >= 1
    assert CLINICAL in pymupdf.open(out)[0].get_text()


def test_an_inline_image_the_page_shows_keeps_its_pixels(tmp_path):
    clinical = _text_png("血压135/85mmHg 尿蛋白（+）")
    page = _page_with_inline_image("500 0 0 33 40 500", png=clinical)
    result, out, report = redact(tmp_path, page, meta=META)
    assert result.returncode == 0, result.stderr
    assert dark_inline_pixels(out) > 1000
    assert report["unseen_removed"]["covered_images"] == 0


def _ink_png(ink: int) -> bytes:
    image = Image.new("L", (900, 60), 255)
    ImageDraw.Draw(image).text(
        (5, 10), f"姓名：{NAME} 身份证号：{ID}", fill=ink, font=ImageFont.truetype(FONT, 28)
    )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def ink_image_pixels(path) -> int:
    """Pixels of the file's images that differ from the image's commonest value (ink of any contrast,
    what a contrast stretch of the extracted image shows)."""
    doc = pymupdf.open(path)
    ink = 0
    for xref in range(1, doc.xref_length()):
        if doc.xref_get_key(xref, "Subtype")[1] == "/Image":
            samples = bytes(pymupdf.Pixmap(doc, xref).samples)
            common = max(set(samples), key=samples.count)
            ink += sum(1 for value in samples if value != common)
    return ink


@pytest.mark.parametrize(
    "ink,decode", [(251, None), (0, "[0.98 1]")], ids=["ink-251-of-255", "decode-0.98-1"]
)
def test_an_image_shown_as_a_flat_tone_loses_its_pixels(tmp_path, ink, decode):
    """No transparency: the image is opaque, its ink is shown at 4–5 of 255 (no one reads it on the
    page, a contrast stretch of the extracted image does)."""
    doc = pymupdf.open()
    page = text_page(doc, [CLINICAL])
    xref = page.insert_image(TEXT_BOX, stream=_ink_png(ink))
    if decode:
        doc.xref_set_key(xref, "Decode", decode)
    source = tmp_path / "source.pdf"
    source.write_bytes(doc.tobytes())
    assert ink_image_pixels(source) > 1000
    result, out, report = redact(tmp_path, source.read_bytes(), meta=META)
    assert result.returncode == 0, result.stderr
    assert ink_image_pixels(out) == 0
    assert report["unseen_removed"]["covered_images"] >= 1
    assert CLINICAL in pymupdf.open(out)[0].get_text()
