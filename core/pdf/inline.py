"""Inline images (``BI … ID … EI`` inside a content stream): found and
swapped with MuPDF's lexer, on every content stream of a document (pages,
forms, tiling patterns).  Used to check what an inline image shows: it has
no xref that ``Page.replace_image`` could swap."""

from __future__ import annotations

import binascii
import re
import zlib
from contextlib import contextmanager

import pymupdf

from core.pdf.sanitize import is_content_stream, inline_image_end


def inline_image_spans(data: bytes) -> list[tuple[int, int]]:
    """(start of ``BI``, end just after ``EI``) of every inline image of a content stream.
    Raises ValueError when the stream cannot be tokenised."""
    m = pymupdf.mupdf
    stm = m.fz_open_buffer(m.fz_new_buffer_from_copied_data(data))
    lexbuf = m.PdfLexbuf(m.PDF_LEXBUF_SMALL)
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        tok = m.pdf_lex(stm, lexbuf)
        end = m.fz_tell(stm)
        if tok == m.PDF_TOK_EOF:
            return spans
        if tok == m.PDF_TOK_ERROR:
            raise ValueError("lexer error")
        if tok == m.PDF_TOK_OPEN_DICT:
            m.pdf_parse_dict(m.PdfDocument(), stm, lexbuf)
        elif tok == m.PDF_TOK_KEYWORD and lexbuf.m_internal.scratch == "BI":
            start = data.rfind(b"BI", 0, end)
        elif tok == m.PDF_TOK_KEYWORD and lexbuf.m_internal.scratch == "ID":
            stop = inline_image_end(data, end)
            spans.append((start, stop))
            m.fz_seek(stm, stop, 0)


def replace_inline_images(doc: pymupdf.Document, replacement: bytes) -> int:
    """Replace every inline image of ``doc`` by ``replacement`` (a whole ``BI … EI``); the count."""
    contents = {x for page in doc.pages() for x in page.get_contents()}
    count = 0
    for xref in range(1, doc.xref_length()):
        if not doc.xref_is_stream(xref) or not (xref in contents or is_content_stream(doc, xref)):
            continue
        data = doc.xref_stream(xref) or b""
        spans = inline_image_spans(data) if b"BI" in data else []
        if spans:
            parts, kept = [], 0
            for start, stop in spans:
                parts += [data[kept:start], replacement]
                kept = stop
            doc.update_stream(xref, b"".join(parts) + data[kept:])
            count += len(spans)
    return count


def solid_inline_image(value: int) -> bytes:
    """A one-pixel gray inline image of ``value`` (0–255)."""
    return b"BI /W 1 /H 1 /CS /G /BPC 8 ID " + bytes([value]) + b" EI"


# ------------------------------------------------------------ one inline image at a time
FILTER_NAMES = {
    b"/AHx": b"/ASCIIHexDecode",
    b"/A85": b"/ASCII85Decode",
    b"/LZW": b"/LZWDecode",
    b"/Fl": b"/FlateDecode",
    b"/RL": b"/RunLengthDecode",
    b"/CCF": b"/CCITTFaxDecode",
    b"/DCT": b"/DCTDecode",
}
FILTER_KEYS = (b"/F", b"/Filter", b"/DP", b"/DecodeParms", b"/L", b"/Length")


class InlineImage:
    """One inline image of a content stream: its dictionary entries, its decoded samples (None when
    they cannot be read as rows of pixels), and a way to swap it for another ``BI … EI``."""

    def __init__(self, doc: pymupdf.Document, xref: int, span: tuple[int, int]):
        self.doc, self.xref, self.span = doc, xref, span
        data = doc.xref_stream(xref) or b""
        self.entries, payload = inline_image_parts(data, *span)
        self.samples = _inline_samples(self.entries, payload)

    def replace(self, image: bytes) -> None:
        data = self.doc.xref_stream(self.xref) or b""
        start, stop = self.span
        self.doc.update_stream(self.xref, data[:start] + image + data[stop:])

    @contextmanager
    def swapped(self, image: bytes):
        data = self.doc.xref_stream(self.xref) or b""
        self.replace(image)
        try:
            yield
        finally:
            self.doc.update_stream(self.xref, data)


def page_inline_images(page: pymupdf.Page) -> list[InlineImage]:
    """The inline images of ``page``'s content streams and of the forms, patterns and soft-mask groups
    it runs (``core.pdf.samples.drawn_images``), last first within a
    stream (so that replacing one leaves the places of the others as they are)."""
    from core.pdf.samples import drawn_images

    doc = page.parent
    streams = list(dict.fromkeys([*page.get_contents(), *drawn_images(page)[1]]))
    images = []
    for xref in streams:
        if not doc.xref_is_stream(xref):
            continue
        data = doc.xref_stream(xref) or b""
        if b"BI" not in data:
            continue
        try:
            spans = inline_image_spans(data)
            images += [InlineImage(doc, xref, span) for span in reversed(spans)]
        except (ValueError, RuntimeError):
            continue
    return images


def inline_image_parts(data: bytes, start: int, stop: int) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The (key, value) entries of the inline image at ``data[start:stop]`` and its data as stored."""
    m = pymupdf.mupdf
    stm = m.fz_open_buffer(m.fz_new_buffer_from_copied_data(data[start + 2 : stop]))
    lexbuf = m.PdfLexbuf(m.PDF_LEXBUF_SMALL)
    entries: list[tuple[bytes, bytes]] = []
    body = data[start + 2 : stop]
    while True:
        tok = m.pdf_lex(stm, lexbuf)
        if tok == m.PDF_TOK_KEYWORD and lexbuf.m_internal.scratch == "ID":
            id_end = m.fz_tell(stm)
            return entries, body[id_end + 1 : len(body) - 3]
        if tok != m.PDF_TOK_NAME:
            raise ValueError("inline image dictionary")
        key = b"/" + lexbuf.m_internal.scratch.encode("latin-1")
        at = m.fz_tell(stm)
        tok = m.pdf_lex(stm, lexbuf)
        if tok == m.PDF_TOK_OPEN_ARRAY:
            m.pdf_parse_array(m.PdfDocument(), stm, lexbuf)
        elif tok == m.PDF_TOK_OPEN_DICT:
            m.pdf_parse_dict(m.PdfDocument(), stm, lexbuf)
        elif tok in (m.PDF_TOK_EOF, m.PDF_TOK_ERROR):
            raise ValueError("inline image dictionary")
        entries.append((key, body[at : m.fz_tell(stm)].strip()))


def _inline_samples(entries: list[tuple[bytes, bytes]], payload: bytes):
    """Decoded samples of an inline image (its filters run by MuPDF on a scratch object)."""
    from core.pdf.samples import samples_from

    values = dict(entries)
    try:
        width = int(values.get(b"/W", values.get(b"/Width", b"0")))
        height = int(values.get(b"/H", values.get(b"/Height", b"0")))
        mask = values.get(b"/IM", values.get(b"/ImageMask", b"false")) == b"true"
        bpc = 1 if mask else int(values.get(b"/BPC", values.get(b"/BitsPerComponent", b"8")))
    except ValueError:
        return None
    filters = values.get(b"/F", values.get(b"/Filter", b""))
    for short, name in FILTER_NAMES.items():
        filters = re.sub(re.escape(short) + rb"(?![\w#])", name, filters)
    scratch = pymupdf.open()
    try:
        xref = scratch.get_new_xref()
        params = values.get(b"/DP", values.get(b"/DecodeParms", b""))
        head = (
            b"<<"
            + (b"/Filter " + filters if filters else b"")
            + (b"/DecodeParms " + params if params else b"")
        )
        scratch.update_object(xref, (head + b">>").decode("latin-1"))
        scratch.update_stream(xref, payload, compress=False)
        if filters:
            scratch.xref_set_key(xref, "Filter", filters.decode("latin-1"))
            if params:
                scratch.xref_set_key(xref, "DecodeParms", params.decode("latin-1"))
        decoded = scratch.xref_stream(xref) or b""
    except (ValueError, RuntimeError):
        return None
    finally:
        scratch.close()
    return samples_from(decoded, width, height, bpc, slack=2)  # uncompressed: the space before EI may stay


def inline_variant(image: InlineImage, kind: str) -> bytes:
    """``image`` as a one-pixel ``BI … EI`` (``Samples.pixel``) drawn where it was, the rest of its
    dictionary kept."""
    if image.samples is None:
        return b""
    size = (b"/W", b"/Width", b"/H", b"/Height")
    kept = b" ".join(k + b" " + v for k, v in image.entries if k not in FILTER_KEYS + size)
    data = binascii.hexlify(zlib.compress(image.samples.pixel(kind)))
    return b"BI /W 1 /H 1 " + kept + b" /F [/AHx /Fl] ID " + data + b"> EI"
