"""Conversions between unrotated page points (the model's space), the
rotated display space of renders, and pixels of a render at some DPI."""

from __future__ import annotations

import pymupdf

from core.models import Rect


def to_display(page: pymupdf.Page, rect: Rect) -> Rect:
    """Unrotated page points -> rotated display points (what a render shows)."""
    r = pymupdf.Rect(rect) * page.rotation_matrix
    r.normalize()
    return (r.x0, r.y0, r.x1, r.y1)


def from_display(page: pymupdf.Page, rect: Rect) -> Rect:
    """Rotated display points -> unrotated page points."""
    r = pymupdf.Rect(rect) * page.derotation_matrix
    r.normalize()
    return (r.x0, r.y0, r.x1, r.y1)


def scale(rect: Rect, factor: float) -> Rect:
    return (rect[0] * factor, rect[1] * factor, rect[2] * factor, rect[3] * factor)


def pixels_to_page(
    page: pymupdf.Page, rect_px: Rect, dpi: float, offset: tuple[float, float] = (0, 0)
) -> Rect:
    """A pixel box of a render (of the whole page, or of a clip whose display
    top-left is ``offset``) -> unrotated page points."""
    f = 72.0 / dpi
    disp = (
        rect_px[0] * f + offset[0],
        rect_px[1] * f + offset[1],
        rect_px[2] * f + offset[0],
        rect_px[3] * f + offset[1],
    )
    return from_display(page, disp)


def page_to_pixels(page: pymupdf.Page, rect: Rect, dpi: float) -> Rect:
    """Unrotated page points -> pixel box in a full-page render at ``dpi``."""
    return scale(to_display(page, rect), dpi / 72.0)


def area(rect: Rect) -> float:
    return max(0.0, rect[2] - rect[0]) * max(0.0, rect[3] - rect[1])


def intersection(a: Rect, b: Rect) -> float:
    return area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def union(rects) -> Rect:
    rects = list(rects)
    return (
        min(r[0] for r in rects),
        min(r[1] for r in rects),
        max(r[2] for r in rects),
        max(r[3] for r in rects),
    )


def pad(rect: Rect, dx: float, dy: float | None = None) -> Rect:
    dy = dx if dy is None else dy
    return (rect[0] - dx, rect[1] - dy, rect[2] + dx, rect[3] + dy)
