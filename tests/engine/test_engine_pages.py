"""Engine page stage: parallel pages give the same findings as serial; a
failing page is reported and the others still get analysed."""

from __future__ import annotations

import pymupdf

from core.engine import analyze_document
from tests.engine.pdfs import fail_on_page, text_page


def _record(pages: int) -> pymupdf.Document:
    doc = pymupdf.open()
    for i in range(pages):
        text_page(
            doc,
            [
                "南京市第一人民医院 住院病历",
                f"姓名：王小红  住院号：2023{i:04d}",
                "今日李建国主任医师查房。",
                f"第{i + 1}页",
            ],
        )
    return doc


def test_parallel_pages_match_serial(monkeypatch):
    from core import engine

    monkeypatch.setattr(engine, "_worth_a_pool", lambda *a: True)
    doc = _record(13)
    serial = analyze_document(doc, {"patient_name": "王小红"}, ocr=False, workers=1)
    parallel = analyze_document(doc, {"patient_name": "王小红"}, ocr=False, workers=2)

    def key(a):
        return sorted((f.page_index, f.category.value, tuple(map(tuple, f.rects))) for f in a.findings)

    assert key(serial) == key(parallel)
    assert len(parallel.pages) == 13 and not parallel.failed_pages


def test_failing_page_is_reported_not_fatal(monkeypatch):
    doc = _record(3)
    fail_on_page(monkeypatch, 1)
    progress = []
    a = analyze_document(
        doc,
        {"patient_name": "王小红"},
        ocr=False,
        workers=1,
        progress=lambda d, t, s: progress.append((d, t, s)),
    )
    assert a.failed_pages == [1]
    assert {f.page_index for f in a.findings} >= {0, 2}
    assert progress[-1] == (3, 3, "done")


def test_pool_only_when_work_outweighs_starting_it():
    from core.engine import _worth_a_pool
    from tests.engine.pdfs import rasterize

    text = _record(20)
    assert not _worth_a_pool(text, list(range(20)), True)
    scans = rasterize(_record(8))
    assert _worth_a_pool(scans, list(range(8)), True)
    assert not _worth_a_pool(scans, list(range(8)), False)  # no OCR: cheap
