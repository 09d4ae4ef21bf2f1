"""The page as its lines read, for recognizers that reason along text lines.

A recognizer such as the signature finder looks "right of the label" and "on the label's line".  Those
words hold in the page's unrotated space only when its text runs left to right there.  A scan stored
sideways and shown upright through ``/Rotate`` (a landscape sheet, a page fed the other way) reads left to
right only as displayed: OCR reads the displayed render, so its lines run down or up the unrotated page.

:func:`reading_frame_input` gives such a recognizer a stand-in page whose unrotated space *is* the display
(rotation 0, display-sized, the same pixels, text boxes and layout mapped over), and
:func:`findings_to_page` maps what it found back onto the real page.  Decorate the recognizer's ``find``
with :func:`along_text_lines` to get both.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np
import pymupdf

from core.detect.base import PageInput
from core.detect.visual.common import Drawing, Layout, PageImage, layout
from core.models import Finding, PageText
from core.pdf import geometry


def is_rotated(page: PageInput) -> bool:
    """True when the page is shown turned through ``/Rotate``."""
    return page.pdf_page is not None and page.pdf_page.rotation % 360 != 0


def lines_read_as_displayed(page: PageInput) -> bool:
    """True when the page is rotated and its text runs left to right only as displayed."""
    if not is_rotated(page):
        return False
    pp = page.pdf_page
    dx, dy = _travel(page.text)
    if abs(dx) + abs(dy) == 0 or dx > abs(dy):  # no text, or it already reads left to right unrotated
        return False
    shown = pymupdf.Point(dx, dy) * pymupdf.Matrix(pp.rotation)  # a direction: no translation
    return shown.x > abs(shown.y)


def _travel(text: PageText) -> tuple[float, float]:
    """Summed step from each character's centre to the next one on the same line."""
    dx = dy = 0.0
    prev = None
    for ch, box in zip(text.text, text.boxes):
        if box is None or ch == "\n":
            prev = None
            continue
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        if prev is not None:
            dx, dy = dx + centre[0] - prev[0], dy + centre[1] - prev[1]
        prev = centre
    return dx, dy


def reading_frame_input(page: PageInput) -> PageInput:
    """A stand-in for ``page`` whose unrotated space is the displayed page."""
    pp = page.pdf_page
    text = PageText(
        page.text.page_index,
        pp.rect.width,
        pp.rect.height,
        page.text.text,
        [geometry.to_display(pp, b) if b is not None else None for b in page.text.boxes],
        list(page.text.sources),
    )
    return _stand_in(
        page, pp.rect.width, pp.rect.height, text, page.image(), _displayed_layout(pp, layout(page))
    )


def unrotated_input(page: PageInput) -> PageInput:
    """A stand-in for ``page`` shown unrotated: same points, pixels turned back by the page's /Rotate."""
    pp = page.pdf_page
    pixels = np.ascontiguousarray(
        np.rot90(page.image(), k=(pp.rotation % 360) // 90)
    )  # /Rotate turns clockwise
    return _stand_in(page, pp.cropbox.width, pp.cropbox.height, page.text, pixels, layout(page))


def _stand_in(page: PageInput, width: float, height: float, text: PageText, pixels, lay: Layout) -> PageInput:
    holder = pymupdf.open()
    stand = holder.new_page(width=width, height=height)  # blank, rotation 0: pixels come from ``_image``
    up = PageInput(page.index, stand, text, dpi=page.dpi, is_scanned=page.is_scanned, _image=pixels)
    up.__dict__["_visual_layout"] = lay
    up.__dict__["_frame_holder"] = holder  # the stand-in page lives as long as its input
    return up


def _displayed_layout(pp: pymupdf.Page, lay: Layout) -> Layout:
    return Layout(
        images=[PageImage(geometry.to_display(pp, im.rect), im.digest) for im in lay.images],
        drawings=[
            replace(d, rect=geometry.to_display(pp, d.rect)) for d in lay.drawings if isinstance(d, Drawing)
        ],
    )


def findings_to_page(page: PageInput, findings: list[Finding]) -> list[Finding]:
    """Findings made on :func:`reading_frame_input`'s stand-in, in ``page``'s unrotated points."""
    pp = page.pdf_page
    return [replace(f, rects=[geometry.from_display(pp, r) for r in f.rects]) for f in findings]


def along_text_lines(find):
    """Decorator for a recognizer's ``find(self, page, ctx)`` that reasons along text lines: on a rotated
    page it runs on a rotation-free stand-in in whichever frame the lines read left to right."""

    @functools.wraps(find)
    def wrapper(self, page: PageInput, ctx) -> list[Finding]:
        if not is_rotated(page):
            return find(self, page, ctx)
        if lines_read_as_displayed(page):
            return findings_to_page(page, find(self, reading_frame_input(page), ctx))
        return find(self, unrotated_input(page), ctx)  # its findings are in the page's own points

    return wrapper
