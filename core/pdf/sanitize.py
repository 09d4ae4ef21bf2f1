"""Remove hidden data: the one sanitizer of the CLI, the review preview and
the export (``core.export.finalize`` calls :func:`sanitize`).

Removed: document info and XMP metadata (also on pages, images and forms),
outlines, annotations, links and form fields (AcroForm, XFA), embedded
files and the name tree, JavaScript and every action (/OpenAction,
catalog, page and form /AA), page thumbnails and beads, the structure tree
(it may carry /Alt, /ActualText, /E) with its page and XObject links, page
labels, page-piece data, metadata inside image streams (JPEG application
and comment segments, see ``core.pdf.jpeg``; images in other coded forms
that can carry it, JPEG 2000 or chained filters, are re-coded from their
pixels), optional-content settings (every layer becomes
visible, see :func:`show_all_layers`), and the property lists of marked
content inside content streams (``/Span <</ActualText (…)>> BDC``), both
inline and named through ``/Properties`` resources.  Page contents are
cleaned (unused resources dropped).  :func:`clean_bytes` then writes the
file without history (full rewrite, unreachable objects dropped: no
incremental update survives).

Anything that cannot be sanitised raises :class:`SanitizeError`; callers
must not release the document then (fail closed).
"""

from __future__ import annotations

import re

import pymupdf

from core.errors import InputError
from core.pdf import jpeg

CATALOG_KEYS = (
    "Names",
    "OpenAction",
    "AA",
    "AcroForm",
    "StructTreeRoot",
    "MarkInfo",
    "PieceInfo",
    "Metadata",
    "Outlines",
    "Threads",
    "SpiderInfo",
    "Perms",
    "Legal",
    "Collection",
    "URI",
    "PageLabels",
    "Dests",
    "OCProperties",
)
PAGE_KEYS = (
    "Thumb",
    "PieceInfo",
    "AA",
    "B",
    "StructParents",
    "Metadata",
    "Annots",
    "ID",
    "PZ",
    "SeparationInfo",
    "VP",
)
# keys removed from every other dictionary in the file (XObjects, images, fonts ...)
OBJECT_KEYS = (
    "Metadata",
    "PieceInfo",
    "StructParent",
    "StructParents",
    "AA",
    "OC",
    "OPI",
    "Ref",
    "Alt",
    "ActualText",
    "Alternates",  # alternate images (for printing): never shown on screen, never redacted
)
METADATA_FILTERS = {"DCTDecode", "JPXDecode"}  # image codings with room for metadata segments or boxes
MARKED_CONTENT_OPS = {"BDC", "DP"}  # operators whose operands may hold a property list


class SanitizeError(InputError):
    """Hidden data could not be removed: the document must not be released."""


def sanitize(doc: pymupdf.Document) -> int:
    """Scrub ``doc`` in place (keeps page content as redacted).  Returns the
    number of streams emptied that no page could show (images no decoder
    reads), for ``unseen_removed``."""
    show_all_layers(doc)
    for page in doc.pages():
        _drop_annotations(doc, page)
    doc.scrub(
        attached_files=True,
        clean_pages=True,
        embedded_files=True,
        hidden_text=False,  # invisible text was already redacted where it held identifiers
        javascript=True,
        metadata=True,
        redactions=False,
        remove_links=True,
        reset_fields=True,
        reset_responses=True,
        thumbnails=True,
        xml_metadata=True,
    )
    for page in doc.pages():
        _null_keys(doc, page.xref, PAGE_KEYS)
    _null_keys(doc, doc.pdf_catalog(), CATALOG_KEYS)
    for name in list(doc.embfile_names()):
        doc.embfile_del(name)
    doc.set_toc([])
    doc.set_metadata({})
    doc.del_xml_metadata()
    _scrub_objects(doc)
    return _image_pixels_only(doc)


def _drop_annotations(doc: pymupdf.Document, page: pymupdf.Page) -> None:
    """Delete every annotation and form widget of ``page``.  When MuPDF
    cannot walk them (a field tree or appearance that loops), the page's
    /Annots array is dropped instead: unreferenced, the annotations are
    removed by the garbage-collecting rewrite (the AcroForm goes with the
    catalog keys)."""
    try:
        for annot in list(page.annots() or []):
            page.delete_annot(annot)
        for widget in list(page.widgets() or []):
            page.delete_widget(widget)
    except Exception:
        doc.xref_set_key(page.xref, "Annots", "null")


def show_all_layers(doc: pymupdf.Document) -> None:
    """Make every optional-content layer visible, for good: without
    /OCProperties every layer (and every membership expression) is shown,
    so detection, review and the output all see the same content."""
    if not doc.is_pdf:
        return
    _null_keys(doc, doc.pdf_catalog(), ("OCProperties",))
    for xref in range(1, doc.xref_length()):
        text = _dict_text(doc, xref)
        if text is not None and "/OC" in text and doc.xref_get_key(xref, "OC")[0] != "null":
            doc.xref_set_key(xref, "OC", "null")


def _null_keys(doc: pymupdf.Document, xref: int, keys, text: str | None = None) -> None:
    """Null each of ``keys`` set in the object; ``text``, the object as MuPDF
    prints it (names unescaped), skips the keys it cannot hold."""
    for key in keys:
        if text is not None and f"/{key}" not in text:
            continue
        if doc.xref_get_key(xref, key)[0] != "null":
            doc.xref_set_key(xref, key, "null")


def _null_path(doc: pymupdf.Document, xref: int, key: str) -> None:
    """Null ``key`` (a path such as Resources/Properties) where it is set;
    a path through an indirect object is reached as that object's own xref."""
    if doc.xref_get_key(xref, key)[0] == "null":
        return
    try:
        doc.xref_set_key(xref, key, "null")
    except Exception:  # "path has indirects": that object is nulled as its own xref
        pass


def _is_dict(doc: pymupdf.Document, xref: int) -> bool:
    return _dict_text(doc, xref) is not None


def _dict_text(doc: pymupdf.Document, xref: int) -> str | None:
    """The dictionary ``xref`` as MuPDF prints it, None when it is no dictionary."""
    try:
        text = doc.xref_object(xref, compressed=True)
    except Exception:  # a free or broken object: nothing to scrub
        return None
    return text if text.startswith("<<") else None


def _scrub_objects(doc: pymupdf.Document) -> None:
    """Remove per-object hidden data and neutralise marked-content property
    lists in every content stream (pages, forms, tiling patterns)."""
    contents = {x for page in doc.pages() for x in page.get_contents()}
    for xref in range(1, doc.xref_length()):
        text = _dict_text(doc, xref)
        if text is None:
            continue
        _null_keys(doc, xref, OBJECT_KEYS, text)
        if "/Properties" in text:  # named property lists of BDC operators (an indirect
            for key in ("Properties", "Resources/Properties"):  # /Resources is its own xref)
                _null_path(doc, xref, key)
        if doc.xref_is_stream(xref) and (xref in contents or is_content_stream(doc, xref)):
            data = doc.xref_stream(xref)
            if data and (b"BDC" in data or b"DP" in data or b"BI" in data):
                clean = neutral_marked_content(data)
                if clean != data:
                    doc.update_stream(xref, clean)


def _image_pixels_only(doc: pymupdf.Document) -> int:
    """Every image stream keeps its pixels and nothing else; the number of
    images emptied because they cannot be decoded."""
    emptied = 0
    for xref in range(1, doc.xref_length()):
        if doc.xref_get_key(xref, "Subtype")[1] != "/Image" or not doc.xref_is_stream(xref):
            continue
        filters = re.findall(r"/(\w+)", doc.xref_get_key(xref, "Filter")[1])
        if filters == ["DCTDecode"]:
            emptied += _jpeg_pixels_only(doc, xref)
        elif any(f in METADATA_FILTERS for f in filters):
            emptied += _recode_from_pixels(doc, xref)
    return emptied


def _jpeg_pixels_only(doc: pymupdf.Document, xref: int) -> int:
    data = doc.xref_stream_raw(xref) or b""
    try:
        clean = jpeg.pixels_only(data)
    except jpeg.NotAJpeg:
        return _recode_from_pixels(doc, xref)
    if clean != data:
        keep = {k: doc.xref_get_key(xref, k) for k in ("Filter", "DecodeParms")}
        doc.update_stream(xref, clean, compress=False)  # MuPDF drops /Filter: the bytes stay DCT-coded
        for key, (kind, value) in keep.items():
            if kind != "null":
                doc.xref_set_key(xref, key, value)
    return 0


def _recode_from_pixels(doc: pymupdf.Document, xref: int) -> int:
    """Replace the image by its own decoded pixels (lossless, Flate).  An
    image no decoder reads shows nothing here, and may show anything in
    another viewer: it becomes one white pixel (1 is returned)."""
    try:
        pix = pymupdf.Pixmap(doc, xref)
    except Exception:
        white = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 1, 1), False)
        white.set_rect(white.irect, (255,))
        _set_samples(doc, xref, white)
        return 1
    try:
        for page in doc.pages():
            if any(img[0] == xref for img in page.get_images(full=True)):
                page.replace_image(xref, pixmap=pix)
                return 0
        _set_samples(doc, xref, pymupdf.Pixmap(pix, 0) if pix.alpha else pix)  # a soft mask, a form's image
        return 0
    except Exception as exc:
        raise SanitizeError(
            "图像无法重新编码，无法清除其中可能的元数据",
            "an image that may carry metadata cannot be re-coded",
        ) from exc


def _set_samples(doc: pymupdf.Document, xref: int, pix: pymupdf.Pixmap) -> None:
    for key in ("DecodeParms", "Decode", "SMaskInData"):
        doc.xref_set_key(xref, key, "null")
    doc.update_stream(xref, pix.samples, compress=True)
    space = {1: "/DeviceGray", 3: "/DeviceRGB", 4: "/DeviceCMYK"}[pix.n]
    for key, value in (
        ("Width", pix.width),
        ("Height", pix.height),
        ("BitsPerComponent", 8),
        ("ColorSpace", space),
    ):
        doc.xref_set_key(xref, key, str(value))


def is_content_stream(doc: pymupdf.Document, xref: int) -> bool:
    subtype = doc.xref_get_key(xref, "Subtype")[1]
    return subtype == "/Form" or doc.xref_get_key(xref, "PatternType")[1] == "1"


def neutral_marked_content(data: bytes) -> bytes:
    """``data`` with the operands of every BDC / DP replaced by a bare tag:
    ``/Span <</ActualText (…)>> BDC`` becomes ``/Span BMC`` (``DP`` becomes
    ``MP``; an optional-content ``/OC`` tag becomes ``/Span``, so nothing
    looks like a layer), so no property list (ActualText, Alt, E, Lang …)
    survives and marked-content nesting stays balanced.  Tokens come from MuPDF's lexer;
    inline image data is skipped, except that inline JPEG data keeps its
    pixels only (:func:`_inline_jpeg`).  Raises :class:`SanitizeError` when
    the stream cannot be tokenised."""
    m = pymupdf.mupdf
    try:
        stm = m.fz_open_buffer(m.fz_new_buffer_from_copied_data(data))
        lexbuf = m.PdfLexbuf(m.PDF_LEXBUF_SMALL)
        out, kept_from, operands_from, tag, image_from = [], 0, 0, "", 0
        while True:
            tok = m.pdf_lex(stm, lexbuf)
            end = m.fz_tell(stm)
            if tok == m.PDF_TOK_EOF:
                break
            if tok == m.PDF_TOK_NAME and not tag:
                tag = lexbuf.m_internal.scratch
            elif tok == m.PDF_TOK_OPEN_DICT:
                m.pdf_parse_dict(m.PdfDocument(), stm, lexbuf)  # consumes nested dicts and strings
            elif tok == m.PDF_TOK_ERROR:
                raise ValueError("lexer error")
            elif tok == m.PDF_TOK_KEYWORD:
                word = lexbuf.m_internal.scratch
                if word in MARKED_CONTENT_OPS:
                    tag = (
                        tag if tag.isascii() and tag.isalnum() and tag != "OC" else "Span"
                    )  # no layer look-alike
                    out += [
                        data[kept_from:operands_from],
                        f" /{tag} {'BMC' if word == 'BDC' else 'MP'}\n".encode(),
                    ]
                    kept_from = end
                elif word == "BI":
                    image_from = operands_from
                elif word == "ID":
                    start, end = end, inline_image_end(data, end)
                    m.fz_seek(stm, end, 0)
                    rewritten = _inline_jpeg(data[image_from:start], data[start:end])
                    if rewritten is not None:
                        out += [data[kept_from:image_from], rewritten]
                        kept_from = end
                operands_from, tag = end, ""
        out.append(data[kept_from:])
        return b"".join(out)
    except Exception:
        raise SanitizeError(
            "页面内容流无法解析，无法清除隐藏数据",
            "a content stream cannot be parsed; hidden data cannot be removed",
        ) from None


INLINE_DCT = re.compile(rb"/(?:F|Filter)\s*(?:\[\s*)?/(?:DCT|DCTDecode)\b")
INLINE_LENGTH = re.compile(rb"/(?:L|Length)\s+\d+")


def _inline_jpeg(head: bytes, body: bytes) -> bytes | None:
    """An inline JPEG image (``head``: ``BI … ID``, ``body``: data up to and
    with ``EI``) rewritten with its pixels only; None for other images."""
    if not INLINE_DCT.search(head):
        return None
    data = body[1:-2].rstrip() if body[:1].isspace() else body[:-2].rstrip()
    clean = jpeg.pixels_only(data)
    head = INLINE_LENGTH.sub(lambda m: m.group(0).split()[0] + b" " + str(len(clean)).encode(), head)
    return head + b" " + clean + b"\nEI"


def inline_image_end(data: bytes, start: int) -> int:
    """Offset just after the ``EI`` that ends inline image data at ``start``."""
    at = start
    while True:
        at = data.find(b"EI", at)
        if at < 0:
            raise ValueError("inline image without EI")
        before, after = data[at - 1 : at], data[at + 2 : at + 3]
        if before.isspace() and (not after or after.isspace()):
            return at + 2
        at += 2


def clean_bytes(doc: pymupdf.Document, **save_opts) -> bytes:
    """Serialise without history: full rewrite, unused objects dropped."""
    return doc.tobytes(garbage=4, deflate=True, clean=True, no_new_id=True, **save_opts)
