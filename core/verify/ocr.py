"""Pixels for the leak gate: which pages or regions to OCR, and OCR in a
process pool with a progress callback.

Modes: ``none``; ``untrusted`` (whole pages whose text layer cannot be
trusted, ``core.pdf.trust``); ``images`` (those, plus every image region and every line of letters drawn as
outlines, the whole page when they cover most of it or when a page with no
text holds many vector paths); ``all`` (every whole page).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

import pymupdf

log = logging.getLogger(__name__)
MODES = ("none", "untrusted", "images", "all")
DEFAULT_MODE = "images"  # one default for every release path: the CLI, the export, the engine
MIN_REGION_PT = 6.0  # smaller images cannot hold readable text
FULL_PAGE_SHARE = 0.5  # images over half the page: OCR the whole page
Task = tuple  # (page index, clip or None)


def untrusted_pages(doc: pymupdf.Document) -> list[int]:
    from core.pdf.trust import assess_page

    return [page.number for page in doc.pages() if not assess_page(page, ocr_check=False).trusted]


def image_tasks(page: pymupdf.Page) -> list[Task]:
    from core.pdf.drawings import one_reading

    with one_reading(page):  # outlined letters and path-only pages: one reading of the drawings
        return _image_tasks(page)


def _image_tasks(page: pymupdf.Page) -> list[Task]:
    from core.ocr.page import (
        covered_share,
        image_boxes,
        many_paths,
        merge_overlapping,
        outline_text_regions,
        page_rect_unrotated,
    )

    full = page_rect_unrotated(page)
    boxes = [b for b in image_boxes(page) if b[2] - b[0] >= MIN_REGION_PT and b[3] - b[1] >= MIN_REGION_PT]
    boxes += outline_text_regions(page)  # letters drawn as paths: only pixels show them
    if covered_share(boxes, full) >= FULL_PAGE_SHARE:
        return [(page.number, None)]
    if boxes:
        return [
            (page.number, tuple(pymupdf.Rect(b) + (-2, -2, 2, 2) & pymupdf.Rect(full)))
            for b in merge_overlapping(boxes)
        ]
    if not page.get_text("text").strip() and many_paths(page):
        return [(page.number, None)]
    return []


def ocr_tasks(doc: pymupdf.Document, mode: str) -> list[Task]:
    """(page index, clip) pairs to OCR for ``mode`` (see the module)."""
    if mode not in MODES:
        raise ValueError(f"unknown OCR mode {mode!r}")
    if mode == "none":
        return []
    if mode == "all":
        return [(i, None) for i in range(doc.page_count)]
    whole = set(untrusted_pages(doc))
    tasks = [(i, None) for i in sorted(whole)]
    if mode == "images":
        tasks += [t for page in doc.pages() if page.number not in whole for t in image_tasks(page)]
    return sorted(tasks, key=lambda t: t[0])


_WORKER: dict = {}


def _init_worker(pdf: bytes, password: str, dpi: int) -> None:
    """A worker process: one OCR thread each (one process per core already)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ["DEID_OCR_THREADS"] = "1"
    _open_document(pdf, password, dpi)


def _open_document(pdf: bytes, password: str, dpi: int) -> None:
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    if password:
        doc.authenticate(password)
    _WORKER.update(doc=doc, dpi=dpi)


def _ocr_task(task: Task, release: bool = True) -> tuple[int, str]:
    """OCR text of one task; ``release``: drop the page's decoded fonts and images after it (False when the
    next task is on the same page, which would decode them again)."""
    from core.ocr.page import ocr_page_chars
    from core.pdf.render import release_page_memory

    index, clip = task
    lines = ocr_page_chars(_WORKER["doc"][index], _WORKER["dpi"], clip, use_cache=False)
    if release:
        release_page_memory()
    return index, "\n".join("".join(ch.c for ch in line) for line in lines)


def ocr_pages(
    pdf: bytes, password: str, tasks: list[Task], dpi: int, workers: int, progress=None
) -> dict[int, str]:
    """OCR text per page index for ``tasks``."""
    texts: dict[int, str] = {}
    if not tasks:
        return texts

    def add(n, index, text):
        texts[index] = (texts[index] + "\n" + text) if index in texts else text
        if progress:
            progress("verify_ocr", n, len(tasks))

    # the workers get the bytes (pickled through their pipe), never a plain copy on disk
    if workers > 1 and len(tasks) > 2:
        try:
            from core.spawn import neutral_main  # workers must not re-run a Streamlit page script

            with ProcessPoolExecutor(
                workers,
                mp_context=get_context("spawn"),
                initializer=_init_worker,
                initargs=(pdf, password, dpi),
            ) as pool:
                with neutral_main():  # the workers start while the tasks are submitted
                    results = pool.map(_ocr_task, tasks, chunksize=1)
                for n, (index, text) in enumerate(results, 1):
                    add(n, index, text)
            return texts
        except BrokenProcessPool:  # e.g. a __main__ that cannot be re-imported (python - < script)
            log.warning("OCR worker processes failed to start; verifying in this process")
            texts.clear()
    _open_document(pdf, password, dpi)  # in this process: its settings (OCR threads) stay as they are
    try:
        for n, task in enumerate(tasks, 1):
            add(n, *_ocr_task(task, release=n == len(tasks) or tasks[n][0] != task[0]))
    finally:
        _WORKER.pop("doc").close()
    return texts
