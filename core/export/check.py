"""Verify the final file before it is released.

Reopens the exact bytes that will be handed out and looks for every
identifier known for the case in three places:

- the text layer of every page — the engine's ``core.verify.verify_no_leaks``;
- hidden data: document info, XMP, outlines, annotations, form fields,
  embedded files, JavaScript and any other string or non-content stream in
  the file;
- pixels: OCR of every page that holds an image (``ocr="images"``), of
  every page (``"all"``, full re-OCR) or of none.  OCR runs in a process
  pool (``workers``) with a progress callback.

A hit blocks the export; the report names page and place, never the value
(masked only).
"""
from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Iterable

import pymupdf

from core.export.matcher import Identifier, Matcher
from core.masking import mask

SKIP_STREAM_SUBTYPES = ("/Image", "/Form")
SKIP_STREAM_KEYS = ("Length1", "Length2", "Length3")  # font programs


def _leak(where: str, page: int | None, ident: Identifier, fuzzy: bool = False) -> dict:
    return {
        "page": page,
        "where": where,
        "category": ident.category,
        "origin": ident.origin,
        "masked": mask(ident.value, ident.category),
        "fuzzy": fuzzy,
    }


# ---------------------------------------------------------------- text layer
def check_text_layer(doc: pymupdf.Document, matcher: Matcher, identifiers: list[Identifier]) -> list[dict]:
    try:
        from core.verify import verify_no_leaks  # the engine's verifier
    except ImportError:
        verify_no_leaks = None
    if verify_no_leaks is not None:
        return _engine_text_check(doc, identifiers, verify_no_leaks)
    leaks = []
    for page in doc:
        for hit in matcher.search(page.get_text()):
            leaks.append(_leak("text", page.number + 1, hit.identifier, hit.fuzzy))
    return leaks


def _engine_text_check(doc, identifiers, verify_no_leaks) -> list[dict]:
    by_value = {i.value: i for i in identifiers}
    report = verify_no_leaks(doc, list(identifiers))
    leaks = []
    for item in getattr(report, "leaks", []) or []:
        get = item.get if isinstance(item, dict) else (lambda k, d=None, _i=item: getattr(_i, k, d))
        value = get("value", None) or get("text", None) or ""
        ident = by_value.get(value) or Identifier(value, get("category", "") or "", get("origin", "") or "")
        page = get("page_index", None)
        leaks.append(_leak("text", (page + 1) if page is not None else get("page", None), ident))
    return leaks


# --------------------------------------------------------------- hidden data
def _scan_strings(doc: pymupdf.Document, matcher: Matcher) -> list[dict]:
    leaks = []
    content_xrefs = set()
    for page in doc:
        content_xrefs.update(page.get_contents())
    for xref in range(1, doc.xref_length()):
        try:
            keys = doc.xref_get_keys(xref)
        except Exception:
            continue
        for key in keys:
            kind, value = doc.xref_get_key(xref, key)
            if kind == "string" and value:
                for hit in matcher.search(value):
                    leaks.append(_leak(f"object:{key}", None, hit.identifier, hit.fuzzy))
        if doc.xref_is_stream(xref) and xref not in content_xrefs:
            subtype = doc.xref_get_key(xref, "Subtype")[1]
            if subtype in SKIP_STREAM_SUBTYPES or any(doc.xref_get_key(xref, k)[0] != "null" for k in SKIP_STREAM_KEYS):
                continue
            try:
                raw = doc.xref_stream(xref) or b""
            except Exception:
                continue
            text = raw.decode("utf-16", "ignore") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8", "ignore")
            for hit in matcher.search(text):
                leaks.append(_leak("stream", None, hit.identifier, hit.fuzzy))
    return leaks


def check_hidden_data(doc: pymupdf.Document, matcher: Matcher) -> list[dict]:
    leaks = []
    for key, value in (doc.metadata or {}).items():
        for hit in matcher.search(value or ""):
            leaks.append(_leak(f"metadata:{key}", None, hit.identifier))
    for hit in matcher.search(doc.get_xml_metadata() or ""):
        leaks.append(_leak("xmp", None, hit.identifier))
    for _lvl, title, pno in doc.get_toc():
        for hit in matcher.search(title):
            leaks.append(_leak("outline", pno, hit.identifier))
    for page in doc:
        for annot in page.annots() or []:
            info = annot.info or {}
            text = " ".join(str(info.get(k, "")) for k in ("content", "title", "subject", "name"))
            for hit in matcher.search(text):
                leaks.append(_leak("annotation", page.number + 1, hit.identifier))
        for widget in page.widgets() or []:
            text = f"{widget.field_name or ''} {widget.field_value or ''}"
            for hit in matcher.search(text):
                leaks.append(_leak("form", page.number + 1, hit.identifier))
    for name in doc.embfile_names():
        body = doc.embfile_get(name).decode("utf-8", "ignore")
        for hit in matcher.search(f"{name} {body}"):
            leaks.append(_leak("attachment", None, hit.identifier))
    leaks += _scan_strings(doc, matcher)
    return _dedupe(leaks)


# ----------------------------------------------------------------------- OCR
_WORKER: dict = {}


def _init_worker(path: str, password: str, dpi: int) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ["DEID_OCR_THREADS"] = "1"
    doc = pymupdf.open(path)
    if password:
        doc.authenticate(password)
    _WORKER.update(doc=doc, dpi=dpi)


def _ocr_page(index: int) -> tuple[int, str]:
    from core.export.ocr import ocr_text

    return index, ocr_text(_WORKER["doc"][index], _WORKER["dpi"])


def pages_to_ocr(doc: pymupdf.Document, mode: str) -> list[int]:
    if mode == "none":
        return []
    if mode == "all":
        return list(range(doc.page_count))
    return [p.number for p in doc if p.get_images(full=False)]


def ocr_pages(pdf: bytes, password: str, indexes: list[int], dpi: int, workers: int, progress=None) -> dict[int, str]:
    texts: dict[int, str] = {}
    if not indexes:
        return texts
    with tempfile.TemporaryDirectory(prefix="deid-verify-") as tmp:
        path = os.path.join(tmp, "final.pdf")
        with open(path, "wb") as fh:
            fh.write(pdf)
        if workers <= 1 or len(indexes) <= 2:
            _init_worker(path, password, dpi)
            try:
                for n, i in enumerate(indexes, 1):
                    texts[i] = _ocr_page(i)[1]
                    if progress:
                        progress("verify_ocr", n, len(indexes))
            finally:
                _WORKER.pop("doc").close()
            return texts
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker,
                                 initargs=(path, password, dpi)) as pool:
            for n, (i, text) in enumerate(pool.map(_ocr_page, indexes, chunksize=1), 1):
                texts[i] = text
                if progress:
                    progress("verify_ocr", n, len(indexes))
    return texts


def check_pixels(pdf: bytes, doc: pymupdf.Document, matcher: Matcher, *, password: str = "", mode: str = "images",
                 dpi: int = 150, workers: int = 2, progress=None) -> tuple[list[dict], int]:
    indexes = pages_to_ocr(doc, mode)
    texts = ocr_pages(pdf, password, indexes, dpi, workers, progress)
    leaks = []
    for i in sorted(texts):
        for hit in matcher.search(texts[i]):
            leaks.append(_leak("ocr", i + 1, hit.identifier, hit.fuzzy))
    return leaks, len(indexes)


# --------------------------------------------------------------------- all
def _dedupe(leaks: list[dict]) -> list[dict]:
    seen, out = set(), []
    for leak in leaks:
        key = (leak["page"], leak["where"], leak["masked"], leak["category"])
        if key not in seen:
            seen.add(key)
            out.append(leak)
    return out


def verify_final(pdf: bytes, identifiers: Iterable[Identifier], *, password: str = "", ocr: str = "images",
                 dpi: int = 150, workers: int = 2, progress=None) -> dict:
    """Check the final bytes.  Returns a report dict (``ok`` False on any hit)."""
    t0 = time.perf_counter()
    identifiers = list(identifiers)
    matcher = Matcher(identifiers)
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    try:
        if doc.needs_pass and not doc.authenticate(password):
            return {"ok": False, "leaks": [], "error": "cannot open the final file with the export password"}
        leaks = check_text_layer(doc, matcher, identifiers)
        if progress:
            progress("verify_text", doc.page_count, doc.page_count)
        leaks += check_hidden_data(doc, matcher)
        pixel_leaks, n_ocr = check_pixels(pdf, doc, matcher, password=password, mode=ocr, dpi=dpi,
                                          workers=workers, progress=progress)
        leaks += pixel_leaks
        pages = doc.page_count
    finally:
        doc.close()
    leaks = _dedupe(leaks)
    return {
        "ok": not leaks,
        "leaks": leaks,
        "pages": pages,
        "ocr_pages": n_ocr,
        "ocr_mode": ocr,
        "identifiers": len(matcher),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def describe_leaks(report: dict, limit: int = 10) -> str:
    parts = []
    for leak in report.get("leaks", [])[:limit]:
        where = f"第 {leak['page']} 页 " if leak.get("page") else ""
        parts.append(f"{where}{leak['where']} {leak['category']} {leak['masked']}")
    more = len(report.get("leaks", [])) - limit
    return "；".join(parts) + (f"；另有 {more} 处" if more > 0 else "")
