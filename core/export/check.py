"""Verify the final file before it is released.

Reopens the exact bytes that will be handed out and looks for every
identifier known for the case in three places:

- the text layer of every page, metadata, annotations and the OCR text —
  the engine's ``core.verify.verify_no_leaks`` (exact, normalised), plus a
  one-confusion fuzzy match on OCR text (``core.export.matcher``);
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
import logging
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Iterable

import pymupdf

from core.export.matcher import Identifier, Matcher
from core.masking import mask

log = logging.getLogger(__name__)
SKIP_STREAM_SUBTYPES = ("/Image", "/Form", "/Type1C", "/CIDFontType0C", "/OpenType")  # pixels, content, fonts
SKIP_STREAM_KEYS = ("Length1", "Length2", "Length3", "N")  # font programs, ICC profiles


def _leak(where: str, page: int | None, ident: Identifier, fuzzy: bool = False) -> dict:
    return {
        "page": page,
        "where": where,
        "category": ident.category,
        "origin": ident.origin,
        "masked": mask(ident.value, ident.category),
        "fuzzy": fuzzy,
    }


# ------------------------------------------------- text layer (the engine)
def engine_check(doc: pymupdf.Document, identifiers: list[Identifier], page_texts: dict[int, str]) -> list[dict]:
    """The engine's verifier over the text layer, metadata, annotations and
    the OCR text of image pages (exact normalised match)."""
    from core.verify import verify_no_leaks

    report = verify_no_leaks(doc, [(i.value, i.category) for i in identifiers], page_texts=page_texts)
    return [
        {"page": (leak.page_index + 1) if leak.page_index >= 0 else None, "where": leak.where,
         "category": leak.category, "origin": "", "masked": leak.masked, "fuzzy": False}
        for leak in report.leaks
    ]


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
    """Places the engine's verifier does not read: outlines, form fields,
    embedded files, and every other string or non-content stream."""
    leaks = []
    for _lvl, title, pno in doc.get_toc():
        for hit in matcher.search(title):
            leaks.append(_leak("outline", pno, hit.identifier))
    for page in doc:
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


def _ocr_task(task: tuple[int, tuple | None]) -> tuple[int, str]:
    from core.ocr.page import ocr_page_chars

    index, clip = task
    lines = ocr_page_chars(_WORKER["doc"][index], _WORKER["dpi"], clip, use_cache=False)
    return index, "\n".join("".join(ch.c for ch in line) for line in lines)


MIN_REGION_PT = 6.0  # smaller images cannot hold readable text
FULL_PAGE_SHARE = 0.5  # images over half the page: OCR the whole page


def ocr_tasks(doc: pymupdf.Document, mode: str) -> list[tuple[int, tuple | None]]:
    """(page index, clip) pairs to OCR: ``all`` = every whole page;
    ``images`` = the image regions (whole page when images cover most of it
    or when the page has no text but many vector paths, e.g. outlined text)."""
    if mode == "none":
        return []
    if mode == "all":
        return [(i, None) for i in range(doc.page_count)]
    from core.ocr.page import _many_paths, covered_share, image_boxes, merge_overlapping, page_rect_unrotated

    tasks = []
    for page in doc:
        full = page_rect_unrotated(page)
        boxes = [b for b in image_boxes(page) if b[2] - b[0] >= MIN_REGION_PT and b[3] - b[1] >= MIN_REGION_PT]
        if covered_share(boxes, full) >= FULL_PAGE_SHARE:
            tasks.append((page.number, None))
        elif boxes:
            tasks += [(page.number, tuple(pymupdf.Rect(b) + (-2, -2, 2, 2) & pymupdf.Rect(full)))
                      for b in merge_overlapping(boxes)]
        elif not page.get_text("text").strip() and _many_paths(page):
            tasks.append((page.number, None))
    return tasks


def ocr_pages(pdf: bytes, password: str, tasks: list[tuple[int, tuple | None]], dpi: int, workers: int,
              progress=None) -> dict[int, str]:
    texts: dict[int, str] = {}
    if not tasks:
        return texts

    def add(n, index, text):
        texts[index] = (texts[index] + "\n" + text) if index in texts else text
        if progress:
            progress("verify_ocr", n, len(tasks))

    with tempfile.TemporaryDirectory(prefix="deid-verify-") as tmp:
        path = os.path.join(tmp, "final.pdf")
        with open(path, "wb") as fh:
            fh.write(pdf)
        if workers > 1 and len(tasks) > 2:
            try:
                from core.engine import neutral_main  # workers must not re-run a Streamlit page script

                with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker,
                                         initargs=(path, password, dpi)) as pool:
                    with neutral_main():  # the workers start while the tasks are submitted
                        results = pool.map(_ocr_task, tasks, chunksize=1)
                    for n, (index, text) in enumerate(results, 1):
                        add(n, index, text)
                return texts
            except BrokenProcessPool:  # e.g. a __main__ that cannot be re-imported (python - < script)
                log.warning("OCR worker processes failed to start; verifying in this process")
                texts.clear()
        _init_worker(path, password, dpi)
        try:
            for n, task in enumerate(tasks, 1):
                add(n, *_ocr_task(task))
        finally:
            _WORKER.pop("doc").close()
    return texts


def fuzzy_ocr_check(page_texts: dict[int, str], matcher: Matcher) -> list[dict]:
    """One-confusion matches in OCR text (exact ones are the engine's)."""
    leaks = []
    for i in sorted(page_texts):
        for hit in matcher.search(page_texts[i]):
            if hit.fuzzy:
                leaks.append(_leak("ocr", i + 1, hit.identifier, True))
    return leaks


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
        tasks = ocr_tasks(doc, ocr)
        page_texts = ocr_pages(pdf, password, tasks, dpi, workers, progress)
        leaks = engine_check(doc, identifiers, page_texts)
        leaks += fuzzy_ocr_check(page_texts, matcher)
        leaks += check_hidden_data(doc, matcher)
        if progress:
            progress("verify", doc.page_count, doc.page_count)
        pages = doc.page_count
    finally:
        doc.close()
    leaks = _dedupe(leaks)
    return {
        "ok": not leaks,
        "leaks": leaks,
        "pages": pages,
        "ocr_pages": len({i for i, _ in tasks}),
        "ocr_regions": len(tasks),
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
