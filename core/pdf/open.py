"""Open a PDF and refuse, with a clear message, anything we cannot process."""
from __future__ import annotations

import os
from pathlib import Path

import pymupdf

from core.errors import InputError
from core.pdf.sanitize import show_all_layers

MAX_BYTES = int(os.environ.get("DEID_MAX_PDF_BYTES", str(2 * 1024**3)))
MAX_PAGES = int(os.environ.get("DEID_MAX_PAGES", "5000"))

pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)


def open_pdf(source: str | Path | bytes) -> pymupdf.Document:
    """Open ``source`` (path or bytes) and check it is a usable PDF.

    Raises :class:`InputError` for non-PDF, encrypted, corrupt, zero-page or
    oversized files.  The message names the problem, never the content.

    The document returned is MuPDF's repaired rewrite of the input (a file
    MuPDF can read but not write, e.g. an object with a syntax error, is
    refused here, not half-way through redaction), with every
    optional-content layer switched on for good: detection, review and the
    output all see hidden layers.
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
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception:  # mupdf raises several types for broken files
        raise InputError("PDF 文件已损坏，无法打开", "PDF is corrupt and cannot be opened") from None
    if doc.needs_pass or doc.is_encrypted:
        doc.close()
        raise InputError("PDF 已加密，请先在来源系统中解除密码", "PDF is encrypted; remove the password first")
    if doc.page_count == 0:
        doc.close()
        raise InputError("PDF 没有页面", "PDF has zero pages")
    if doc.page_count > MAX_PAGES:
        doc.close()
        raise InputError("PDF 页数超过上限", "PDF has more pages than the configured limit")
    try:
        for page in doc:  # touch every page so broken page trees fail here
            page.rect
    except Exception:
        doc.close()
        raise InputError("PDF 页面结构损坏", "PDF page tree is corrupt") from None
    return _rewritten(doc)


def _rewritten(doc: pymupdf.Document) -> pymupdf.Document:
    expected = doc.page_count  # before the rewrite: MuPDF may repair (and lose pages) while writing
    try:
        clean = pymupdf.open(stream=doc.tobytes(garbage=1), filetype="pdf")
        show_all_layers(clean)
        if clean.page_count != expected or doc.page_count != expected:
            raise ValueError("pages lost in the rewrite")
        for index in range(clean.page_count):  # every page must load from the rewrite too
            clean[index].get_bboxlog()
    except Exception:
        raise InputError("PDF 文件结构损坏，无法安全处理", "PDF structure is corrupt; it cannot be processed safely") from None
    finally:
        doc.close()
    return clean
