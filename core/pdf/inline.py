"""Inline images (``BI … ID … EI`` inside a content stream): found and
swapped with MuPDF's lexer, on every content stream of a document (pages,
forms, tiling patterns).  Used to check what an inline image shows: it has
no xref that ``Page.replace_image`` could swap."""

from __future__ import annotations

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
