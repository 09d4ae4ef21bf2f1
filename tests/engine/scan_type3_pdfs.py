"""PDFs for the bilevel-scan and Type3 tests: built here, no external tool.

* Bilevel 300 dpi scans: the page is rendered at 300 dpi, thresholded to
  1 bit and encoded with Pillow's libtiff CCITT Group 4 encoder (one TIFF
  strip = the whole page).  That T.6 data is used twice: as a
  ``/CCITTFaxDecode`` image (``K -1``), and as the MMR-coded generic region
  of an embedded JBIG2 stream (page-information segment + immediate
  lossless generic region with MMR = 1, ITU-T T.88 §7.4.6 / §7.4.8), so
  the ``/JBIG2Decode`` path is exercised with a real JBIG2 bitstream.
  No JBIG2 encoder (jbig2enc) is installable here, so arithmetic-coded
  and symbol-dictionary JBIG2 are not built; MuPDF decodes both kinds
  through the same jbig2dec call.
  "Double layer": the same image under an invisible (render mode 3) text
  layer that says what the image shows.
* Type3: every glyph of a CJK font is rasterised and written as a glyph
  procedure of filled rectangles (one per run of ink in each row), so the
  page shows real text drawn by ``d1`` procedures; with and without a
  ``/ToUnicode`` map.
"""

from __future__ import annotations

import io
import struct

import pymupdf
from PIL import Image, ImageOps

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
NAME, ID = "王小红", "320106199501011237"
CLINICAL = "入院诊断：妊娠期高血压"
LINES = [f"姓名：{NAME}  性别：女  年龄：28岁", f"身份证号：{ID}", CLINICAL, "血压135/85mmHg，尿蛋白（++）。"]
A4 = (595, 842)


# ------------------------------------------------------------ bilevel scans
def _page_image(lines=LINES, dpi: int = 300) -> Image.Image:
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    page.insert_font(fontname="wqy", fontfile=FONT)
    for k, line in enumerate(lines):
        page.insert_text((60, 90 + 30 * k), line, fontname="wqy", fontsize=13)
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    return Image.frombytes("L", (pix.width, pix.height), pix.samples)


def g4_data(gray: Image.Image) -> tuple[bytes, int, int]:
    """CCITT G4 (T.6) data of a grey image thresholded to 1 bit, in the
    sense both PDF filters expect by default (a 0-bit run is white).

    Pillow writes mode "1" as min-is-black, so the image is inverted first
    to make the coded 'white' runs the white paper."""
    bits = ImageOps.invert(gray).point(lambda v: 255 if v >= 128 else 0).convert("1")
    buf = io.BytesIO()
    bits.save(buf, format="TIFF", compression="group4", tiffinfo={278: bits.height})  # one strip
    tif = Image.open(io.BytesIO(buf.getvalue()))
    (offset,), (length,) = tif.tag_v2[273], tif.tag_v2[279]
    return buf.getvalue()[offset : offset + length], bits.width, bits.height


def jbig2_mmr(g4: bytes, width: int, height: int, dpi: int = 300) -> bytes:
    """An embedded JBIG2 stream (PDF: no file header) holding one page
    with one immediate lossless generic region coded with MMR (T.6)."""

    def segment(number: int, kind: int, data: bytes) -> bytes:
        return struct.pack(">IBBBI", number, kind, 0, 1, len(data)) + data  # no referred segments, page 1

    ppm = round(dpi / 0.0254)
    page_info = struct.pack(">IIIIBH", width, height, ppm, ppm, 0, 0)
    region = struct.pack(">IIIIB", width, height, 0, 0, 0) + bytes([0x01]) + g4  # flags: MMR = 1
    return segment(0, 48, page_info) + segment(1, 39, region)


def _image_page(doc: pymupdf.Document, data: bytes, width: int, height: int, filter_: str, parms: str | None):
    page = doc.new_page(width=A4[0], height=A4[1])
    xref = doc.get_new_xref()
    doc.update_object(xref, "<<>>")
    doc.update_stream(xref, data, compress=False)
    for key, value in (
        ("Type", "/XObject"),
        ("Subtype", "/Image"),
        ("Width", str(width)),
        ("Height", str(height)),
        ("BitsPerComponent", "1"),
        ("ColorSpace", "/DeviceGray"),
        ("Filter", filter_),
    ):
        doc.xref_set_key(xref, key, value)
    if parms:
        doc.xref_set_key(xref, "DecodeParms", parms)
    content = doc.get_new_xref()
    doc.update_object(content, "<<>>")
    doc.update_stream(content, b"q %d 0 0 %d 0 0 cm /Im1 Do Q" % A4)
    doc.xref_set_key(page.xref, "Resources", f"<</XObject<</Im1 {xref} 0 R>>>>")
    doc.xref_set_key(page.xref, "Contents", f"{content} 0 R")
    return doc[page.number]


def bilevel_scan(kind: str = "ccitt", double_layer: bool = False, lines=LINES) -> bytes:
    """One A4 page scanned at 300 dpi, 1 bit, CCITT G4 or JBIG2 (MMR);
    ``double_layer`` adds an invisible text layer saying what it shows."""
    g4, w, h = g4_data(_page_image(lines))
    doc = pymupdf.open()
    if kind == "ccitt":
        page = _image_page(doc, g4, w, h, "/CCITTFaxDecode", f"<</K -1/Columns {w}/Rows {h}>>")
    else:
        page = _image_page(doc, jbig2_mmr(g4, w, h), w, h, "/JBIG2Decode", None)
    if double_layer:
        page.insert_font(fontname="wqy", fontfile=FONT)
        for k, line in enumerate(lines):
            page.insert_text((60, 90 + 30 * k), line, fontname="wqy", fontsize=13, render_mode=3)
        doc.subset_fonts()
    return doc.tobytes(garbage=3)


# ------------------------------------------------------------ Type3 fonts
EM = 1000
CELL = 50  # bitmap pixels per em


def _glyph_procedure(ch: str) -> bytes:
    """``d1`` procedure drawing ``ch`` as one filled rectangle per ink run."""
    doc = pymupdf.open()
    page = doc.new_page(width=CELL, height=CELL)
    page.insert_font(fontname="wqy", fontfile=FONT)
    page.insert_text((0, CELL * 0.86), ch, fontname="wqy", fontsize=CELL)
    pix = page.get_pixmap(dpi=72, colorspace=pymupdf.csGRAY)
    unit = EM / CELL
    width = EM if ord(ch) > 0x2E80 else EM // 2
    ops = [b"%d 0 0 -140 %d 860 d1" % (width, width)]
    for y in range(pix.height):
        row = pix.samples[y * pix.stride : y * pix.stride + pix.width]
        x = 0
        while x < pix.width:
            if row[x] < 128:
                start = x
                while x < pix.width and row[x] < 128:
                    x += 1
                ops.append(
                    b"%g %g %g %g re" % (start * unit, (CELL * 0.86 - y - 1) * unit, (x - start) * unit, unit)
                )
            x += 1
    ops.append(b"f")
    return b"\n".join(ops)


def _tounicode(chars: list[str]) -> bytes:
    body = "\n".join(f"<{i + 1:02X}> <{ord(c):04X}>" for i, c in enumerate(chars))
    return (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n/CIDSystemInfo << /Registry (Adobe) "
        "/Ordering (UCS) /Supplement 0 >> def\n/CMapName /T3 def 1 begincodespacerange <00> <FF> "
        f"endcodespacerange\n{len(chars)} beginbfchar\n{body}\nendbfchar\nendcmap CMapName currentdict /CMap "
        "defineresource pop end end\n"
    ).encode("ascii")


def type3_page(lines=LINES, tounicode: bool = False, plain_lines=()) -> bytes:
    """``lines`` drawn with a Type3 font of real glyph procedures (codes
    1..n, glyph names /g1…, no /ToUnicode unless asked); ``plain_lines``
    in an ordinary font below them."""
    chars = sorted({c for line in lines for c in line})
    code = {c: i + 1 for i, c in enumerate(chars)}
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    procs = []
    for c in chars:
        xref = doc.get_new_xref()
        doc.update_object(xref, "<<>>")
        doc.update_stream(xref, _glyph_procedure(c))
        procs.append(xref)
    widths = " ".join(str(EM if ord(c) > 0x2E80 else EM // 2) for c in chars)
    names = " ".join(f"/g{i + 1}" for i in range(len(chars)))
    charprocs = " ".join(f"/g{i + 1} {x} 0 R" for i, x in enumerate(procs))
    font = doc.get_new_xref()
    doc.update_object(
        font,
        f"<</Type/Font/Subtype/Type3/FontBBox[0 -140 {EM} 860]/FontMatrix[0.001 0 0 0.001 0 0]"
        f"/FirstChar 1/LastChar {len(chars)}/Widths[{widths}]"
        f"/Encoding<</Type/Encoding/Differences[1 {names}]>>/CharProcs<<{charprocs}>>/Resources<<>>>>",
    )
    if tounicode:
        cmap = doc.get_new_xref()
        doc.update_object(cmap, "<<>>")
        doc.update_stream(cmap, _tounicode(chars))
        doc.xref_set_key(font, "ToUnicode", f"{cmap} 0 R")
    ops = [
        b"BT /T3 13 Tf 60 %g Td <%s> Tj ET"
        % (A4[1] - 90 - 30 * k, "".join(f"{code[c]:02X}" for c in line).encode())
        for k, line in enumerate(lines)
    ]
    content = doc.get_new_xref()
    doc.update_object(content, "<<>>")
    doc.update_stream(content, b"\n".join(ops))
    doc.xref_set_key(page.xref, "Resources", f"<</Font<</T3 {font} 0 R>>>>")
    doc.xref_set_key(page.xref, "Contents", f"{content} 0 R")
    page = doc[0]
    for k, line in enumerate(plain_lines):
        page.insert_text((60, 90 + 30 * (len(lines) + k)), line, fontname="china-s", fontsize=13)
    return doc.tobytes(garbage=3)
