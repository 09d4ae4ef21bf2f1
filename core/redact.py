"""Apply a :class:`RedactionPlan`: true removal, not drawing over.

PyMuPDF redaction annotations are applied so that glyphs under a box are
deleted from the content stream, image pixels under it are blanked, and
vector drawings fully inside it (drawn seals, signatures) are removed.
Text beside a box keeps its position (PyMuPDF pinned to 1.28.2; see
``tests/engine/test_redact.py``).  With style "label" a neutral label such
as [医师A] is written into the emptied box afterwards.
"""
from __future__ import annotations

from functools import lru_cache

import pymupdf

from core.plan import PlanItem, RedactionPlan

PAD_X, PAD_Y = 0.3, 1.0
FILL_BLACK = (0, 0, 0)
FILL_LABEL = (0.86, 0.86, 0.86)
LABEL_FONT = "china-s"


def _annot_rect(page: pymupdf.Page, item: PlanItem) -> pymupdf.Rect:
    x0, y0, x1, y1 = item.rect
    r = pymupdf.Rect(x0 - PAD_X, y0 - PAD_Y, x1 + PAD_X, y1 + PAD_Y)
    return r & page.cropbox if not page.cropbox.is_empty else r


def apply_plan(doc: pymupdf.Document, plan: RedactionPlan) -> int:
    """Redact ``doc`` in place; returns the number of boxes applied."""
    applied = 0
    for page_index in plan.pages():
        if page_index >= doc.page_count:
            continue
        page = doc[page_index]
        items = plan.for_page(page_index)
        fill = FILL_LABEL if plan.style == "label" else FILL_BLACK
        for item in items:
            page.add_redact_annot(_annot_rect(page, item), fill=fill, cross_out=False)
        page.apply_redactions(
            images=pymupdf.PDF_REDACT_IMAGE_PIXELS,
            graphics=pymupdf.PDF_REDACT_LINE_ART_REMOVE_IF_COVERED,
            text=pymupdf.PDF_REDACT_TEXT_REMOVE,
        )
        if plan.style == "label":
            writer = page.new_shape()  # one content stream and font lookup per page
            for item in items:
                _write_label(page, writer, item)
            writer.commit()
        applied += len(items)
    return applied


@lru_cache(maxsize=256)
def _unit_length(label: str) -> float:
    """Width of ``label`` at font size 1 (text width scales linearly)."""
    return pymupdf.get_text_length(label, fontname=LABEL_FONT, fontsize=1) or 1.0


def _write_label(page: pymupdf.Page, writer: pymupdf.Shape, item: PlanItem) -> None:
    """Write ``[label]`` centred in the emptied box, shrunk to fit."""
    if not item.label:
        return
    label = f"[{item.label}]"
    r = pymupdf.Rect(item.rect)
    horizontal = page.rotation in (0, 180)
    length, height = (r.width, r.height) if horizontal else (r.height, r.width)
    size = max(3.0, min(height * 0.85, 11.0, (length + 1) / _unit_length(label)))
    text_len = _unit_length(label) * size
    # Text is placed in unrotated page space; rotate it with the page so it reads upright.
    if page.rotation == 0:
        point = (r.x0 + max(0.0, (r.width - text_len) / 2), r.y1 - (r.height - size) / 2 - size * 0.12)
    elif page.rotation == 90:
        point = (r.x0 + (r.width - size) / 2 + size * 0.12, r.y0 + max(0.0, (r.height - text_len) / 2))
    elif page.rotation == 180:
        point = (r.x1 - max(0.0, (r.width - text_len) / 2), r.y0 + (r.height - size) / 2 + size * 0.12)
    else:
        point = (r.x1 - (r.width - size) / 2 - size * 0.12, r.y1 - max(0.0, (r.height - text_len) / 2))
    writer.insert_text(point, label, fontname=LABEL_FONT, fontsize=size, color=(0.15, 0.15, 0.15), rotate=page.rotation)
