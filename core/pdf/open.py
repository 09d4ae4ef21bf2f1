"""Open a PDF and refuse, with a clear message, anything we cannot process."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

import pymupdf

from core.errors import InputError
from core.pdf.sanitize import show_all_layers

MAX_BYTES = int(os.environ.get("DEID_MAX_PDF_BYTES", str(2 * 1024**3)))
MAX_PAGES = int(os.environ.get("DEID_MAX_PAGES", "5000"))
MAX_PAGE_PT = 14400.0
MAX_CONTENT_BYTES = int(os.environ.get("DEID_MAX_CONTENT_BYTES", str(64 * 1024**2)))  # decompressed, per page

pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)

# digests of inputs that passed every check in this process: a document is
# opened several times on its way (import validates it, the store counts its
# pages, the CLI and the export open it again); the page scans (content size,
# page loads of the rewrite) need not run again for the very same bytes
_CHECKED: "OrderedDict[str, None]" = OrderedDict()
_CHECKED_MAX = 256
_checked_lock = threading.Lock()


def open_pdf(source: str | Path | bytes) -> pymupdf.Document:
    """Open ``source`` (path or bytes) and check it is a usable PDF.

    Raises :class:`InputError` for non-PDF, encrypted, corrupt, zero-page or
    oversized files.  The message names the problem, never the content.

    The document returned is MuPDF's repaired rewrite of the input (a file
    MuPDF can read but not write, e.g. an object with a syntax error, is
    refused here, not half-way through redaction), with every
    optional-content layer switched on for good (detection, review and the
    output all see hidden layers) and annotations and form fields baked into
    the page content as shown.
    """
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError("找不到输入文件", "input file not found")
        if path.stat().st_size > MAX_BYTES:
            raise InputError("文件过大，超过上限", "file is larger than the configured limit")
        data = path.read_bytes()
    if not data:
        raise InputError("文件为空", "file is empty")
    if b"%PDF" not in data[:1024]:
        raise InputError("不是 PDF 文件", "not a PDF file")
    digest = hashlib.sha256(data).hexdigest()
    with _checked_lock:
        known = digest in _CHECKED
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception:  # mupdf raises several types for broken files
        raise InputError("PDF 文件已损坏，无法打开", "PDF is corrupt and cannot be opened") from None
    if doc.needs_pass or doc.is_encrypted:
        doc.close()
        raise InputError(
            "PDF 已加密，请先在来源系统中解除密码", "PDF is encrypted; remove the password first"
        )
    try:
        count = doc.page_count  # MuPDF counts the page tree here; a broken /Count raises
    except Exception:
        doc.close()
        raise InputError("PDF 页面结构损坏", "PDF page tree is corrupt") from None
    if count == 0:
        doc.close()
        raise InputError("PDF 没有页面", "PDF has zero pages")
    if count > MAX_PAGES:
        doc.close()
        raise InputError("PDF 页数超过上限", "PDF has more pages than the configured limit")
    if known:
        return _rewritten(doc, load_pages=False)
    try:
        sizes = [tuple(doc[i].mediabox) for i in range(count)]  # broken page trees fail here
    except Exception:
        doc.close()
        raise InputError("PDF 页面结构损坏", "PDF page tree is corrupt") from None
    try:
        too_long = any(len(doc[i].read_contents()) > MAX_CONTENT_BYTES for i in range(count))
    except Exception:
        doc.close()
        raise InputError(
            "PDF 页面内容流损坏或解压后过大",
            "a page content stream is corrupt or too large when decompressed",
        ) from None
    if too_long:
        doc.close()
        raise InputError(
            "PDF 页面内容过大，无法在限定时间内安全处理",
            "a page content stream is too large to process safely",
        )
    if any(not _sane_size(box) for box in sizes):
        doc.close()
        raise InputError(
            f"PDF 页面尺寸超出范围（每边 1–{MAX_PAGE_PT:g} pt）",
            f"a page size is out of range (1-{MAX_PAGE_PT:g} pt per side)",
        )
    clean = _rewritten(doc)
    with _checked_lock:
        _CHECKED[digest] = None
        while len(_CHECKED) > _CHECKED_MAX:
            _CHECKED.popitem(last=False)
    return clean


def as_shown(doc: pymupdf.Document) -> None:
    """The one view of a document that detection, review and export all work on: every optional-content
    layer on, annotations and form fields baked into the page content."""
    show_all_layers(doc)
    bake_annotations(doc)


def bake_annotations(doc: pymupdf.Document) -> None:
    """Annotations and form fields become page content, as they are shown: a name typed into a form
    field or a free-text note is then detected and redacted like any other text, and the clinical
    values in fields stay readable.  What is not shown (a note's popup text, hidden annotations) is gone
    with the annotations themselves; annotations MuPDF cannot bake are dropped unseen, the same way on
    every path."""
    try:
        if any(page.first_annot or page.first_widget for page in doc.pages()):
            doc.bake(annots=True, widgets=True)
    except Exception:  # a field tree or appearance MuPDF cannot walk: nobody gets to see them
        for page in doc.pages():
            doc.xref_set_key(page.xref, "Annots", "null")


def _normalise_rotation(doc: pymupdf.Document, xref: int) -> None:
    """Write the rotation MuPDF shows on the page itself.  A /Rotate that is
    not a multiple of 90 (or is inherited from the page tree) is displayed
    rounded to the nearest quarter turn, while PyMuPDF reports 0 for it:
    boxes would be computed for one orientation and applied in another."""
    value, node = None, xref
    for _ in range(64):  # inherited from the page tree; bounded against loops
        kind, raw = doc.xref_get_key(node, "Rotate")
        if kind != "null":
            value = raw
            break
        kind, parent = doc.xref_get_key(node, "Parent")
        if kind != "xref":
            break
        node = int(parent.split()[0])
    try:
        degrees = int(float(value)) if value is not None else 0
    except ValueError:
        degrees = 0
    shown = 90 * (((degrees % 360) + 45) // 90) % 360
    if value is not None and (node != xref or str(shown) != value.strip()):
        doc.xref_set_key(xref, "Rotate", str(shown))


def _sane_size(box: tuple) -> bool:
    """Each side of the page between 1 pt and the PDF limit of 14,400 units
    (ISO 32000 Annex C); text on larger pages overflows MuPDF's integer
    coordinates and cannot be located, so it could not be redacted."""
    width, height = box[2] - box[0], box[3] - box[1]
    return all(v == v and 1.0 <= v <= MAX_PAGE_PT for v in (width, height))


def _rewritten(doc: pymupdf.Document, load_pages: bool = True) -> pymupdf.Document:
    expected = doc.page_count  # before the rewrite: MuPDF may repair (and lose pages) while writing
    try:
        clean = pymupdf.open(stream=doc.tobytes(garbage=1), filetype="pdf")
        as_shown(clean)
        if clean.page_count != expected or doc.page_count != expected:
            raise ValueError("pages lost in the rewrite")
        for index in range(clean.page_count):  # every page must load from the rewrite too
            _normalise_rotation(clean, clean[index].xref)
            if load_pages:  # the same bytes loaded every page before: the rewrite is the same
                clean[index].get_bboxlog()
    except Exception:
        raise InputError(
            "PDF 文件结构损坏，无法安全处理", "PDF structure is corrupt; it cannot be processed safely"
        ) from None
    finally:
        doc.close()
    return clean
