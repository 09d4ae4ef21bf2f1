"""Apply a :class:`RedactionPlan`: true removal, not drawing over.

Every page is first rid of text that cannot be placed on it (singular or
degenerate glyph matrices, zero-size fonts, forms with an empty /BBox:
``core.redaction.unplaceable``) and of image pixels that content drawn
later hides (``core.redaction.covered``), then reduced to what it shows (:func:`keep_visible_only`):
text, images and paths outside the visible area (CropBox ∩ MediaBox) are
redacted and every page box is set to that area.  Then PyMuPDF redaction
annotations are applied so that glyphs under a box are deleted from the
content stream and image pixels under it are blanked.  Vector paths that
*touch* a visual box (signature, seal, logo …) are removed whole, so a
drawn seal sticking out of its box does not survive under the fill; for
text boxes only paths fully inside go, so table rules beside a name stay.
Text beside a box keeps its position (PyMuPDF pinned to 1.28.2; see
``tests/engine/test_cli_redact.py``).  With style "label" a neutral label
such as [医师A] is written into the emptied box afterwards.

Fail closed: a page that cannot be redacted (MuPDF fails on it), or one
the caller lists as not analysed, is blanked (:func:`blank_page`): its
content is replaced by a one-line notice.  It is never released as it was.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable

import pymupdf

from core.models import Category
from core.pdf.outlines import glyph_paths
from core.redaction.covered import blank_covered_pixels
from core.redaction.plan import REDACTION_PAD, PlanItem, RedactionPlan
from core.redaction.unplaceable import REACH, UnplaceableText

log = logging.getLogger(__name__)

# pymupdf sets its PDF_REDACT_* constants with setattr() at import: its type hints lack them
IMAGE_PIXELS: int = pymupdf.PDF_REDACT_IMAGE_PIXELS  # type: ignore[attr-defined]
TEXT_REMOVE: int = pymupdf.PDF_REDACT_TEXT_REMOVE  # type: ignore[attr-defined]
LINE_ART_IF_COVERED: int = pymupdf.PDF_REDACT_LINE_ART_REMOVE_IF_COVERED  # type: ignore[attr-defined]
LINE_ART_IF_TOUCHED: int = pymupdf.PDF_REDACT_LINE_ART_REMOVE_IF_TOUCHED  # type: ignore[attr-defined]

PAD_X, PAD_Y = REDACTION_PAD
FILL_BLACK = (0, 0, 0)
FILL_LABEL = (0.86, 0.86, 0.86)
LABEL_FONT = "china-s"


def _annot_rect(page: pymupdf.Page, item: PlanItem) -> pymupdf.Rect:
    x0, y0, x1, y1 = item.rect
    r = pymupdf.Rect(x0 - PAD_X, y0 - PAD_Y, x1 + PAD_X, y1 + PAD_Y)
    visible = pymupdf.Rect(0, 0, page.cropbox.width, page.cropbox.height)  # unrotated, origin top left
    return r & visible if not visible.is_empty else r


@dataclass
class Applied:
    boxes: int = 0
    blanked: list[int] = field(default_factory=list)  # pages replaced by a notice (0-based)
    hidden: list[int] = field(default_factory=list)  # pages hidden whole by a person (0-based)
    unplaceable: int = 0  # glyphs no one can see, removed (core.redaction.unplaceable)
    emptied: int = 0  # streams emptied: forms with no area, text no box reaches (patterns, Type3, soft masks)
    covered: int = 0  # image areas blanked that content drawn later hides (core.redaction.covered)

    def unseen_removed(self) -> dict[str, int]:
        """What was removed that the page never showed, for reports and the audit trail."""
        return {"glyphs": self.unplaceable, "streams": self.emptied, "covered_images": self.covered}


def apply_plan(doc: pymupdf.Document, plan: RedactionPlan, blank: Iterable[int] = ()) -> Applied:
    """Redact ``doc`` in place.  Pages in ``blank`` (not analysed) and pages
    that fail are blanked."""
    result = Applied()
    blank = set(blank)
    pin_zero_text_moves(doc)
    try:
        unplaceable = UnplaceableText(doc)
        result.emptied = unplaceable.emptied
    except Exception as exc:  # hidden text cannot be looked for: no page goes out as it is
        log.warning("unplaceable text cannot be looked for (%s); every page blanked", type(exc).__name__)
        blank = set(range(doc.page_count))
        unplaceable = None
    for page_index in range(doc.page_count):
        items = plan.for_page(page_index)
        if page_index in plan.hidden_pages and page_index not in blank:
            try:
                hide_page(doc, page_index, plan.hidden_pages[page_index])
                result.hidden.append(page_index)
                continue
            except Exception as exc:
                log.warning("page %d cannot be hidden (%s); blanked", page_index + 1, type(exc).__name__)
        elif page_index not in blank:
            try:
                result.unplaceable += unplaceable.remove(page_index) if unplaceable else 0
                result.covered += _blank_covered(
                    doc, page_index, unplaceable.bboxlog if unplaceable else None
                )
                keep_visible_only(doc, page_index, unplaceable.bboxlog if unplaceable else None)
                _redact_page(doc[page_index], items, plan.style)
                result.boxes += len(items)
                continue
            except Exception as exc:  # MuPDF cannot rewrite this page: it must not go out as it is
                log.warning("page %d cannot be redacted (%s); blanked", page_index + 1, type(exc).__name__)
        blank_page(doc, page_index)
        result.blanked.append(page_index)
    return result


def _blank_covered(doc: pymupdf.Document, page_index: int, bboxlog: list | None) -> int:
    """Image pixels that content drawn later hides, blanked on the unrotated page."""
    page = doc[page_index]
    rotation = page.rotation
    if not rotation:
        return blank_covered_pixels(page, bboxlog)
    page.set_rotation(0)
    try:
        return blank_covered_pixels(doc[page_index])
    finally:
        doc[page_index].set_rotation(rotation)


def _redact_page(page: pymupdf.Page, items: list[PlanItem], style: str) -> None:
    fill = FILL_LABEL if style == "label" else FILL_BLACK
    touching = _touching_paths(page, items)
    for batch, graphics in (
        ([i for i in items if i in touching], LINE_ART_IF_TOUCHED),
        ([i for i in items if i not in touching], LINE_ART_IF_COVERED),
    ):
        if not batch:
            continue
        for item in batch:
            page.add_redact_annot(_annot_rect(page, item), fill=fill, cross_out=False)
        page.apply_redactions(images=IMAGE_PIXELS, graphics=graphics, text=TEXT_REMOVE)
    if style == "label" and items:
        writer = page.new_shape()  # one content stream and font lookup per page
        for item in items:
            _write_label(page, writer, item)
        writer.commit()


def _touching_paths(page: pymupdf.Page, items: list[PlanItem]) -> list[PlanItem]:
    """Items whose paths go whole: visual ones (a seal or signature drawn past its box), and text boxes
    over letters drawn as outlines that the box does not cover entirely (a glyph, or a line of glyphs in
    one path, would otherwise stay under the fill)."""
    visual = [i for i in items if _is_visual(i)]
    text = [i for i in items if not _is_visual(i)]
    glyphs = [pymupdf.Rect(r) for r in glyph_paths(page)] if text else []
    return visual + [i for i in text if _cuts_a_glyph(pymupdf.Rect(_annot_rect(page, i)), glyphs)]


def _cuts_a_glyph(box: pymupdf.Rect, glyphs: list[pymupdf.Rect]) -> bool:
    return any(box.intersects(g) and not box.contains(g) for g in glyphs)


def _is_visual(item: PlanItem) -> bool:
    try:
        return Category(item.category).is_visual
    except ValueError:
        return False


# "0 0 Td" after a Tj moves back to the start of the text line (Chromium draws a
# zero-width space as a space glyph followed by it).  MuPDF's content filter,
# which every redaction and the sanitizer's page cleaning run through, drops it
# as a no-op, so every glyph after it slides by the space's width ("\u200b男",
# "年龄\u200b8" shift onto their neighbours).  A move too small to see keeps it;
# it must outlast MuPDF's single-precision positions (at x = 386 a move of 1e-5
# vanishes; 0.003 text units stays up to x = 16384 and is 0.002 pt on the page).
ZERO_TEXT_MOVE = re.compile(rb"(?<![\w.+\-])[-+]?0*\.?0+\s+[-+]?0*\.?0+\s+Td(?![\w])")
TINY_TEXT_MOVE = b"0.003 0 Td"


def pin_zero_text_moves(doc: pymupdf.Document) -> None:
    """Rewrite every "0 0 Td" of the page and form content streams as a move
    of 0.003 text units, which MuPDF's filter keeps (see ZERO_TEXT_MOVE)."""
    streams = {x for page in doc.pages() for x in page.get_contents()}
    for xref in range(1, doc.xref_length()):
        if xref in streams or _is_form(doc, xref):
            data = doc.xref_stream(xref)
            if data and b"Td" in data:
                fixed = ZERO_TEXT_MOVE.sub(TINY_TEXT_MOVE, data)
                if fixed != data:
                    doc.update_stream(xref, fixed)


def _is_form(doc: pymupdf.Document, xref: int) -> bool:
    try:
        return doc.xref_is_stream(xref) and doc.xref_get_key(xref, "Subtype")[1] == "/Form"
    except Exception:  # a free or broken object holds no content
        return False


BOX_KEYS = ("MediaBox", "CropBox", "BleedBox", "TrimBox", "ArtBox")
MARGIN = 20000.0  # points around the visible area always searched for hidden content
PAD_FAR = 16.0  # around a far drawing (float steps are 1/16 pt at REACH)


def keep_visible_only(doc: pymupdf.Document, page_index: int, bboxlog: list | None = None) -> None:
    """Remove whatever page ``page_index`` draws outside its visible area
    and set every page box to that area.

    PyMuPDF clips redaction annotations to the CropBox (``page.rect``), so
    the boxes are first widened to the visible area plus ``MARGIN`` and
    plus whatever the page draws (up to ``REACH`` points away; beyond that
    ``core.redaction.unplaceable`` has already dropped it), page unrotated;
    strips around the visible area are redacted, then MediaBox = CropBox =
    the visible area.  Page coordinates (origin at the top left of the
    visible area) are the same before and after.  ``bboxlog``: the page's
    ``get_bboxlog()`` when the caller has it (used on an unrotated page).
    """
    page = doc[page_index]
    rotation = page.rotation
    doc.xref_set_key(page.xref, "Rotate", "0")  # the matrix below is only PDF space -> page space unrotated
    page = doc[page_index]
    to_pdf = ~page.transformation_matrix
    visible = page.rect * to_pdf  # PDF coordinates of what is shown
    visible.normalize()
    big = pymupdf.Rect(visible.x0 - MARGIN, visible.y0 - MARGIN, visible.x1 + MARGIN, visible.y1 + MARGIN)
    # what the page draws, in PDF coordinates (the matrix of an unrotated page only flips and shifts)
    a, d, e, f = to_pdf.a, to_pdf.d, to_pdf.e, to_pdf.f
    ux0, uy0, ux1, uy1 = big.x0, big.y0, big.x1, big.y1
    vx0, vy0, vx1, vy1 = visible.x0 - 0.5, visible.y0 - 0.5, visible.x1 + 0.5, visible.y1 + 0.5
    outside = False  # does the page draw anything outside the visible area?
    for _, (x0, y0, x1, y1) in bboxlog if bboxlog is not None and not rotation else page.get_bboxlog():
        if x1 <= x0 or y1 <= y0:  # empty
            continue
        if not math.isfinite(x0 + y0 + x1 + y1):
            outside = True
            continue
        px0, px1 = sorted((a * x0 + e, a * x1 + e))
        py0, py1 = sorted((d * y0 + f, d * y1 + f))
        if px0 < vx0 or py0 < vy0 or px1 > vx1 or py1 > vy1:
            outside = True
            ux0 = min(ux0, max(px0, -REACH) - PAD_FAR)
            uy0 = min(uy0, max(py0, -REACH) - PAD_FAR)
            ux1 = max(ux1, min(px1, REACH) + PAD_FAR)
            uy1 = max(uy1, min(py1, REACH) + PAD_FAR)
    big = pymupdf.Rect(ux0, uy0, ux1, uy1)
    _set_boxes(doc, page.xref, big)
    page = doc[page_index]
    # visible area in the widened page's coordinates (y down from the top of ``big``)
    inner = pymupdf.Rect(visible.x0 - big.x0, big.y1 - visible.y1, visible.x1 - big.x0, big.y1 - visible.y0)
    if outside:
        outer = page.rect
        for strip in (
            pymupdf.Rect(outer.x0, outer.y0, inner.x0, outer.y1),
            pymupdf.Rect(inner.x1, outer.y0, outer.x1, outer.y1),
            pymupdf.Rect(outer.x0, outer.y0, outer.x1, inner.y0),
            pymupdf.Rect(outer.x0, inner.y1, outer.x1, outer.y1),
        ):
            page.add_redact_annot(strip, fill=False, cross_out=False)  # type: ignore[arg-type]  # False: no fill (None: white)
        page.apply_redactions(images=IMAGE_PIXELS, graphics=LINE_ART_IF_COVERED, text=TEXT_REMOVE)
    _set_boxes(doc, page.xref, visible)
    doc.xref_set_key(page.xref, "Rotate", str(rotation))


def _set_boxes(doc: pymupdf.Document, xref: int, rect: pymupdf.Rect) -> None:
    value = f"[{rect.x0:g} {rect.y0:g} {rect.x1:g} {rect.y1:g}]"
    for key in BOX_KEYS[:2]:
        doc.xref_set_key(xref, key, value)
    for key in BOX_KEYS[2:]:
        if doc.xref_get_key(xref, key)[0] != "null":
            doc.xref_set_key(xref, key, "null")


BLANK_NOTICE = "本页无法安全处理，已整页移除 / this page could not be processed safely and was removed"


def blank_page(doc: pymupdf.Document, page_index: int) -> None:
    """Replace the content of a page by an empty stream and a notice."""
    page = _empty_page(doc, page_index)
    page.insert_text((36, 48), BLANK_NOTICE, fontname=LABEL_FONT, fontsize=9, color=(0.3, 0.3, 0.3))


HIDE_PREFIX = "整页隐藏："
FILL_PAGE = (0, 0, 0)


def hide_note(code: str) -> str:
    """The note on a page hidden whole: "整页隐藏：<reason>" (``core/rules/page_hide_reasons.yaml``)."""
    from core.rules import load_rules

    name = (load_rules("page_hide_reasons") or {}).get(code)
    return HIDE_PREFIX + (name or "其他原因")


def _empty_page(doc: pymupdf.Document, page_index: int) -> pymupdf.Page:
    """Replace the content of a page by an empty stream (nothing of it is kept)."""
    page = doc[page_index]
    content = doc.get_new_xref()
    doc.update_object(content, "<<>>")
    doc.update_stream(content, b" ")
    doc.xref_set_key(page.xref, "Contents", f"{content} 0 R")
    doc.xref_set_key(page.xref, "Resources", "<<>>")
    for key in ("Annots", "Group", "AA", "Thumb", "PieceInfo", "Metadata"):
        doc.xref_set_key(page.xref, key, "null")
    return doc[page_index]


def hide_page(doc: pymupdf.Document, page_index: int, code: str) -> None:
    """A whole page hidden by a person: its content removed, the page drawn
    black with a short note ("整页隐藏：身份证复印件") that reads upright."""
    page = _empty_page(doc, page_index)
    full = pymupdf.Rect(0, 0, page.cropbox.width, page.cropbox.height)  # unrotated, origin top left
    page.draw_rect(full, color=None, fill=FILL_PAGE, overlay=True)
    margin = 24
    page.insert_textbox(
        full + (margin, margin, -margin, -margin),
        hide_note(code),
        fontname=LABEL_FONT,
        fontsize=14,
        color=(1, 1, 1),
        align=pymupdf.TEXT_ALIGN_CENTER,
        rotate=page.rotation,
    )


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
    writer.insert_text(
        point, label, fontname=LABEL_FONT, fontsize=size, color=(0.15, 0.15, 0.15), rotate=page.rotation
    )
