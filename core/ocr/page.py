"""OCR of PDF pages: which regions, recognising them, and mapping the
characters back to page coordinates.

Pipeline for one page (each step a small function):

1. ``ocr_regions``   – the whole page when it is a scan, else the big
   embedded images of a born-digital page (scanned inserts).
2. ``render``        – pixels of the displayed (rotated) page or of a clip.
3. ``ocr_image``     – cached engine call with orientation search: when the
   text on the image runs vertically (landscape ECG / fetal-monitor
   strips, pages scanned sideways) or reads badly, the image is also
   recognised turned by 90°/270°/180° and the best reading is kept, its
   boxes mapped back to the unturned image.
4. ``ocr_page_chars`` – pixels -> display points -> unrotated page points
   (``core.pdf.geometry``), one :class:`~core.models.Char` per character,
   ``source=Source.OCR``.
5. ``ocr_page_text``  – text-layer lines + OCR lines, without OCR
   characters that only repeat the text layer at the same place.
"""

from __future__ import annotations

import unicodedata
from typing import Iterable, Optional, Sequence

import numpy as np
import pymupdf

from core.config import settings
from core.models import Char, Rect, Source, as_rect
from core.ocr import cache
from core.ocr.cells import gray_of, page_rules, tidy_lines
from core.ocr.engine import OcrEngine, OcrLine, get_engine
from core.pdf.text import join_boxed_runs
from core.pdf.geometry import area, from_display, intersection, to_display
from core.pdf.drawings import page_drawings
from core.pdf.render import is_grey_image
from core.pdf.outlines import glyph_paths

# A page is "scanned" (OCR the whole page) when its text layer has fewer
# than this many characters and images cover at least this share of it.
SCANNED_MAX_TEXT_CHARS = 30
SCANNED_MIN_IMAGE_COVER = 0.5
# Embedded images at least this big (points²; 1 inch² = 72×72) are OCR'd on
# born-digital pages.
MIN_IMAGE_AREA = 72.0 * 72.0
# Letters drawn as vector outlines (core.pdf.outlines): at least this many on a line are OCR'd like an image.
OUTLINE_MIN_GLYPHS = 2
# Orientation search thresholds.
VERTICAL_SHARE = 0.5  # share of characters on vertical lines that makes a page "sideways"
WEAK_SCORE = 0.75  # mean confidence under which a reading counts as weak
MIN_LINES_FOR_WEAK = 1
INK_LEVEL, INK_SHARE = (
    128,
    0.002,
)  # an image where nothing reads upright but this share is dark is tried upside down
MIN_SCORE = 0.5  # lines read with less confidence are dropped


# --------------------------------------------------------------------------
# 1. regions


def page_rect_unrotated(page: pymupdf.Page) -> Rect:
    return from_display(page, tuple(page.rect))


def image_boxes(page: pymupdf.Page) -> list[Rect]:
    """Boxes (unrotated page points) of the images drawn on the page,
    clipped to the page."""
    full = page_rect_unrotated(page)
    out = []
    for info in page.get_image_info():
        r = pymupdf.Rect(info["bbox"])
        if r.is_empty or r.is_infinite:
            continue
        r &= pymupdf.Rect(full)
        if not r.is_empty and r.width > 1 and r.height > 1:
            out.append((r.x0, r.y0, r.x1, r.y1))
    return out


def covered_share(boxes: Sequence[Rect], full: Rect, grid: int = 64) -> float:
    """Share of ``full`` covered by the union of ``boxes`` (on a coarse grid)."""
    if not boxes:
        return 0.0
    w, h = full[2] - full[0], full[3] - full[1]
    if w <= 0 or h <= 0:
        return 0.0
    mask = np.zeros((grid, grid), dtype=bool)
    for b in boxes:
        x0 = int(np.floor((b[0] - full[0]) / w * grid))
        x1 = int(np.ceil((b[2] - full[0]) / w * grid))
        y0 = int(np.floor((b[1] - full[1]) / h * grid))
        y1 = int(np.ceil((b[3] - full[1]) / h * grid))
        mask[max(0, y0) : min(grid, y1), max(0, x0) : min(grid, x1)] = True
    return float(mask.mean())


def merge_overlapping(boxes: Iterable[Rect]) -> list[Rect]:
    """Union boxes that overlap until none do."""
    out = [as_rect(b) for b in boxes]
    changed = True
    while changed:
        changed = False
        merged: list[Rect] = []
        for b in out:
            for i, m in enumerate(merged):
                if intersection(b, m) > 0:
                    merged[i] = (min(b[0], m[0]), min(b[1], m[1]), max(b[2], m[2]), max(b[3], m[3]))
                    changed = True
                    break
            else:
                merged.append(b)
        out = merged
    return out


def is_image_page(page: pymupdf.Page, text_chars_count: int) -> bool:
    """A scan: (almost) no text layer and images over most of the page."""
    return text_chars_count < SCANNED_MAX_TEXT_CHARS and reads_whole(page)


def reads_whole(page: pymupdf.Page) -> bool:
    """Whether the page stage will OCR this page whole whatever its text
    layer holds: images cover most of it (a scan, with or without an OCR
    layer of its own; ``ocr_regions`` and an untrusted layer both end there)."""
    return covered_share(image_boxes(page), page_rect_unrotated(page)) >= SCANNED_MIN_IMAGE_COVER


def ocr_regions(page: pymupdf.Page, text_chars_count: int) -> list[Rect]:
    """Regions of the page (unrotated points) whose pixels need OCR.

    * image-only page (scan): the whole page;
    * page with neither text nor images but many vector paths (text
      converted to outlines): the whole page;
    * otherwise: each embedded image of at least 1 inch² (scanned inserts,
      photographed forms) and each line of letters drawn as outlines
      (:func:`outline_text_regions`), overlapping ones merged; the whole
      page when they cover half of it.
    """
    full = page_rect_unrotated(page)
    boxes = image_boxes(page)
    if text_chars_count < SCANNED_MAX_TEXT_CHARS and covered_share(boxes, full) >= SCANNED_MIN_IMAGE_COVER:
        return [full]
    if text_chars_count == 0 and not boxes and many_paths(page):
        return [full]
    big = [b for b in boxes if area(b) >= MIN_IMAGE_AREA]
    regions = merge_overlapping(big + outline_text_regions(page))
    if covered_share(regions, full) >= SCANNED_MIN_IMAGE_COVER:
        return [full]
    return regions


def outline_text_regions(page: pymupdf.Page) -> list[Rect]:
    """Where the page draws letters as vector outlines (text printed "as curves", a heading or a whole page
    converted to paths; ``core.pdf.outlines``), grouped into lines.  The text layer has none of it, so
    only OCR can read it."""
    glyphs = [pymupdf.Rect(r) for r in glyph_paths(page)]
    if len(glyphs) < OUTLINE_MIN_GLYPHS:
        return []
    rows = merge_overlapping([tuple(r + (-r.height * 0.6, -1, r.height * 0.6, 1)) for r in glyphs])
    full = pymupdf.Rect(page_rect_unrotated(page))
    return [tuple(pymupdf.Rect(r) & full) for r in rows if _count_inside(r, glyphs) >= OUTLINE_MIN_GLYPHS]


def _count_inside(box: Rect, rects: list[pymupdf.Rect]) -> int:
    b = pymupdf.Rect(box)
    return sum(1 for r in rects if b.contains(r))


def many_paths(page: pymupdf.Page, threshold: int = 200) -> bool:
    try:
        return len(page_drawings(page)) >= threshold
    except Exception:  # pragma: no cover - damaged content streams
        return False


# --------------------------------------------------------------------------
# 2.-3. render and recognise


def render(
    page: pymupdf.Page, dpi: int, clip: Optional[Rect] = None
) -> tuple[np.ndarray, tuple[float, float]]:
    """RGB pixels of the displayed page (or of ``clip``, unrotated points)
    and the display-point position of the image's top-left pixel."""
    disp_clip = None
    if clip is not None:
        disp_clip = pymupdf.Rect(to_display(page, clip)) & page.rect
        if disp_clip.is_empty:
            return np.zeros((0, 0, 3), dtype=np.uint8), (0.0, 0.0)
    if _grey_images_only(page):  # the same pixels, without converting the image's colours (~15-30 ms)
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False, clip=disp_clip)
        grey = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width)
        img = np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    else:
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csRGB, alpha=False, clip=disp_clip)
        img = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, pix.n).copy()
    # pix.x/pix.y: the pixel grid position of the clip in a whole-page render
    return img, (pix.x * 72.0 / dpi, pix.y * 72.0 / dpi)


def _grey_images_only(page: pymupdf.Page) -> bool:
    """Whether the page shows grey images and nothing else (a grey scan):
    its RGB render is then its grey render in three equal channels, and
    MuPDF converts a grey image's colours to RGB anew for every render
    (measured: a 150 dpi render of a 300 dpi grey scan 100 -> 71 ms, of a
    150 dpi one 40 -> 25 ms, pixels identical)."""
    try:  # the images first: a text extraction costs more, and more again after the font cache was dropped
        infos = page.get_image_info()
        if not infos or not all(is_grey_image(i) for i in infos):
            return False
        return not page.get_text("text").strip() and not page_drawings(page)
    except Exception:  # content MuPDF cannot read: the plain RGB render
        return False


def _rotate_point_back(x: float, y: float, k: int, w: int, h: int) -> tuple[float, float]:
    """A point of ``np.rot90(img, k)`` -> the same point of ``img`` (w×h)."""
    k %= 4
    if k == 0:
        return x, y
    if k == 1:  # counter-clockwise: (x, y) -> (y, w - x)
        return w - y, x
    if k == 2:
        return w - x, h - y
    return y, h - x  # k == 3, clockwise: (x, y) -> (h - y, x)


def _rotate_box_back(b, k: int, w: int, h: int) -> tuple[float, float, float, float]:
    p0 = _rotate_point_back(b[0], b[1], k, w, h)
    p1 = _rotate_point_back(b[2], b[3], k, w, h)
    return (min(p0[0], p1[0]), min(p0[1], p1[1]), max(p0[0], p1[0]), max(p0[1], p1[1]))


def rotate_lines_back(lines: list[OcrLine], k: int, w: int, h: int) -> list[OcrLine]:
    """Map lines recognised on ``np.rot90(img, k)`` to ``img`` (w×h)."""
    if k % 4 == 0:
        return lines
    out = []
    for ln in lines:
        quad = tuple(_rotate_point_back(x, y, k, w, h) for x, y in ln.quad) if ln.quad else None
        out.append(
            OcrLine(
                ln.text,
                _rotate_box_back(ln.box, k, w, h),
                ln.score,
                quad,
                [_rotate_box_back(b, k, w, h) for b in ln.char_boxes],
            )
        )
    return out


def _n_chars(ln: OcrLine) -> int:
    return sum(1 for c in ln.text if not c.isspace())


def _is_vertical_line(ln: OcrLine) -> bool:
    if ln.quad:
        q = np.asarray(ln.quad)
        w = float(max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[2] - q[3])))
        h = float(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2])))
    else:
        w, h = ln.box[2] - ln.box[0], ln.box[3] - ln.box[1]
    return w > 0 and h / w >= 1.5


def reading_quality(lines: list[OcrLine], min_score: float = 0.0) -> float:
    """Confidence-weighted number of characters read on upright lines."""
    return sum(
        ln.score * _n_chars(ln)
        for ln in lines
        if ln.score >= min_score and (not _is_vertical_line(ln) or _n_chars(ln) < 3)
    )


def orientations_to_try(lines: list[OcrLine]) -> list[int]:
    """Extra ``np.rot90`` turns worth trying after the upright reading."""
    multi = _read_lines(lines)
    total = sum(_n_chars(ln) for ln in multi)
    if total == 0:
        return []
    vertical = sum(_n_chars(ln) for ln in multi if _is_vertical_line(ln))
    if vertical / total >= VERTICAL_SHARE:
        return [1, 3]  # text runs up or down the image
    if len(multi) >= MIN_LINES_FOR_WEAK and _mean_line_score(multi) < WEAK_SCORE:
        return [2]  # upside down?
    return []


def _read_lines(lines: list[OcrLine]) -> list[OcrLine]:
    """The lines of three characters or more: what counts as a reading."""
    return [ln for ln in lines if _n_chars(ln) >= 3]


def _mean_line_score(lines: list[OcrLine]) -> float:
    """The confidence of ``lines`` (not empty), weighted by their characters."""
    return sum(ln.score * _n_chars(ln) for ln in lines) / sum(_n_chars(ln) for ln in lines)


def _has_ink(img: np.ndarray) -> bool:
    """Does ``img`` hold dark pixels (an upside-down line, which the detector may not find at all)?"""
    return bool(img.size) and float((img.min(axis=2) < INK_LEVEL).mean()) >= INK_SHARE


def recognize_oriented(engine: OcrEngine, img: np.ndarray, min_score: float = MIN_SCORE) -> list[OcrLine]:
    """Recognise ``img``; for sideways or weak readings also try it turned
    and keep the best reading (boxes always in ``img``'s pixels).

    Every detected line (any confidence) takes part in the decision, so a
    page whose lines are all unreadable upright is still tried turned."""
    best = engine.recognize(img, min_score=0.0)
    turns = orientations_to_try(best) or ([2] if not _read_lines(best) and _has_ink(img) else [])
    if turns:
        h, w = img.shape[:2]
        best_q = reading_quality(best, min_score)
        for k in turns:
            lines = engine.recognize(np.ascontiguousarray(np.rot90(img, k)), min_score=0.0)
            q = reading_quality(lines, min_score)  # judged in the turned frame
            if q > best_q * 1.1:
                best, best_q = rotate_lines_back(lines, k, w, h), q
    mirror = _mirror_to_try(engine, img, best, min_score)
    if mirror is not None:
        lines = engine.recognize(np.ascontiguousarray(np.flip(img, mirror)), min_score=0.0)
        if reading_quality(lines, min_score) > reading_quality(best, min_score) * 1.1:
            best = mirror_lines_back(lines, mirror, img.shape[1], img.shape[0])
    return [ln for ln in best if ln.score >= min_score]


def _mirror_to_try(
    engine: OcrEngine, img: np.ndarray, best: list[OcrLine], min_score: float
) -> Optional[int]:
    """An insert drawn mirrored shows mirror writing, which a reviewer still reads.  The axis to flip the
    image along (0: top to bottom, 1: left to right): 0 when nothing reads at all but there is ink (the
    detector may find no line in such print, as upside down); else, when the lines found read weakly,
    the axis along which their crops, mirrored, read well (one batch of the recogniser, no detection)."""
    multi = _read_lines(best)
    if not multi:
        return 0 if _has_ink(img) else None
    mean = _mean_line_score(multi)
    if mean >= WEAK_SCORE:
        return None
    boxes = [tuple(int(v) for v in ln.box) for ln in multi]
    crops = [np.flip(img[y0:y1, x0:x1], axis) for axis in (0, 1) for x0, y0, x1, y1 in boxes]
    try:
        read = engine.read_crops([np.ascontiguousarray(c) for c in crops])
    except NotImplementedError:  # an engine without a separate recogniser: the full reading decides
        return 1
    scores = [_mean_score(read[k * len(boxes) : (k + 1) * len(boxes)]) for k in (0, 1)]
    axis = int(scores[1] > scores[0])
    return axis if scores[axis] >= WEAK_SCORE and scores[axis] > mean else None


def _mean_score(read: list[tuple[str, float]]) -> float:
    return sum(score * len(text) for text, score in read) / max(1, sum(len(text) for text, _ in read))


def mirror_lines_back(lines: list[OcrLine], axis: int, w: int, h: int) -> list[OcrLine]:
    """Map lines recognised on ``np.flip(img, axis)`` (axis 1: left to right, 0: top to bottom) to ``img``."""

    def box(b):
        return (w - b[2], b[1], w - b[0], b[3]) if axis == 1 else (b[0], h - b[3], b[2], h - b[1])

    def point(x, y):
        return (w - x, y) if axis == 1 else (x, h - y)

    return [
        OcrLine(
            ln.text,
            box(ln.box),
            ln.score,
            tuple(point(x, y) for x, y in ln.quad) if ln.quad else None,
            [box(b) for b in ln.char_boxes],
        )
        for ln in lines
    ]


# The cache holds what recognize_oriented returns: a change to the orientation search changes this, so a
# reading cached before it (an upside-down insert read as nothing) is not reused.
ORIENTATION_SEARCH = "orient3"


def ocr_image(
    img: np.ndarray,
    *,
    engine: Optional[OcrEngine] = None,
    dpi: int = 150,
    clip: Optional[Rect] = None,
    use_cache: Optional[bool] = None,
) -> list[OcrLine]:
    """Recognise an RGB image, through the sealed on-disk cache."""
    engine = engine or get_engine()
    use_cache = cache.cache_enabled() if use_cache is None else use_cache
    key = cache.cache_key(img, f"{engine.engine_id}/{ORIENTATION_SEARCH}", dpi, clip) if use_cache else ""
    if use_cache:
        hit = cache.load(key)
        if hit is not None:
            return hit
    lines = recognize_oriented(engine, img)
    if use_cache:
        cache.store(key, lines)
    return lines


# --------------------------------------------------------------------------
# 4. page characters


def ocr_page_chars(
    page: pymupdf.Page,
    dpi: Optional[int] = None,
    clip: Optional[Rect] = None,
    *,
    engine: Optional[OcrEngine] = None,
    use_cache: Optional[bool] = None,
    keep: Optional[dict] = None,
    read: Optional[tuple] = None,
) -> list[list[Char]]:
    """OCR the page (or ``clip``, unrotated points): lines of characters in
    unrotated page points, ``source=Source.OCR``.  Inserted spaces (wide
    gaps) are kept as characters so detectors see field boundaries.  With
    ``keep``, a render of the whole page is left there as ``keep["image"]``
    (the engine hands it to the visual recognizers instead of drawing the
    page again).  ``read``: the whole page's (render, offset, OCR lines)
    already read for exactly this request (``core.ocr.ahead``)."""
    dpi = int(dpi or settings().ocr_dpi)
    lines_read: Optional[list[OcrLine]] = None
    if read is not None and clip is None:  # (render, offset, lines) read ahead (core.ocr.ahead)
        img, offset, lines_read = read
    else:
        img, offset = render(page, dpi, clip)
    if keep is not None and clip is None:
        keep["image"] = img
    if img.size == 0:
        return []
    if lines_read is None:
        lines_read = ocr_image(img, engine=engine, dpi=dpi, clip=clip, use_cache=use_cache)
    lines = tidy_lines(lines_read, img)
    to_page = _pixel_mapper(page, dpi, offset)
    if keep is not None:  # the tables' rules the pixels show, for the cell-wrap join of the page's text
        vertical, horizontal = keep.setdefault("rules", ([], []))
        for kind, rule in _table_rules_in_points(lines, img, to_page):
            (vertical if kind == "v" else horizontal).append(rule)
    out: list[list[Char]] = []
    for ln in lines:
        chars = []
        for c, box in zip(ln.text, ln.char_boxes):
            r = to_page(box)
            if r is None:
                continue
            chars.append(Char(c, r, Source.OCR))
        while chars and chars[-1].c.isspace():
            chars.pop()
        while chars and chars[0].c.isspace():
            chars.pop(0)
        if chars:
            out.append(chars)
    return join_boxed_runs(out)  # a number OCR read box by box (an ID number in 18 cells) is one line


def _table_rules_in_points(lines: list[OcrLine], img: np.ndarray, to_page) -> list[tuple[str, tuple]]:
    """The ruling lines of the image's tables (``core.ocr.cells.page_rules``) in unrotated page points, as
    ("v", (x, y0, y1)) / ("h", (y, x0, x1)), the shape ``core.pdf.text.table_rules`` gives."""
    heights = sorted(ln.box[3] - ln.box[1] for ln in lines if ln.box[2] - ln.box[0] > ln.box[3] - ln.box[1])
    if not heights:
        return []
    vertical, horizontal = page_rules(gray_of(img), heights[len(heights) // 2])
    boxes = [(x - 0.5, y0, x + 0.5, y1) for x, y0, y1 in vertical]
    boxes += [(x0, y - 0.5, x1, y + 0.5) for y, x0, x1 in horizontal]
    out = []
    for box in boxes:
        r = to_page(box)
        if r is None:
            continue
        if r[3] - r[1] > r[2] - r[0]:
            out.append(("v", ((r[0] + r[2]) / 2, r[1], r[3])))
        else:
            out.append(("h", ((r[1] + r[3]) / 2, r[0], r[2])))
    return out


def _pixel_mapper(page: pymupdf.Page, dpi: int, offset: tuple[float, float]):
    """A function: pixel box of the render -> unrotated page box clipped to
    the page (None when nothing is left).  Same maths as
    ``core.pdf.geometry.pixels_to_page``, without a Rect object per corner
    (a page has a thousand characters)."""
    m = page.derotation_matrix
    a, b, c, d, e, f = m.a, m.b, m.c, m.d, m.e, m.f
    k = 72.0 / dpi
    ox, oy = offset
    fx0, fy0, fx1, fy1 = page_rect_unrotated(page)

    def to_page(box) -> Optional[Rect]:
        x0, y0 = box[0] * k + ox, box[1] * k + oy
        x1, y1 = box[2] * k + ox, box[3] * k + oy
        xs = (a * x0 + c * y0 + e, a * x1 + c * y0 + e, a * x0 + c * y1 + e, a * x1 + c * y1 + e)
        ys = (b * x0 + d * y0 + f, b * x1 + d * y0 + f, b * x0 + d * y1 + f, b * x1 + d * y1 + f)
        r = (max(min(xs), fx0), max(min(ys), fy0), min(max(xs), fx1), min(max(ys), fy1))
        if r[2] <= r[0] or r[3] <= r[1]:
            return None
        return r

    return to_page


# --------------------------------------------------------------------------
# 5. text layer + OCR


def _norm(c: str) -> str:
    return unicodedata.normalize("NFKC", c).lower()


class _Grid:
    """Spatial hash of text-layer character boxes."""

    def __init__(self, chars: Iterable[Char], cell: float = 24.0):
        self.cell = cell
        self.cells: dict[tuple[int, int], list[Char]] = {}
        for ch in chars:
            for key in self._keys(ch.rect):
                self.cells.setdefault(key, []).append(ch)

    def _keys(self, r: Rect):
        c = self.cell
        for gx in range(int(r[0] // c), int(r[2] // c) + 1):
            for gy in range(int(r[1] // c), int(r[3] // c) + 1):
                yield gx, gy

    def near(self, r: Rect) -> list[Char]:
        seen: dict[int, Char] = {}
        for key in self._keys(r):
            for ch in self.cells.get(key, ()):
                seen[id(ch)] = ch
        return list(seen.values())


def is_duplicate(ocr_char: Char, grid: _Grid) -> bool:
    """The text layer has the same character at the same place."""
    r = ocr_char.rect
    cx, cy = (r[0] + r[2]) / 2, (r[1] + r[3]) / 2
    want = _norm(ocr_char.c)
    for t in grid.near(r):
        tr = t.rect
        if tr[0] - 1 <= cx <= tr[2] + 1 and tr[1] - 1 <= cy <= tr[3] + 1 and _norm(t.c) == want:
            return True
        if _norm(t.c) == want and intersection(r, tr) >= 0.5 * min(area(r), area(tr)) > 0:
            return True
    return False


def drop_duplicates(ocr_lines: list[list[Char]], text_lines: list[list[Char]]) -> list[list[Char]]:
    """OCR lines without the characters the text layer already has at the
    same place; a line is split where characters were dropped."""
    text_chars = [c for ln in text_lines for c in ln if not c.c.isspace()]
    if not text_chars:
        return ocr_lines
    grid = _Grid(text_chars)
    out: list[list[Char]] = []
    for ln in ocr_lines:
        run: list[Char] = []
        for ch in ln:
            if not ch.c.isspace() and is_duplicate(ch, grid):
                if run:
                    out.append(run)
                run = []
            else:
                run.append(ch)
        if run:
            out.append(run)
    return [
        ln
        for ln in (_strip(r) for r in out)
        if ln and any(not c.c.isspace() and unicodedata.category(c.c)[0] in "LN" for c in ln)
    ]


def _strip(chars: list[Char]) -> list[Char]:
    i, j = 0, len(chars)
    while i < j and chars[i].c.isspace():
        i += 1
    while j > i and chars[j - 1].c.isspace():
        j -= 1
    return chars[i:j]


def ocr_page_text(
    page: pymupdf.Page,
    existing_lines: Optional[list[list[Char]]] = None,
    *,
    dpi: Optional[int] = None,
    engine: Optional[OcrEngine] = None,
    use_cache: Optional[bool] = None,
) -> list[list[Char]]:
    """Text-layer lines followed by OCR lines for the regions that need OCR
    (``ocr_regions``), OCR characters that repeat the text layer dropped."""
    if existing_lines is None:
        from core.pdf.text import text_lines

        existing_lines = text_lines(page)
    count = sum(1 for ln in existing_lines for c in ln if not c.c.isspace())
    full = page_rect_unrotated(page)
    ocr_lines: list[list[Char]] = []
    for region in ocr_regions(page, count):
        clip = None if _same_rect(region, full) else region
        ocr_lines += ocr_page_chars(page, dpi, clip, engine=engine, use_cache=use_cache)
    return list(existing_lines) + drop_duplicates(ocr_lines, existing_lines)


def _same_rect(a: Rect, b: Rect, tol: float = 0.5) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b))
