"""Recall and false-alarm area of the visual recognizers on generated pages.

``evaluate_visual()`` builds every generator of :mod:`tools.synth.visual`
born-digital and scanned (rasterised), runs the visual recognizers and
prints, per visual category, the share of items covered (recall) and the
share of page area covered by findings outside any item (false alarm), on
positive pages and on the negative pages (ECG, fetal monitor, red-value
table, plain text).  ``bench_visual()`` prints the extra ms/page.

Scanned pages get a *perfect OCR* text layer here (the source page's text,
marked as OCR) so the figures measure the visual recognizers alone; the
engine's own OCR is exercised by the end-to-end tests.
"""

from __future__ import annotations

import importlib
import time
from typing import Iterable, Optional

import pymupdf

from core.detect.base import AnalysisContext, PageInput, Recognizer
from core.models import Char, Finding, PageText, Source
from core.pdf import geometry
from core.pdf.text import text_lines
from tools.synth import visual as synth

VISUAL_MODULES = [
    "core.detect.visual.barcodes",
    "core.detect.visual.seals",
    "core.detect.visual.signatures",
    "core.detect.visual.logos",
    "core.detect.visual.cards",
    "core.detect.visual.faces",
]
GENERATOR_CATEGORY = {
    "signature": "signature",
    "signature_table": "signature",
    "seal": "seal",
    "logo": "logo",
    "barcode": "barcode",
    "card": "id_card",
}
COVER_MIN = 0.9  # an item counts as found when findings cover this share of it


def visual_recognizers() -> list[Recognizer]:
    from core.detect.registry import registered

    for m in VISUAL_MODULES:
        importlib.import_module(m)
    return sorted(
        (cls() for cls in registered().values() if cls.__module__ in VISUAL_MODULES), key=lambda r: r.order
    )


def ocr_like_text(page: pymupdf.Page, index: int) -> PageText:
    """The text layer of ``page`` presented as if OCR had read it."""
    lines = [[Char(c.c, c.rect, Source.OCR) for c in line] for line in text_lines(page)]
    return PageText.from_lines(index, page.rect.width, page.rect.height, lines)


def page_inputs(
    doc: pymupdf.Document, scanned: bool = False, source: Optional[pymupdf.Document] = None, dpi: int = 150
) -> list[PageInput]:
    from core.pdf.text import extract_page_text

    out = []
    for i, p in enumerate(doc):
        text = ocr_like_text(source[i], i) if scanned and source is not None else extract_page_text(p)
        out.append(PageInput(i, p, text, dpi=dpi, is_scanned=scanned))
    return out


def run_visual(
    pages: list[PageInput],
    ctx: Optional[AnalysisContext] = None,
    recognizers=None,
    timings: Optional[dict] = None,
) -> list[Finding]:
    ctx = ctx or AnalysisContext(page_count=len(pages))
    recs = recognizers or visual_recognizers()
    findings: list[Finding] = []
    for page in pages:
        for r in recs:
            if r.kind == "visual":
                t = time.perf_counter()
                findings.extend(r.analyze(page, ctx))
                if timings is not None:
                    timings[r.name] = timings.get(r.name, 0.0) + time.perf_counter() - t
    for r in recs:
        if r.kind == "record":
            findings.extend(r.analyze_record(pages, findings, ctx))
    return findings


def coverage(item: tuple, rects: Iterable[tuple]) -> float:
    """Share of ``item`` covered by the union of ``rects`` (sampled grid)."""
    import numpy as np

    x0, y0, x1, y1 = item
    xs, ys = np.linspace(x0, x1, 24), np.linspace(y0, y1, 24)
    gx, gy = np.meshgrid(xs, ys)
    hit = np.zeros(gx.shape, bool)
    for r in rects:
        hit |= (gx >= r[0]) & (gx <= r[2]) & (gy >= r[1]) & (gy <= r[3])
    return float(hit.mean())


def outside_area(rects: list[tuple], truths: list[tuple], page_area: float) -> float:
    """Share of the page covered by finding area that lies outside all truth boxes."""
    extra = 0.0
    for r in rects:
        inside = sum(geometry.intersection(r, t) for t in truths)
        extra += max(0.0, geometry.area(r) - inside)
    return extra / page_area


MODES = ("born_digital", "scanned", "scanned_gray")


def build(kind: str, seed: int, scanned):
    """(doc, source doc or None, truths).  ``scanned``: False/"born_digital",
    True/"scanned" (colour JPEG scan) or "scanned_gray" (the corpus
    scanner: grayscale, ±1° skew, paper tone)."""
    mode = {False: "born_digital", True: "scanned"}.get(scanned, scanned)
    gen = {**synth.POSITIVE, **synth.NEGATIVE}[kind]
    doc, truths = gen(seed)
    if mode == "scanned":
        return synth.rasterize(doc, seed=seed), doc, truths
    if mode == "scanned_gray":
        import random

        from tools.synth.scan import scan_document

        return scan_document(doc, random.Random(seed), truths, []), doc, truths
    return doc, None, truths


def evaluate_visual(seeds: int = 3, verbose: bool = True) -> dict:
    recs = visual_recognizers()
    stats: dict[str, dict] = {}
    for mode in MODES:
        scanned = mode != "born_digital"
        for kind, cat in GENERATOR_CATEGORY.items():
            found = total = 0
            fa = []
            for seed in range(seeds):
                doc, src, truths = build(kind, seed, mode)
                pages = page_inputs(doc, scanned, src)
                fs = run_visual(pages, AnalysisContext(page_count=len(pages)), recs)
                for t in truths:
                    total += 1
                    rects = [
                        r
                        for f in fs
                        if f.page_index == t.page_index and f.category.value == cat
                        for r in f.rects
                    ]
                    found += coverage(t.rect, rects) >= COVER_MIN
                for p in pages:
                    rects = [r for f in fs if f.page_index == p.index for r in f.rects]
                    tr = [t.rect for t in truths if t.page_index == p.index]
                    fa.append(outside_area(rects, tr, p.pdf_page.rect.width * p.pdf_page.rect.height))
            stats[f"{cat}/{mode}"] = {
                "recall": found / max(1, total),
                "items": total,
                "false_alarm_area": sum(fa) / len(fa),
            }
        for kind in synth.NEGATIVE:
            fa, worst = [], 0.0
            for seed in range(seeds):
                doc, src, _ = build(kind, seed, mode)
                pages = page_inputs(doc, scanned, src)
                fs = run_visual(pages, AnalysisContext(page_count=len(pages)), recs)
                for p in pages:
                    rects = [r for f in fs if f.page_index == p.index for r in f.rects]
                    a = outside_area(rects, [], p.pdf_page.rect.width * p.pdf_page.rect.height)
                    fa.append(a)
                    worst = max(worst, a)
            stats[f"negative:{kind}/{mode}"] = {"false_alarm_area": sum(fa) / len(fa), "worst_page": worst}
    from core.detect.visual.faces import face_backend

    lines = [f"{'visual category':36s} {'recall':>7s} {'items':>5s} {'false-alarm area':>17s}"]
    for k, s in stats.items():
        rec = f"{s['recall']:.2f}" if "recall" in s else "-"
        items = str(s.get("items", "-"))
        lines.append(f"{k:36s} {rec:>7s} {items:>5s} {s['false_alarm_area'] * 100:16.2f}%")
    lines.append(f"face detector: {face_backend()}")
    lines.append(
        "recall: items covered >= 90 % by findings of their category; false alarm: page area under "
        "findings outside every item (negatives: ECG, fetal monitor, red-value table, plain text)"
    )
    report = "\n".join(lines)
    if verbose:
        print(report)
    return {**stats, "report": report}


def bench_visual(pages_per_kind: int = 3, verbose: bool = True) -> dict:
    """Extra ms/page of the visual recognizers (render included when they
    need one), born-digital and scanned, on the generated pages."""
    recs = visual_recognizers()
    result = {}
    for mode in ("born_digital", "scanned"):
        scanned = mode == "scanned"
        n, spent, cpu = 0, 0.0, 0.0
        for kind in list(synth.POSITIVE) + list(synth.NEGATIVE):
            for seed in range(pages_per_kind):
                doc, src, _ = build(kind, seed, scanned)
                pages = page_inputs(doc, scanned, src)
                if scanned:  # the engine renders scanned pages for OCR anyway
                    for p in pages:
                        p.image()
                t, c = time.perf_counter(), time.process_time()
                run_visual(pages, AnalysisContext(page_count=len(pages)), recs)
                spent += time.perf_counter() - t
                cpu += time.process_time() - c
                n += len(pages)
        result[f"{mode}_ms_per_page"] = 1000 * spent / max(1, n)
        result[f"{mode}_cpu_ms_per_page"] = 1000 * cpu / max(1, n)
        result[f"{mode}_pages"] = n
    # a plain text page: the common case of a born-digital record
    doc, _ = synth.plain_doc(0)
    fresh = [page_inputs(doc)[0] for _ in range(20)]
    t = time.perf_counter()
    for p in fresh:
        for r in recs:
            if r.kind == "visual":
                r.analyze(p, AnalysisContext())
    result["plain_text_page_ms"] = 1000 * (time.perf_counter() - t) / len(fresh)
    if verbose:
        print(
            f"visual recognizers (generated pages that all hold visual items or negatives): "
            f"born-digital {result['born_digital_ms_per_page']:.1f} ms/page wall, "
            f"{result['born_digital_cpu_ms_per_page']:.1f} ms CPU ({result['born_digital_pages']} pages); "
            f"plain text page {result['plain_text_page_ms']:.1f} ms; "
            f"scanned {result['scanned_ms_per_page']:.1f} ms/page wall, {result['scanned_cpu_ms_per_page']:.1f} ms CPU "
            f"({result['scanned_pages']} pages, render excluded)"
        )
    return result


if __name__ == "__main__":
    evaluate_visual()
    bench_visual()
