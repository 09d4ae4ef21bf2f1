"""Where the leak gate reads the output file, each independent of the
detector's extraction (``core.pdf.text``):

- ``text``: PyMuPDF plain text of a copy with every optional-content layer
  on and every CropBox set to the MediaBox;
- ``pdftotext``: poppler over the same copy (its MediaBox default);
- ``raw stream``: string operands of every page's content streams and of
  every form XObject, tiling pattern and Type3 glyph procedure
  (``core.verify.raw``);
- ``image metadata``: application and comment segments of JPEG streams and
  what follows their end, found by ``core.verify.raw.jpeg_metadata_payloads`` (a
  marker search, not the sanitizer's walk); a JPEG 2000 image left in the
  file cannot be read this way and stops the gate;
- ``metadata``, ``annotation``, ``outline``, ``form``, ``attachment``,
  ``object`` (any string in any object), ``stream`` (other text streams:
  XMP, JavaScript ...).

Each source yields ``(page, where, text)``, ``page`` 1-based or None.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from typing import Iterator

import pymupdf

from core.verify.raw import decodings, jpeg_metadata_payloads, pdf_strings

log = logging.getLogger(__name__)
Place = tuple  # (page: int | None, where: str, text: str)
SKIP_STREAM_SUBTYPES = ("/Image", "/Type1C", "/CIDFontType0C", "/OpenType")  # pixels, font programs
SKIP_STREAM_KEYS = ("Length1", "Length2", "Length3", "N")  # font programs, ICC profiles
PDFTOTEXT_SECONDS = 120


class GateError(RuntimeError):
    """A source could not be read: the gate fails closed."""


def everything_shown(pdf: bytes, password: str = "") -> bytes:
    """A copy of ``pdf`` with no optional-content configuration (every
    layer shows) and every page's CropBox at its MediaBox."""
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    try:
        if doc.needs_pass:
            doc.authenticate(password)
        doc.xref_set_key(doc.pdf_catalog(), "OCProperties", "null")
        for page in doc.pages():
            doc.xref_set_key(page.xref, "CropBox", _inherited(doc, page.xref, "MediaBox") or "null")
        return doc.tobytes()
    finally:
        doc.close()


def _inherited(doc: pymupdf.Document, xref: int, key: str, depth: int = 32) -> str:
    """The raw value of a page attribute, looked up through /Parent (the
    box as written in the file, whatever its origin)."""
    while xref and depth:
        kind, value = doc.xref_get_key(xref, key)
        if kind != "null":
            return value
        kind, parent = doc.xref_get_key(xref, "Parent")
        xref, depth = (int(parent.split()[0]) if kind == "xref" else 0), depth - 1
    return ""


def layer_texts(shown: pymupdf.Document) -> Iterator[Place]:
    for page in shown.pages():
        yield page.number + 1, "text", page.get_text("text", flags=pymupdf.TEXT_PRESERVE_WHITESPACE)


def pdftotext_pages(shown: bytes) -> list[str]:
    """Poppler's text of every page (MediaBox, reading order)."""
    exe = shutil.which("pdftotext")
    if not exe:
        raise GateError("pdftotext (poppler-utils) is not installed")
    # the plain PDF goes through a pipe (input "-"), never a file outside the sealed store
    run = subprocess.run(
        [exe, "-q", "-enc", "UTF-8", "-", "-"], input=shown, capture_output=True, timeout=PDFTOTEXT_SECONDS
    )
    if run.returncode != 0:
        raise GateError(f"pdftotext failed (exit {run.returncode})")
    return run.stdout.decode("utf-8", "replace").split("\f")


def pdftotext_texts(shown: bytes) -> Iterator[Place]:
    for i, text in enumerate(pdftotext_pages(shown)):
        if text.strip():
            yield i + 1, "pdftotext", text


def _form_xrefs(doc: pymupdf.Document) -> list[int]:
    """Streams that are content: form XObjects, tiling patterns and the
    glyph procedures of Type3 fonts."""
    out = []
    for x in range(1, doc.xref_length()):
        try:
            if doc.xref_is_stream(x) and (
                doc.xref_get_key(x, "Subtype")[1] == "/Form" or doc.xref_get_key(x, "PatternType")[1] == "1"
            ):
                out.append(x)
            elif doc.xref_get_key(x, "Subtype")[1] == "/Type3":
                kind, procs = doc.xref_get_key(x, "CharProcs")
                if kind == "xref":
                    procs = doc.xref_object(int(procs.split()[0]), compressed=True)
                out += [int(n) for n in re.findall(r"(\d+)\s+0\s+R", procs) if 0 < int(n) < doc.xref_length()]
        except Exception:  # a free or broken object
            continue
    return sorted(set(out))


def raw_stream_texts(doc: pymupdf.Document) -> Iterator[Place]:
    """Decoded string operands of each page's content and of form XObjects,
    tiling patterns and Type3 glyph procedures, and the metadata segments of
    inline JPEG images there."""
    for page in doc.pages():
        for text in _content_texts(page.read_contents() or b""):
            yield page.number + 1, "raw stream", text
    for xref in _form_xrefs(doc):
        try:
            data = doc.xref_stream(xref) or b""
        except Exception as exc:
            raise GateError("a form XObject, pattern or glyph procedure cannot be decompressed") from exc
        for text in _content_texts(data):
            yield None, "raw stream", text


def _content_texts(data: bytes) -> list[str]:
    texts = decodings(pdf_strings(data))
    if b"/DCT" in data:  # an inline JPEG: its segments are searched for in the whole stream
        texts += _jpeg_texts(data)
    return texts


def _jpeg_texts(data: bytes) -> list[str]:
    payloads = jpeg_metadata_payloads(data)
    return decodings(payloads) + [p.decode("utf-16-le", "ignore") for p in payloads] if payloads else []


def metadata_texts(doc: pymupdf.Document) -> Iterator[Place]:
    meta = " ".join(str(v) for v in (doc.metadata or {}).values() if v)
    yield None, "metadata", meta + "\n" + (doc.get_xml_metadata() or "")


def image_metadata_texts(doc: pymupdf.Document) -> Iterator[Place]:
    for xref in range(1, doc.xref_length()):
        try:
            if doc.xref_get_key(xref, "Subtype")[1] != "/Image" or not doc.xref_is_stream(xref):
                continue
            coding = doc.xref_get_key(xref, "Filter")[1]
            raw = doc.xref_stream_raw(xref) or b""
        except Exception:  # a free or broken object
            continue
        if "JPXDecode" in coding:
            raise GateError("a JPEG 2000 image may carry metadata the gate cannot read")
        if "DCTDecode" in coding:
            for text in _jpeg_texts(raw):
                yield None, "image metadata", text


def annotation_texts(doc: pymupdf.Document) -> Iterator[Place]:
    for page in doc.pages():
        parts = [
            f"{a.info.get('content', '')} {a.info.get('title', '')} {a.info.get('subject', '')}"
            for a in page.annots() or []
        ]
        parts += [f"{w.field_name or ''} {w.field_value or ''}" for w in page.widgets() or []]
        if any(p.strip() for p in parts):
            yield page.number + 1, "annotation", "\n".join(parts)


def document_texts(doc: pymupdf.Document) -> Iterator[Place]:
    for _lvl, title, pno in doc.get_toc():
        yield (pno if pno > 0 else None), "outline", title
    for name in doc.embfile_names():
        yield None, "attachment", name + "\n" + doc.embfile_get(name).decode("utf-8", "ignore")


def object_texts(doc: pymupdf.Document) -> Iterator[Place]:
    """Every string in every object's dictionary (nested ones too), and
    every stream that is neither page content, pixels nor a font program."""
    content = {x for page in doc.pages() for x in page.get_contents()}
    forms = set(_form_xrefs(doc))
    for xref in range(1, doc.xref_length()):
        try:
            source = doc.xref_object(xref, compressed=True)
        except Exception:
            continue
        strings = pdf_strings(source.encode("latin-1", "replace"))
        if strings:
            for text in decodings(strings):
                yield None, "object", text
        if not doc.xref_is_stream(xref) or xref in content or xref in forms:
            continue
        if doc.xref_get_key(xref, "Subtype")[1] in SKIP_STREAM_SUBTYPES or any(
            doc.xref_get_key(xref, k)[0] != "null" for k in SKIP_STREAM_KEYS
        ):
            continue
        try:
            raw = doc.xref_stream(xref) or b""
        except Exception:
            continue
        bom = raw[:2] in (b"\xff\xfe", b"\xfe\xff")
        yield None, "stream", raw.decode("utf-16", "ignore") if bom else raw.decode("utf-8", "ignore")
