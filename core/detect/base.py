"""Recognizer interface and the analysis context they share.

Like Presidio's ``EntityRecognizer``: each recognizer looks at one page and
returns :class:`~core.models.Finding` objects; it never changes the page and
never decides what to do with the region (that is ``core.policy``).

Text recognizers read ``page.text`` (a :class:`~core.models.PageText`);
visual recognizers read ``page.pdf_page`` (the PyMuPDF page) and/or
``page.image()`` (an RGB numpy render at ``page.dpi``).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Optional

import numpy as np
import pymupdf

from core.models import CaseMeta, Category, Finding, PageText
from core.redaction.plan import REDACTION_PAD


@dataclass
class Seed:
    """A known identifier value to look for on every page (case seeding).

    ``value`` is sensitive.  ``category`` is a :class:`Category` value.
    """

    value: str
    category: str
    origin: str  # "case_meta:patient_name", "found:fields", "decoded:barcode", "manual" …
    role_hint: str = ""


@dataclass
class AnalysisContext:
    """What recognizers may know about the whole record, not just one page."""

    meta: CaseMeta = field(default_factory=CaseMeta)
    seeds: list[Seed] = field(default_factory=list)
    page_count: int = 0

    def add_seed(self, value: str, category: str, origin: str, role_hint: str = "") -> bool:
        value = value.strip()
        if not value or any(s.value == value and s.category == category for s in self.seeds):
            return False
        self.seeds.append(Seed(value, category, origin, role_hint))
        return True


@dataclass
class PageInput:
    """One page as recognizers see it."""

    index: int
    pdf_page: pymupdf.Page
    text: PageText
    dpi: int = 150
    is_scanned: bool = False
    _image: Optional[np.ndarray] = None
    _render: Optional[Callable[[int], np.ndarray]] = None

    def image(self) -> np.ndarray:
        """RGB uint8 render of the displayed (rotated) page at ``self.dpi``."""
        if self._image is None:
            if self._render is not None:
                self._image = self._render(self.dpi)
            else:
                from core.pdf.render import render_page_rgb

                self._image = render_page_rgb(self.pdf_page, self.dpi)
        return self._image


class Recognizer:
    """Base class.  Subclasses set ``name`` and implement :meth:`analyze`.

    ``kind`` is ``"text"`` (runs on PageText), ``"visual"`` (pixels/images)
    or ``"record"`` (runs once over all pages, e.g. repeated headers).
    """

    name: ClassVar[str] = "base"
    kind: ClassVar[str] = "text"
    order: ClassVar[int] = 50  # lower runs first; seeding recognizers rely on it

    def analyze(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        raise NotImplementedError

    def analyze_record(
        self, pages: list[PageInput], findings: list[Finding], ctx: AnalysisContext
    ) -> list[Finding]:
        """For ``kind == "record"``: look across pages after per-page passes."""
        return []


def finding_from_span(
    page: PageInput,
    start: int,
    end: int,
    category,
    detector: str,
    confidence: float = 1.0,
    role_hint: str = "",
) -> Optional[Finding]:
    """A finding covering ``page.text.text[start:end]`` (None if no boxes).

    A person name alone in brackets ("（刘刚）", the typed name under a
    signature) is covered brackets and all."""
    if Category(category).is_person:
        start, end = _with_brackets(page.text.text, start, end)
    rects = page.text.rects_for(start, end)
    if not rects:
        return None
    source = page.text.source_for(start, end)
    if source.value == "ocr":  # OCR boxes hug the ink; cover the whole glyph cell
        padded = _clear_of_neighbours(page.text, start, end, rects)
        padded = _padding_off_other_lines(page.text, start, end, padded, rects)
        rects = [_clear_of_layer_glyphs(r, layer_glyphs(page)) for r in padded]
        rects = [trimmed_to_ink(page, r) for r in rects]
        rects = _off_overlapping_neighbours(page, start, end, rects)
    else:
        rects = [_clear_of_other_lines(page.text, start, end, r) for r in rects]
    return Finding(
        page_index=page.index,
        category=category,
        rects=rects,
        detector=detector,
        confidence=confidence,
        text=page.text.text[start:end].strip(),
        source=source,
        role_hint=role_hint,
    )


OPENING, CLOSING = "（(［[【", "）)］]】"


def _with_brackets(text: str, start: int, end: int) -> tuple[int, int]:
    s, e = start, end
    while s > 0 and text[s - 1] in " \t":
        s -= 1
    while e < len(text) and text[e] in " \t":
        e += 1
    if s > 0 and e < len(text) and text[s - 1] in OPENING and text[e] in CLOSING:
        return s - 1, e + 1
    return start, end


FULL_WIDTH_PUNCT = "：；，、。）】"  # the glyph sits at one side of a full em cell
EM_OF_HEIGHT = 0.8  # a CJK cell is about this share of an OCR line box's height wide


def _clear_of_neighbours(text, start: int, end: int, rects: list) -> list:
    """Pad OCR boxes, but stop short of the characters beside the span on
    the same line (the label's colon before a value keeps its whole cell).
    The padded box never ends up narrower than the span's own OCR boxes."""
    boxes = [list(_pad_ocr(r)) for r in rects]
    if not boxes:
        return []
    before, after = _neighbour(text, start - 1, -1), _neighbour(text, end, 1)
    first, last = boxes[0], boxes[-1]
    if before is not None and _same_line(before[1], first):
        c, b = before
        limit = max(b[2], b[0] + EM_OF_HEIGHT * (b[3] - b[1])) if c in FULL_WIDTH_PUNCT else b[2]
        first[0] = min(max(first[0], limit), rects[0][0])
    if after is not None and _same_line(after[1], last):
        last[2] = max(min(last[2], after[1][0]), rects[-1][2])
    return [tuple(b) for b in boxes]


def _neighbour(text, i: int, step: int):
    """(char, box) of the nearest non-space character from ``i`` on the same
    line, or None at a line break."""
    while 0 <= i < len(text.boxes):
        if text.boxes[i] is None:
            return None
        if not text.text[i].isspace():
            return text.text[i], text.boxes[i]
        i += step
    return None


def _same_line(a, b) -> bool:
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap > 0.5 * min(a[3] - a[1], b[3] - b[1])


def _padding_off_other_lines(text, start: int, end: int, padded: list, raw: list) -> list:
    """The vertical padding of an OCR box stops at the OCR'd characters of
    the lines above and below (tight table rows, narrative lines); the box
    never gets smaller than the span's own OCR boxes."""
    out = []
    for box, own in zip(padded, raw):
        x0, y0, x1, y1 = box
        for i, b in enumerate(text.boxes):
            if b is None or start <= i < end or text.text[i].isspace() or b[2] <= x0 or b[0] >= x1:
                continue
            if b[3] <= own[1] + 0.5 and b[3] > y0:  # a character above, reaching into the padding
                y0 = min(max(y0, b[3]), own[1])
            elif b[1] >= own[3] - 0.5 and b[1] < y1:  # one below
                y1 = max(min(y1, b[1]), own[3])
        out.append((x0, y0, x1, y1))
    return out


def _line_extents(text) -> list:
    """(extent, start, end) of each line of ``text``, cached on it."""
    cached = text.__dict__.get("_line_extents")
    if cached is None:
        cached = []
        for s, e in text.lines():
            boxes = [b for b in text.boxes[s:e] if b is not None]
            if boxes:
                ext = (
                    min(b[0] for b in boxes),
                    min(b[1] for b in boxes),
                    max(b[2] for b in boxes),
                    max(b[3] for b in boxes),
                )
                cached.append((ext, s, e))
        text.__dict__["_line_extents"] = cached
    return cached


def _clear_of_other_lines(text, start: int, end: int, rect) -> tuple:
    """A text-layer box whose glyphs' boxes (a font's ascent and descent) reach into the lines above or
    below in tight prose: MuPDF removes every glyph the padded box overlaps, so a name would take the
    characters above and below it along.  Its top and bottom move off those glyphs by the pad the box
    gets when applied (``REDACTION_PAD``), by at most LAYER_SHRINK of its height."""
    x0, y0, x1, y1 = rect
    limit = LAYER_SHRINK * (y1 - y0)
    top, bottom = y0, y1
    for ext, s, e in _line_extents(text):
        if ext[2] <= x0 or ext[0] >= x1 or ext[3] + CLEAR_Y <= y0 or ext[1] - CLEAR_Y >= y1:
            continue
        for i in range(s, e):
            b = text.boxes[i]
            if b is None or start <= i < end or text.text[i].isspace() or b[2] <= x0 or b[0] >= x1:
                continue
            cy = (b[1] + b[3]) / 2
            if cy < y0 and b[3] + CLEAR_Y > top:
                top = min(b[3] + CLEAR_Y, y0 + limit)
            elif cy > y1 and b[1] - CLEAR_Y < bottom:
                bottom = max(b[1] - CLEAR_Y, y1 - limit)
    return (x0, top, x1, bottom) if bottom > top else tuple(rect)


def layer_glyphs(page: "PageInput") -> list:
    """Boxes of the text-layer glyphs of a page read by OCR (a page whose
    layer is not trusted still prints it), cached on the page."""
    cached = page.__dict__.get("_layer_glyphs")
    if cached is None:
        cached = []
        if page.pdf_page is not None:
            from core.pdf.text import text_lines

            try:
                cached = [
                    c.rect
                    for line in text_lines(page.pdf_page)
                    for c in line
                    if not c.c.isspace()
                    and 0 < c.rect[2] - c.rect[0] <= 2 * (c.rect[3] - c.rect[1])
                    and c.rect[3] > c.rect[1]
                ]
            except Exception:  # an unreadable layer: OCR boxes alone
                cached = []
        page.__dict__["_layer_glyphs"] = cached
    return cached


CLEAR_X, CLEAR_Y = REDACTION_PAD[0] + 0.05, REDACTION_PAD[1] + 0.05
LAYER_SHRINK = 0.2  # at most this share of the (padded) box height is given back to a neighbour glyph


def _clear_of_layer_glyphs(rect, glyphs: list) -> tuple:
    """An OCR box on a page that also has a text layer: MuPDF removes every
    layer glyph the box touches, whole.  Each edge that cuts into a glyph
    whose centre lies outside the box (the character before or after on the
    line, the line above or below) is moved to that glyph's edge, by at most
    LAYER_SHRINK box heights, and beyond it by the pad the box gets when it
    is applied (``REDACTION_PAD``): touching the glyph by that pad removed it."""
    x0, y0, x1, y1 = rect
    h = y1 - y0
    limit = LAYER_SHRINK * h
    for g in glyphs:
        if g[2] <= x0 or g[0] >= x1 or g[3] <= y0 or g[1] >= y1:
            continue
        cx, cy = (g[0] + g[2]) / 2, (g[1] + g[3]) / 2
        same_line = min(g[3], y1) - max(g[1], y0) > 0.5 * (g[3] - g[1])
        if same_line:
            if cx < x0 and g[2] - x0 <= limit:
                x0 = g[2] + CLEAR_X
            elif cx > x1 and x1 - g[0] <= limit:
                x1 = g[0] - CLEAR_X
        elif cy < y0 and g[3] - y0 <= limit:
            y0 = g[3] + CLEAR_Y
        elif cy > y1 and y1 - g[1] <= limit:
            y1 = g[1] - CLEAR_Y
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else tuple(rect)


INK_CONTRAST = 60  # grey levels under the paper that count as ink
INK_MARGIN = 0.75  # points kept beyond the outermost ink column


def trimmed_to_ink(page: "PageInput", rect):
    """An OCR finding's box without the blank columns at its two ends.

    OCR character boxes are estimates (recogniser columns, a margin, line
    ends reaching the detected box), so the first character of a value
    often starts in the blank right half of the label's colon cell, and the
    label comes out damaged.  The box keeps every column with ink (plus
    INK_MARGIN), never grows, and stays as it is where the page shows no
    clear ink in it.  Only the finding is trimmed: the OCR boxes that the
    signature detector reads stay as they are."""
    if page.pdf_page is None or page.pdf_page.rotation % 360:
        return rect
    # the record-wide passes (repeated headers, propagation) find many of the spans the page pass
    # found: the same box on the same pixels trims the same way, without drawing the page again
    trims = page.__dict__.setdefault("_ink_trims", {})
    key = tuple(rect)
    if key not in trims:
        trims[key] = _trimmed_to_ink(page, key)
    return trims[key]


def _trimmed_to_ink(page: "PageInput", rect):
    x0, y0, x1, y1 = rect
    h = y1 - y0
    band = (
        x0 - 5,
        y0 + 0.2 * h,
        x1 + 5,
        y1 - 0.2 * h,
    )  # the middle rows: no ink of the lines above and below
    band_ink = _dark_band(page, band, min_rows=2)
    if band_ink is None:
        return rect
    dark, (ox, oy), k = band_ink
    c0, c1 = int(np.floor((x0 - ox) * k)), int(np.ceil((x1 - ox) * k))
    c0, c1 = max(0, c0), min(dark.shape[1], c1)
    if c1 - c0 < 3:
        return rect
    ink = _without_rules(dark, h * k)
    cols = np.nonzero(ink[:, c0:c1].any(axis=0))[0]
    if len(cols) == 0:
        return rect
    nx0 = max(x0, ox + (c0 + cols[0]) / k - INK_MARGIN)
    nx1 = min(x1, ox + (c0 + cols[-1] + 1) / k + INK_MARGIN)
    if nx1 - nx0 < 0.5 * (x1 - x0):
        return rect  # most of the box blank: faint ink, or not what OCR saw; keep it
    return _trimmed_rows(page, (nx0, y0, nx1, y1))


def _off_overlapping_neighbours(page: "PageInput", start: int, end: int, rects: list) -> list:
    """OCR's character boxes are estimates and may overlap: "今日皇甫明东" gave 皇 a box
    starting 3 pt inside 日's.  Where the character beside the span overlaps the
    span's end box, the box ends at the first blank ink column after that
    character's ink (nothing of the span is left out: a gap inside the span's own
    first glyph lies further in); where the two glyphs touch, the box stays (no ink of the span is
    left out)."""
    if not rects:
        return rects
    out = [list(r) for r in rects]
    before, after = _neighbour(page.text, start - 1, -1), _neighbour(page.text, end, 1)
    if before is not None and _same_line(before[1], out[0]) and before[1][2] > out[0][0]:
        out[0][0] = _gap_in(page, out[0], (out[0][0], min(before[1][2], out[0][2])), from_left=True)
    if after is not None and _same_line(after[1], out[-1]) and after[1][0] < out[-1][2]:
        out[-1][2] = _gap_in(page, out[-1], (max(after[1][0], out[-1][0]), out[-1][2]), from_left=False)
    out[0][0], out[-1][2] = _off_layer_neighbours(page, out[0], out[-1])
    return [tuple(r) for r in out]


def _off_layer_neighbours(page: "PageInput", first: list, last: list) -> tuple[float, float]:
    """On a page whose text layer prints the text (Type3 or untrusted fonts read by OCR), MuPDF removes
    every layer glyph the applied box touches: the box's ends move past the glyph beside them (plus the
    apply pad) when only blank paper lies between -- nothing of the value's ink is given up."""
    x0, x1 = first[0], last[2]
    for g in layer_glyphs(page):
        if (
            (g[0] + g[2]) / 2 < x0 < g[2] + CLEAR_X
            and _same_line(g, first)
            and _blank(page, first, x0, g[2] + CLEAR_X)
        ):
            x0 = g[2] + CLEAR_X
        elif (
            g[0] - CLEAR_X < x1 < (g[0] + g[2]) / 2
            and _same_line(g, last)
            and _blank(page, last, g[0] - CLEAR_X, x1)
        ):
            x1 = g[0] - CLEAR_X
    return (x0, x1) if x1 > x0 else (first[0], last[2])


def _blank(page: "PageInput", rect, a: float, b: float) -> bool:
    """Is the strip between x ``a`` and ``b`` of ``rect``'s middle rows free of ink?"""
    if b - a <= 0:
        return True
    h = rect[3] - rect[1]
    band_ink = _dark_band(page, (a, rect[1] + 0.2 * h, b, rect[3] - 0.2 * h), min_rows=2)
    if band_ink is None:
        return False
    dark, (ox, _oy), k = band_ink
    c0, c1 = max(0, int(np.floor((a - ox) * k))), min(dark.shape[1], int(np.ceil((b - ox) * k)))
    return not dark[:, c0:c1].any()


def _gap_in(page: "PageInput", rect, zone: tuple[float, float], from_left: bool) -> float:
    """Where the blank ink column of ``zone`` nearest to its left (``from_left``) or right end
    begins (ends), in the middle rows of ``rect``; the zone's own end on the span's side when no
    column is blank (the box as it was)."""
    z0, z1 = zone
    h = rect[3] - rect[1]
    band_ink = _dark_band(page, (z0, rect[1] + 0.2 * h, z1, rect[3] - 0.2 * h), min_rows=2)
    if band_ink is not None:
        dark, (ox, _oy), k = band_ink
        c0, c1 = max(0, int(np.ceil((z0 - ox) * k))), min(dark.shape[1], int(np.floor((z1 - ox) * k)))
        blank = [c for c in range(c0, c1) if not dark[:, c].any()]
        if blank:
            return ox + blank[0] / k if from_left else ox + (blank[-1] + 1) / k
    return z0 if from_left else z1


ROW_GAP = 0.12  # box heights: a blank this tall inside a value's rows is still the value
NEIGHBOUR_REACH = 0.5  # box heights: how far above and below the box the next line's ink is looked for
GAP_PAD = 1.0  # points: the redaction pads a box by this much vertically (core.redaction.apply.PAD_Y)


def _trimmed_rows(page: "PageInput", rect):
    """The box's top and bottom pulled back from the next line's ink.

    OCR line boxes reach well past the glyphs (descender room, the gap to
    the next line), so on tight lines a value's box reached the label on the
    line below or above ("职业：" under an address).  Where the ink of
    another line stands within NEIGHBOUR_REACH of the box, the edge moves to
    half-way between that ink and the value's own, less GAP_PAD (never past
    the value's ink plus INK_MARGIN); where none is near, the box stays as it is."""
    x0, y0, x1, y1 = rect
    h = y1 - y0
    reach = NEIGHBOUR_REACH * h
    band_ink = _dark_band(page, (x0, y0 - reach, x1, y1 + reach), min_rows=4)
    if band_ink is None:
        return rect
    dark, (ox, oy), k = band_ink
    rows: np.ndarray = np.asarray(_without_rules(dark, h * k, drop_rows=False).any(axis=1))
    mid = int(round(((y0 + y1) / 2 - oy) * k))
    block = _ink_rows_round(rows, mid, max(1, int(ROW_GAP * h * k)))
    if block is None or block[1] - block[0] + 1 < 0.3 * h * k:
        return rect
    top, bottom = block
    above = [i for i in range(0, top) if rows[i]]
    below = [i for i in range(bottom + 1, len(rows)) if rows[i]]
    if above:  # half-way, less the redaction's own vertical pad
        y0 = max(y0, min(oy + (above[-1] + 1 + top) / 2 / k + GAP_PAD, oy + top / k - INK_MARGIN))
    if below:
        y1 = min(y1, max(oy + (bottom + 1 + below[0]) / 2 / k - GAP_PAD, oy + (bottom + 1) / k + INK_MARGIN))
    return (x0, y0, x1, y1)


def _ink_rows_round(rows, mid: int, gap: int):
    """(top, bottom) of the run of inked rows round row ``mid`` (blank runs of
    up to ``gap`` rows inside it), or None when no ink is near the middle."""
    near = [i for i in range(len(rows)) if rows[i] and abs(i - mid) <= 2 * gap]
    if not near:
        return None
    top = bottom = min(near, key=lambda i: abs(i - mid))
    while up := [i for i in range(max(0, top - gap - 1), top) if rows[i]]:
        top = up[0]
    while down := [i for i in range(bottom + 1, min(len(rows), bottom + gap + 2)) if rows[i]]:
        bottom = down[-1]
    return top, bottom


def _without_rules(ink: np.ndarray, glyph_px: float, drop_rows: bool = True) -> np.ndarray:
    """``ink`` without flat pieces wider than a glyph (an underline on a
    skewed scan runs across several pixel rows, each only partly inked) and
    without the rows an underline or a cell border fills (dropped, or
    blanked with ``drop_rows=False``)."""
    import cv2

    if ink.size:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
        flat = [
            i
            for i in range(1, n)
            if stats[i][2] >= RULE_WIDTH * glyph_px and stats[i][3] <= RULE_HEIGHT * glyph_px
        ]
        if flat:
            ink = ink & ~np.isin(labels, flat)
    full = ink.mean(axis=1) >= 0.8 if ink.size else np.zeros(0, bool)
    if drop_rows:
        return ink[~full]
    ink = ink.copy()
    ink[full] = False
    return ink


RULE_WIDTH, RULE_HEIGHT = 1.5, 0.25  # glyph heights: a piece this wide and this flat is a rule, not a stroke


def _dark_band(page: "PageInput", band, min_rows: int):
    """(pixels darker than the paper by INK_CONTRAST, top-left point, pixels per point) of ``band``, or None
    when it cannot be rendered or has fewer than ``min_rows`` rows (the box is then kept as it is)."""
    try:
        img, origin = _band_pixels(page, band)
    except Exception:  # no render
        return None
    if img.size == 0 or img.shape[0] < min_rows:
        return None
    gray = img.mean(axis=2)
    return gray < float(np.percentile(gray, 90)) - INK_CONTRAST, origin, page.dpi / 72.0


def _band_pixels(page: "PageInput", band) -> tuple[np.ndarray, tuple[float, float]]:
    """Pixels of ``band`` (points of an unrotated page) at ``page.dpi`` and the
    point of their top-left corner: cut out of the page's render when the
    engine holds it (a scan: a clip render of its image decodes the image
    again, ~15 ms per OCR finding), else rendered."""
    full = page._image if page._image is not None else _scan_render(page)
    if full is None:
        from core.ocr.page import render

        return render(page.pdf_page, page.dpi, band)
    k = page.dpi / 72.0
    h, w = full.shape[:2]
    # MuPDF's rounding of a clip to pixels (fz_round_rect)
    x0, y0 = max(0, int(np.floor(band[0] * k + 0.001))), max(0, int(np.floor(band[1] * k + 0.001)))
    x1, y1 = min(w, int(np.ceil(band[2] * k - 0.001))), min(h, int(np.ceil(band[3] * k - 0.001)))
    if x1 <= x0 or y1 <= y0:
        return np.zeros((0, 0, 3), dtype=np.uint8), (0.0, 0.0)
    return full[y0:y1, x0:x1], (x0 / k, y0 / k)


_LAST_SCAN = threading.local()  # the render of the last scanned page trimmed to ink, one per thread


def _scan_render(page: "PageInput") -> Optional[np.ndarray]:
    """The whole render of a scanned page whose own render was freed (the
    record-wide passes): drawn once and kept until another page asks, so the
    findings of one page cost one render, not one each.  None on other pages."""
    if not page.is_scanned:
        return None
    slot = getattr(_LAST_SCAN, "slot", None)
    if slot is None or slot[0]() is not page or slot[1] != page.dpi:
        from core.pdf.render import render_page_rgb

        slot = (weakref.ref(page), page.dpi, render_page_rgb(page.pdf_page, page.dpi))
        _LAST_SCAN.slot = slot
    return slot[2]


def release_scan_render() -> None:
    """Drop the kept render of :func:`_scan_render` (the record-wide passes are done)."""
    _LAST_SCAN.slot = None


def _pad_ocr(rect):
    h = rect[3] - rect[1]
    return (rect[0] - 1.0, rect[1] - 0.15 * h, rect[2] + 1.0, rect[3] + 0.15 * h)
