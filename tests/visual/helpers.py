"""Helpers of the visual tests: run the visual recognizers on generated pages."""

from __future__ import annotations

import numpy as np
import pymupdf

from core.detect.base import AnalysisContext
from tools.eval.visual import build, coverage, outside_area, page_inputs, run_visual, visual_recognizers

__all__ = ["analyze", "coverage", "covered", "false_alarm_share", "box_filled"]


def analyze(kind: str, scanned: bool, seed: int = 0, ctx: AnalysisContext | None = None):
    """(pages, findings, truths) for one generated document."""
    doc, src, truths = build(kind, seed, scanned)
    pages = page_inputs(doc, scanned, src)
    ctx = ctx or AnalysisContext(page_count=len(pages))
    return pages, run_visual(pages, ctx, visual_recognizers()), truths


def covered(truth, findings, category: str) -> float:
    rects = [
        r
        for f in findings
        if f.page_index == truth.page_index and f.category.value == category
        for r in f.rects
    ]
    return coverage(truth.rect, rects)


def false_alarm_share(page, findings) -> float:
    """Share of the page area under visual findings (no truth on the page)."""
    rects = [r for f in findings if f.page_index == page.index for r in f.rects]
    return outside_area(rects, [], page.pdf_page.rect.width * page.pdf_page.rect.height)


def box_filled(page: pymupdf.Page, rect, dark: int = 60) -> float:
    """Share of dark pixels inside ``rect`` (unrotated points) of a render."""
    pix = page.get_pixmap(dpi=72, clip=pymupdf.Rect(rect) * page.rotation_matrix)
    a = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, pix.n)[:, :, :3]
    return float((a.max(axis=2) < dark).mean())
