"""PDFs whose images hold ink that the page does not show legibly (or shows): a ``/Decode`` that maps
ink and ground to two greys a level apart, an ``/Indexed`` palette of two near greys, a stencil mask
filled with the page's colour, a soft mask carrying the ink of a white image, the same as inline
images, a faint inline image over a visible one, text drawn over a near-white image, a scan whose
name row a clip path leaves out.  Built here for ``tests/engine/test_hidden_ink.py``."""

from __future__ import annotations

import binascii
import io
import zlib

import pymupdf
from PIL import Image, ImageDraw, ImageFont

from tests.engine.pdfs import FONT, text_page

NAME, ID = "王小红", "430102199001011237"
CLINICAL = "入院诊断：妊娠期高血压"
IDENTIFIERS = f"姓名：{NAME} 身份证号：{ID}"
BOX = pymupdf.Rect(40, 300, 540, 333)  # 900 × 60 pixels drawn here
W, H = 900, 60


def ink_gray(text: str = IDENTIFIERS, ink: int = 0, ground: int = 255, height: int = H) -> bytes:
    """Gray samples (8 bit) of ``text`` in ``ink`` on ``ground``."""
    image = Image.new("L", (W, height), ground)
    ImageDraw.Draw(image).text((5, 10), text, fill=ink, font=ImageFont.truetype(FONT, 28))
    return image.tobytes()


def _page(doc: pymupdf.Document, lines=(CLINICAL,)) -> pymupdf.Page:
    return text_page(doc, list(lines))


def _image_xobject(
    doc: pymupdf.Document, page: pymupdf.Page, dictionary: str, samples: bytes, height: int = 0
) -> int:
    """An image XObject (Flate) drawn into ``BOX``, ``height`` rows (default: one byte a pixel)."""
    xref = doc.get_new_xref()
    height = height or len(samples) // W
    doc.update_object(xref, f"<</Type/XObject/Subtype/Image/Width {W}/Height {height}{dictionary}>>")
    doc.update_stream(xref, samples)
    _draw(doc, page, xref)
    return xref


def _draw(
    doc: pymupdf.Document, page: pymupdf.Page, xref: int, before: bytes = b"", after: bytes = b""
) -> None:
    resources = int(doc.xref_get_key(page.xref, "Resources")[1].split()[0])
    doc.xref_set_key(resources, "XObject/Ink", f"{xref} 0 R")
    matrix = f"{BOX.width:g} 0 0 {BOX.height:g} {BOX.x0:g} {page.rect.height - BOX.y1:g} cm".encode()
    content = page.get_contents()[-1]
    drawn = b"\nq " + before + matrix + b" /Ink Do Q\n" + after
    doc.update_stream(content, doc.xref_stream(content) + drawn)


def decode_trick(decode: str = "[0.5 0.51]") -> pymupdf.Document:
    """Black ink on white under ``decode``: a flat mid grey on the page."""
    doc = pymupdf.open()
    page = _page(doc)
    _image_xobject(doc, page, f"/ColorSpace/DeviceGray/BitsPerComponent 8/Decode {decode}", ink_gray())
    return doc


def indexed_trick() -> pymupdf.Document:
    """Index 1 for ink, 0 for ground, a palette of two greys one level apart."""
    doc = pymupdf.open()
    page = _page(doc)
    samples = bytes(1 if v < 128 else 0 for v in ink_gray())
    _image_xobject(doc, page, "/ColorSpace[/Indexed/DeviceGray 1 <8081>]/BitsPerComponent 8", samples)
    return doc


def stencil_trick() -> pymupdf.Document:
    """A stencil mask of the ink, filled with white on the white page."""
    doc = pymupdf.open()
    page = _page(doc)
    bits = Image.frombytes("L", (W, H), ink_gray()).point(lambda v: 255 if v >= 128 else 0).convert("1")
    xref = _image_xobject(doc, page, "/ImageMask true/BitsPerComponent 1", bits.tobytes(), H)
    content = page.get_contents()[-1]
    doc.update_stream(content, doc.xref_stream(content).replace(b"\nq " + b"500", b"\nq 1 g 500", 1))
    assert xref
    return doc


def soft_mask_trick() -> pymupdf.Document:
    """A white image on the white page whose soft mask holds the ink."""
    doc = pymupdf.open()
    page = _page(doc)
    mask = doc.get_new_xref()
    doc.update_object(
        mask, f"<</Type/XObject/Subtype/Image/Width {W}/Height {H}/ColorSpace/DeviceGray/BitsPerComponent 8>>"
    )
    doc.update_stream(mask, bytes(255 - v for v in ink_gray()))
    _image_xobject(
        doc, page, f"/ColorSpace/DeviceGray/BitsPerComponent 8/SMask {mask} 0 R", b"\xff" * (W * H)
    )
    return doc


def text_over_faint_image() -> pymupdf.Document:
    """Ink at 252 of 255 (the ID) under a line of text (the name)."""
    doc = pymupdf.open()
    page = _page(doc)
    _image_xobject(
        doc, page, "/ColorSpace/DeviceGray/BitsPerComponent 8", ink_gray(f"身份证号：{ID}", ink=252)
    )
    page.insert_text((60, 322), f"姓名：{NAME}  诊断：妊娠期高血压", fontname="wqy", fontsize=12)
    return doc


def clipped_scan() -> pymupdf.Document:
    """A scan of two lines drawn into a box twice as tall; a clip path shows the clinical line only."""
    doc = pymupdf.open()
    page = _page(doc)
    samples = ink_gray("血压135/85mmHg 尿蛋白（+）", height=H) + ink_gray(height=H)
    xref = _image_xobject(doc, page, "/ColorSpace/DeviceGray/BitsPerComponent 8", samples)
    content = page.get_contents()[-1]
    data = doc.xref_stream(content)
    top = page.rect.height - BOX.y0
    clip = f"{BOX.x0:g} {top - 33:g} {BOX.width:g} 33 re W n ".encode()
    matrix = f"{BOX.width:g} 0 0 66 {BOX.x0:g} {top - 66:g} cm".encode()
    data = data.replace(b"\nq 500 0 0 33 40 509 cm", b"\nq " + clip + matrix, 1)
    doc.update_stream(content, data)
    assert xref
    return doc


def inline_image(samples: bytes, dictionary: bytes = b"/CS /G /BPC 8", height: int = H) -> bytes:
    data = binascii.hexlify(zlib.compress(samples)) + b">"
    return b"BI /W %d /H %d " % (W, height) + dictionary + b" /F [/AHx /Fl] ID " + data + b" EI"


def _draw_inline(
    doc: pymupdf.Document, page: pymupdf.Page, *images: tuple[bytes, pymupdf.Rect, bytes]
) -> None:
    content = page.get_contents()[-1]
    drawn = b""
    for image, rect, state in images:
        matrix = f"{rect.width:g} 0 0 {rect.height:g} {rect.x0:g} {page.rect.height - rect.y1:g} cm ".encode()
        drawn += b"\nq " + state + matrix + image + b" Q\n"
    doc.update_stream(content, doc.xref_stream(content) + drawn)


def inline_decode_trick() -> pymupdf.Document:
    doc = pymupdf.open()
    page = _page(doc)
    _draw_inline(doc, page, (inline_image(ink_gray(), b"/CS /G /BPC 8 /D [0.5 0.51]"), BOX, b""))
    return doc


def faint_inline_over_visible_inline() -> pymupdf.Document:
    """A visible inline image (clinical values) and, overlapping it, an inline image of the identifiers
    drawn at 1 % opacity."""
    doc = pymupdf.open()
    page = _page(doc)
    resources = int(doc.xref_get_key(page.xref, "Resources")[1].split()[0])
    doc.xref_set_key(resources, "ExtGState", "<</GSa <</ca 0.01 /CA 0.01>>>>")
    visible = inline_image(ink_gray("血压135/85mmHg 尿蛋白（+）"))
    faint = inline_image(ink_gray())
    _draw_inline(doc, page, (visible, BOX, b""), (faint, BOX + (0, 16, 0, 16), b"/GSa gs "))
    return doc


def visible_inline_alone() -> pymupdf.Document:
    """The visible inline image of :func:`faint_inline_over_visible_inline` alone."""
    doc = pymupdf.open()
    page = _page(doc)
    _draw_inline(doc, page, (inline_image(ink_gray("血压135/85mmHg 尿蛋白（+）")), BOX, b""))
    return doc


def visible_inverted_image() -> pymupdf.Document:
    """Clinical values stored as white on black under ``/Decode [1 0]``: black on white on the page."""
    doc = pymupdf.open()
    page = _page(doc)
    _image_xobject(
        doc,
        page,
        "/ColorSpace/DeviceGray/BitsPerComponent 8/Decode [1 0]",
        ink_gray("血压135/85mmHg", 255, 0),
    )
    return doc


def flat_colour_jpeg() -> pymupdf.Document:
    """A flat colour band stored as a JPEG (its lossy coding leaves the samples not all one value)."""
    doc = pymupdf.open()
    page = _page(doc)
    out = io.BytesIO()
    Image.new("RGB", (W, H), (40, 90, 160)).save(out, "JPEG", quality=70)
    page.insert_image(BOX, stream=out.getvalue())
    return doc


def shared_resources() -> pymupdf.Document:
    """Two pages of one resources dictionary, each drawing its own scan of clinical values (the same
    size): neither page's check may judge the image the other page draws."""
    doc = pymupdf.open()
    _page(doc), _page(doc)
    resources = int(doc.xref_get_key(doc[0].xref, "Resources")[1].split()[0])
    doc.xref_set_key(doc[1].xref, "Resources", f"{resources} 0 R")
    for name, page, text in (("A", doc[0], "血压135/85mmHg"), ("B", doc[1], "尿蛋白（+）")):
        xref = doc.get_new_xref()
        doc.update_object(
            xref,
            f"<</Type/XObject/Subtype/Image/Width {W}/Height {H}/ColorSpace/DeviceGray/BitsPerComponent 8>>",
        )
        doc.update_stream(xref, ink_gray(text))
        doc.xref_set_key(resources, f"XObject/{name}", f"{xref} 0 R")
        content = page.get_contents()[-1]
        doc.update_stream(
            content, doc.xref_stream(content) + b"\nq 500 0 0 33 40 509 cm /" + name.encode() + b" Do Q\n"
        )
    return doc


def _new_image(doc: pymupdf.Document, dictionary: str, samples: bytes, height: int = H) -> int:
    xref = doc.get_new_xref()
    doc.update_object(xref, f"<</Type/XObject/Subtype/Image/Width {W}/Height {height}{dictionary}>>")
    doc.update_stream(xref, samples)
    return xref


def _add(doc: pymupdf.Document, content: bytes, **resources: str) -> None:
    page = doc[0]
    owner = int(doc.xref_get_key(page.xref, "Resources")[1].split()[0])
    for key, value in resources.items():
        doc.xref_set_key(owner, key, value)
    stream = page.get_contents()[-1]
    doc.update_stream(stream, doc.xref_stream(stream) + content)


DRAW_INTO_BOX = b"q 500 0 0 33 40 509 cm "


def _drawing_image(doc: pymupdf.Document, head: str, image: int, content: bytes) -> int:
    """A content stream object (a form, a pattern, a group: ``head`` its keys) that draws ``image`` as /I."""
    xref = doc.get_new_xref()
    doc.update_object(xref, f"<<{head}/Resources<</XObject<</I {image} 0 R>>>>>>")
    doc.update_stream(xref, content)
    return xref


def decode_trick_in_a_form() -> pymupdf.Document:
    doc = pymupdf.open()
    _page(doc)
    image = _new_image(doc, "/ColorSpace/DeviceGray/BitsPerComponent 8/Decode[0.5 0.51]", ink_gray())
    form = _drawing_image(doc, "/Type/XObject/Subtype/Form/BBox[0 0 1 1]", image, b"/I Do")
    _add(doc, b"\n" + DRAW_INTO_BOX + b"/Fm Do Q\n", **{"XObject/Fm": f"{form} 0 R"})
    return doc


def decode_trick_in_a_pattern() -> pymupdf.Document:
    """A tiling pattern whose cell is the ``/Decode [0.5 0.51]`` image, filling its box."""
    doc = pymupdf.open()
    _page(doc)
    image = _new_image(doc, "/ColorSpace/DeviceGray/BitsPerComponent 8/Decode[0.5 0.51]", ink_gray())
    pattern = _drawing_image(
        doc,
        "/Type/Pattern/PatternType 1/PaintType 1/TilingType 1/BBox[0 0 500 33]/XStep 500/YStep 33"
        "/Matrix[1 0 0 1 40 509]",
        image,
        b"q 500 0 0 33 0 0 cm /I Do Q",
    )
    _add(doc, b"\nq /Pattern cs /P scn 40 509 500 33 re f Q\n", Pattern=f"<</P {pattern} 0 R>>")
    return doc


def ink_in_a_soft_mask_group() -> pymupdf.Document:
    """A white fill on the white page through a luminosity soft mask whose group draws the ink image."""
    doc = pymupdf.open()
    _page(doc)
    image = _new_image(doc, "/ColorSpace/DeviceGray/BitsPerComponent 8", ink_gray())
    group = _drawing_image(
        doc,
        "/Type/XObject/Subtype/Form/BBox[0 0 595 842]/Group<</S/Transparency/CS/DeviceGray>>",
        image,
        DRAW_INTO_BOX + b"/I Do Q",
    )
    state = f"<</SM <</SMask<</S/Luminosity/G {group} 0 R>>>>>>"
    _add(doc, b"\nq /SM gs 1 g 40 509 500 33 re f Q\n", ExtGState=state)
    return doc


def colour_key_masking_everything() -> pymupdf.Document:
    doc = pymupdf.open()
    page = _page(doc)
    _image_xobject(doc, page, "/ColorSpace/DeviceGray/BitsPerComponent 8/Mask [0 255]", ink_gray())
    return doc


def decode_trick_16_bit() -> pymupdf.Document:
    doc = pymupdf.open()
    page = _page(doc)
    samples = b"".join(bytes([v, v]) for v in ink_gray())
    _image_xobject(doc, page, "/ColorSpace/DeviceGray/BitsPerComponent 16/Decode[0.5 0.51]", samples, H)
    return doc


def inline_stencil_filled_white() -> pymupdf.Document:
    doc = pymupdf.open()
    page = _page(doc)
    bits = Image.frombytes("L", (W, H), ink_gray()).point(lambda v: 255 if v >= 128 else 0).convert("1")
    _draw_inline(doc, page, (inline_image(bits.tobytes(), b"/IM true"), BOX, b"1 g "))
    return doc


def bilevel_scan_shown_white(kind: str) -> pymupdf.Document:
    """A 300 dpi CCITT G4 or JBIG2 scan of the identifiers under ``/Decode [1 1]``: every sample shows white."""
    from tests.engine.scan_type3_pdfs import bilevel_scan

    doc = pymupdf.open(stream=bilevel_scan(kind), filetype="pdf")
    doc.xref_set_key(doc[0].get_images()[0][0], "Decode", "[1 1]")
    return doc


def jpeg2000_decode_trick() -> pymupdf.Document:
    """The ``/Decode [0.5 0.51]`` trick on a JPEG 2000 image (its stream holds no rows of samples)."""
    doc = pymupdf.open()
    page = _page(doc)
    out = io.BytesIO()
    Image.frombytes("L", (W, H), ink_gray()).save(out, "JPEG2000")
    xref = page.insert_image(BOX, stream=out.getvalue())
    doc.xref_set_key(xref, "Decode", "[0.5 0.51]")
    return doc


def image_drawn_upside_down() -> pymupdf.Document:
    """The identifiers' image drawn turned by 180° (a pasted insert upside down): a reviewer reads it
    turning the page, an extractor reads it upright."""
    doc = pymupdf.open()
    _page(doc)
    image = _new_image(doc, "/ColorSpace/DeviceGray/BitsPerComponent 8", ink_gray())
    _add(doc, b"\nq -500 0 0 -33 540 542 cm /Im Do Q\n", **{"XObject/Im": f"{image} 0 R"})
    return doc


def image_drawn_mirrored(matrix: bytes) -> pymupdf.Document:
    """The identifiers' image drawn mirrored (``matrix``: left to right, or top to bottom): mirror
    writing on the page, which a reviewer still reads, and upright samples an extractor reads."""
    doc = pymupdf.open()
    _page(doc)
    image = _new_image(doc, "/ColorSpace/DeviceGray/BitsPerComponent 8", ink_gray())
    _add(doc, b"\nq " + matrix + b" cm /Im Do Q\n", **{"XObject/Im": f"{image} 0 R"})
    return doc
