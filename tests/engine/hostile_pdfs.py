"""A small generated set of malformed, encrypted and hostile PDF files.

Each builder returns the bytes of one file.  ``raw_pdf`` writes objects
with a correct cross-reference table, so each file is broken in exactly the
one way its name says.
"""

from __future__ import annotations

import random
import zlib

import pymupdf

from tests.engine.pdfs import text_page

PAGE_TEXT = ["姓名：王小红  住院号：20230456", "入院诊断：妊娠期高血压"]


def raw_pdf(objects: list[bytes], root: int = 1, trailer_extra: bytes = b"") -> bytes:
    """Objects 1..n (bodies without ``n 0 obj``) with a valid xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<</Size %d /Root %d 0 R%s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        trailer_extra,
        xref,
    )
    return bytes(out)


def stream(dict_body: bytes, data: bytes) -> bytes:
    return b"<<%s /Length %d>>\nstream\n" % (dict_body, len(data)) + data + b"\nendstream"


def page_objects(content: bytes, resources: bytes = b"<<>>") -> list[bytes]:
    """Catalog (1), page tree (2), page (3), content (4)."""
    return [
        b"<</Type/Catalog /Pages 2 0 R>>",
        b"<</Type/Pages /Kids[3 0 R] /Count 1>>",
        b"<</Type/Page /Parent 2 0 R /MediaBox[0 0 595 842] /Resources %s /Contents 4 0 R>>" % resources,
        stream(b"", content),
    ]


HELV = b"<</Font<</F1 <</Type/Font/Subtype/Type1/BaseFont/Helvetica>>>>>>"
TEXT = b"BT /F1 12 Tf 50 700 Td (Patient ID 320106199501011237) Tj ET"


def good() -> bytes:
    doc = pymupdf.open()
    text_page(doc, PAGE_TEXT)
    return doc.tobytes()


def truncated() -> bytes:
    data = good()
    return data[: len(data) * 3 // 5]


def garbage_after_header() -> bytes:
    rnd = random.Random(11)
    return b"%PDF-1.7\n" + bytes(rnd.randrange(256) for _ in range(4000))


def broken_xref() -> bytes:
    data = raw_pdf(page_objects(TEXT, HELV))
    cut = data.index(b"xref\n")
    return (
        data[:cut]
        + b"xref\n0 9\nthis is not an xref table\n"
        + data[data.index(b"trailer") :].replace(b"startxref\n", b"startxref\n99")
    )


def object_syntax_error() -> bytes:
    objs = page_objects(TEXT, HELV)
    objs[2] = b"<</Type/Page /Parent 2 0 R /MediaBox[0 0 595 842 /Resources << /Font ]>> /Contents 4 0 R"
    return raw_pdf(objs)


def huge_image(width: int = 536_870_913, height: int = 536_870_913) -> bytes:
    objs = page_objects(b"q 200 0 0 200 50 500 cm /Im1 Do Q", b"<</XObject<</Im1 5 0 R>>>>")
    objs.append(
        stream(
            b"/Type/XObject/Subtype/Image/Width %d/Height %d/BitsPerComponent 8/ColorSpace/DeviceRGB"
            b"/Filter/FlateDecode" % (width, height),
            zlib.compress(b"\x80" * 3000),
        )
    )
    return raw_pdf(objs)


def many_colour_components() -> bytes:
    objs = page_objects(b"q 200 0 0 200 50 500 cm /Im1 Do Q", b"<</XObject<</Im1 5 0 R>>>>")
    objs.append(
        stream(
            b"/Type/XObject/Subtype/Image/Width 4/Height 4/BitsPerComponent 8/ColorSpace[/ICCBased 6 0 R]",
            b"\x80" * 48,
        )
    )
    objs.append(stream(b"/N 536870913", b"\x00" * 128))
    return raw_pdf(objs)


def recursive_forms() -> bytes:
    objs = page_objects(b"/X1 Do " + TEXT, b"<</XObject<</X1 5 0 R>> /Font<</F1 7 0 R>>>>")
    objs.append(
        stream(b"/Type/XObject/Subtype/Form/BBox[0 0 595 842]/Resources<</XObject<</X2 6 0 R>>>>", b"/X2 Do")
    )
    objs.append(
        stream(b"/Type/XObject/Subtype/Form/BBox[0 0 595 842]/Resources<</XObject<</X1 5 0 R>>>>", b"/X1 Do")
    )
    objs.append(b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>")
    return raw_pdf(objs)


def page_tree_loop() -> bytes:
    objs = page_objects(TEXT, HELV)
    objs[1] = b"<</Type/Pages /Kids[3 0 R 2 0 R] /Count 2>>"
    return raw_pdf(objs)


def zero_pages() -> bytes:
    return raw_pdf([b"<</Type/Catalog /Pages 2 0 R>>", b"<</Type/Pages /Kids[] /Count 0>>"])


def encrypted() -> bytes:
    doc = pymupdf.open()
    text_page(doc, PAGE_TEXT)
    return doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")


def not_a_pdf() -> bytes:
    return b"PK\x03\x04 this is a zip file, not a PDF" * 20


def empty() -> bytes:
    return b""


def broken_embedded_font() -> bytes:
    font = b"<</Type/Font/Subtype/TrueType/BaseFont/Odd/FirstChar 32/LastChar 126/FontDescriptor 6 0 R>>"
    desc = (
        b"<</Type/FontDescriptor/FontName/Odd/Flags 32/FontBBox[0 0 1000 1000]/ItalicAngle 0/Ascent 800"
        b"/Descent -200/CapHeight 700/StemV 80/FontFile2 7 0 R>>"
    )
    objs = page_objects(TEXT, b"<</Font<</F1 5 0 R>>>>")
    objs += [font, desc, stream(b"/Length1 5000", bytes(range(256)) * 8)]
    return raw_pdf(objs)


def type3_font_loop() -> bytes:
    """A Type3 glyph whose procedure draws the same glyph again."""
    font = (
        b"<</Type/Font/Subtype/Type3/FontBBox[0 0 1000 1000]/FontMatrix[0.001 0 0 0.001 0 0]/FirstChar 65"
        b"/LastChar 65/Widths[1000]/Encoding<</Differences[65/a]>>/CharProcs<</a 6 0 R>>"
        b"/Resources<</Font<</F1 5 0 R>>>>>>"
    )
    objs = page_objects(b"BT /F1 12 Tf 50 700 Td (AAA) Tj ET", b"<</Font<</F1 5 0 R>>>>")
    objs += [font, stream(b"", b"1000 0 d0 BT /F1 12 Tf (A) Tj ET 0 0 1000 1000 re f")]
    return raw_pdf(objs)


HOSTILE = {
    "truncated": truncated,
    "garbage_after_header": garbage_after_header,
    "broken_xref": broken_xref,
    "object_syntax_error": object_syntax_error,
    "huge_image": huge_image,
    "many_colour_components": many_colour_components,
    "recursive_forms": recursive_forms,
    "page_tree_loop": page_tree_loop,
    "zero_pages": zero_pages,
    "encrypted": encrypted,
    "not_a_pdf": not_a_pdf,
    "empty": empty,
    "broken_embedded_font": broken_embedded_font,
    "type3_font_loop": type3_font_loop,
}
