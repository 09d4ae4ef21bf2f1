"""Shared helpers of the visual recognizers.

A :class:`View` is the page's RGB render plus the conversions between its
pixels and the page's unrotated points.  It is built once per page and
shared by every visual recognizer (cached on the :class:`PageInput`).
Born-digital pages are rendered only when they hold something a visual
recognizer could find (images, coloured or dense vector drawings), so a
plain text page costs a few milliseconds.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Iterable, Optional

import cv2
import numpy as np
import pymupdf

from core.detect.base import AnalysisContext, PageInput, Recognizer
from core.models import Category, Finding, PageText, Rect, Source, as_rect
from core.pdf import geometry
from core.pdf.drawings import page_drawings
from core.pdf.render import is_grey_image
from core.rules import load_rules


log = logging.getLogger(__name__)


class VisualRecognizer(Recognizer):
    """Base of the per-page visual recognizers: subclasses implement
    :meth:`find`.  A failure is logged (name and error type only) and gives
    no findings, so one broken detector does not cost the page its text
    findings."""

    kind = "visual"

    def analyze(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        if page.pdf_page is None:  # a text-only page (e.g. a sentence under evaluation)
            return []
        try:
            return self.find(page, ctx)
        except Exception as exc:  # noqa: BLE001 - see the class docstring
            log.warning(
                "visual recognizer %s failed on page %d: %s", self.name, page.index + 1, type(exc).__name__
            )
            return []

    def find(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        raise NotImplementedError


def cfg(section: str) -> dict:
    return (load_rules("visual") or {}).get(section, {}) or {}


# ---------------------------------------------------------------- page layout
@dataclass
class PageImage:
    rect: Rect  # unrotated points
    digest: str
    grey: bool = False  # core.pdf.render.is_grey_image


@dataclass
class Drawing:
    rect: Rect
    coloured: bool
    filled: bool
    items: int = 1
    ruled: bool = (
        False  # only rectangles and horizontal/vertical lines: table cells and rules, never a pen stroke
    )


@dataclass
class Layout:
    """Image objects and vector drawings of a page (unrotated points)."""

    images: list[PageImage] = field(default_factory=list)
    drawings: list[Drawing] = field(default_factory=list)

    @property
    def coloured_drawings(self) -> list[Drawing]:
        return [d for d in self.drawings if d.coloured]

    @property
    def dense_fills(self) -> list[Drawing]:
        """Filled paths made of many pieces (a vector-drawn barcode or QR code)."""
        return [d for d in self.drawings if d.filled and d.items >= 20]

    @property
    def code_pieces(self) -> list[Drawing]:
        """Drawings that may be one bar or module of a vector-drawn code: a
        small square, or a thin bar (filled, or a stroked line) of code height."""
        out = []
        for d in self.drawings:
            w, h = d.rect[2] - d.rect[0], d.rect[3] - d.rect[1]
            if max(w, h) < 12 and d.filled or min(w, h) < 4 and max(w, h) < 80:
                out.append(d)
        return out

    def pixel_regions(self) -> list[Rect]:
        """Where pixel recognizers must look on a born-digital page."""
        boxes = [list(im.rect) for im in self.images]
        boxes += [list(d.rect) for d in self.coloured_drawings]
        boxes += [list(d.rect) for d in self.dense_fills]
        pieces = self.code_pieces  # gap 8: a scratch through a code does not split it
        boxes += [b for b in merge_boxes([list(d.rect) for d in pieces], 8) if _many_inside(b, pieces)]
        return [as_rect(b) for b in boxes]


def _many_inside(box: list[float], pieces: list["Drawing"], n: int = 12) -> bool:
    return (
        sum(
            1
            for d in pieces
            if d.rect[0] >= box[0] and d.rect[2] <= box[2] and d.rect[1] >= box[1] and d.rect[3] <= box[3]
        )
        >= n
    )


def _is_coloured(rgb) -> bool:
    if not rgb or len(rgb) < 3:
        return False
    return max(rgb) - min(rgb) > 0.25


def layout(page: PageInput) -> Layout:
    cached = page.__dict__.get("_visual_layout")
    if cached is not None:
        return cached
    pp = page.pdf_page
    out = Layout()
    if pp.get_images(full=False):
        for info in pp.get_image_info(hashes=True):
            r = pymupdf.Rect(info["bbox"]) & pp.rect
            if r.is_empty:
                continue
            digest = info.get("digest") or b""
            digest = digest.hex() if isinstance(digest, bytes) else str(digest)
            out.images.append(PageImage(tuple(r), digest, is_grey_image(info)))
    for d in page_drawings(pp):  # the raw (fast) form of get_drawings, read once per page
        r = d.get("rect")
        if r is None:
            continue
        out.drawings.append(
            Drawing(
                tuple(r),
                _is_coloured(d.get("color")) or _is_coloured(d.get("fill")),
                d.get("fill") is not None,
                len(d.get("items") or ()),
                _ruled(d.get("items") or ()),
            )
        )
    page.__dict__["_visual_layout"] = out
    return out


def _ruled(items) -> bool:
    """A path of rectangles and axis-parallel lines only (a table's cells)."""

    def straight(item) -> bool:
        if item[0] == "re":
            return True
        if item[0] == "l":
            (x0, y0), (x1, y1) = item[1], item[2]
            return abs(x0 - x1) < 0.5 or abs(y0 - y1) < 0.5
        return False

    return bool(items) and all(straight(it) for it in items)


def needs_pixels(page: PageInput) -> bool:
    """Whether a visual recognizer has anything to look at on this page."""
    if page.is_scanned:
        return True
    return bool(layout(page).pixel_regions())


# ---------------------------------------------------------------- pixel view
def _render(page: pymupdf.Page, dpi: float, clip=None, gray: bool = False) -> np.ndarray:
    """Render (part of) the displayed page, RGB or (``gray``) one grey channel;
    the page's display list is built once per page and reused for every clip."""
    slot = _last()
    dl = slot.get("displaylist") if slot.get("pdf_page") is page else None
    if dl is None:
        dl = page.get_displaylist()
        slot["displaylist"], slot["pdf_page"] = dl, page
    k = int(round(dpi)) / 72.0
    m = pymupdf.Matrix(k, k).prerotate(page.rotation) if page.rotation else pymupdf.Matrix(k, k)
    cs = pymupdf.csGRAY if gray else pymupdf.csRGB
    if clip is not None and page.rotation == 0:
        pix = dl.get_pixmap(matrix=m, colorspace=cs, alpha=False, clip=clip)
    else:
        pix = page.get_pixmap(dpi=int(round(dpi)), colorspace=cs, alpha=False, clip=clip)
    shape = (pix.height, pix.width) if gray else (pix.height, pix.width, pix.n)
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(shape).copy()


@dataclass
class View:
    """Pixels of the displayed page, or of a part of it (``origin`` is the
    display-space point of the image's top-left corner)."""

    page: pymupdf.Page
    img: np.ndarray  # RGB (or one grey channel, see sub_view), displayed (rotated) page or a clip of it
    dpi: float
    origin: tuple = (0.0, 0.0)
    clip: Optional[Rect] = None  # set when rendered by us: re-render instead of resizing

    @cached_property
    def rotation(self) -> int:
        return self.page.rotation

    @cached_property
    def scale(self) -> float:
        return self.dpi / 72.0

    @property
    def shape(self) -> tuple[int, int]:
        return self.img.shape[0], self.img.shape[1]

    def px(self, rect: Rect) -> tuple[int, int, int, int]:
        """Unrotated points -> clipped integer pixel box of this image."""
        k = self.scale
        ox, oy = self.origin
        if self.rotation == 0:  # fast path: a plain scale
            x0, y0, x1, y1 = (rect[0] - ox) * k, (rect[1] - oy) * k, (rect[2] - ox) * k, (rect[3] - oy) * k
        else:
            d = geometry.to_display(self.page, rect)
            x0, y0, x1, y1 = (d[0] - ox) * k, (d[1] - oy) * k, (d[2] - ox) * k, (d[3] - oy) * k
        h, w = self.shape
        return (
            int(max(0, min(w, np.floor(x0)))),
            int(max(0, min(h, np.floor(y0)))),
            int(max(0, min(w, np.ceil(x1)))),
            int(max(0, min(h, np.ceil(y1)))),
        )

    def pt(self, rect_px) -> Rect:
        """Pixel box of this image -> unrotated points."""
        if self.rotation == 0:  # fast path: a plain scale
            f = 72.0 / self.dpi
            ox, oy = self.origin
            return (rect_px[0] * f + ox, rect_px[1] * f + oy, rect_px[2] * f + ox, rect_px[3] * f + oy)
        return geometry.pixels_to_page(self.page, as_rect([float(v) for v in rect_px]), self.dpi, self.origin)

    def n(self, points: float) -> int:
        """A length in points -> pixels (at least 1)."""
        return max(1, int(round(points * self.scale)))

    def scaled(self, dpi: float) -> "View":
        """This view at a lower resolution (cached): re-rendered when we
        rendered it, else halved (pyrDown) while that stays near ``dpi``."""
        if dpi >= self.dpi * 0.9:
            return self
        cache = self.__dict__.setdefault("_scaled", {})
        if dpi not in cache:
            if self.clip is not None and self.img.size > 2_000_000:  # a big render: draw it again smaller
                img = _render(self.page, dpi, pymupdf.Rect(self.clip))
                cache[dpi] = View(self.page, img, float(int(round(dpi))), self.origin, self.clip)
            elif self.clip is not None:  # a small clip: resizing is cheaper
                f = dpi / self.dpi
                img = cv2.resize(self.img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
                cache[dpi] = View(self.page, img, self.dpi * img.shape[1] / self.img.shape[1], self.origin)
            else:
                img, cur = self.img, self.dpi
                while cur / 2 >= dpi * 0.75:
                    img, cur = cv2.pyrDown(img), cur / 2
                real = self.dpi * img.shape[1] / self.img.shape[1]
                cache[dpi] = View(self.page, img, real, self.origin) if img is not self.img else self
        return cache[dpi]

    @cached_property
    def gray(self) -> np.ndarray:
        return self.img if self.img.ndim == 2 else cv2.cvtColor(self.img, cv2.COLOR_RGB2GRAY)

    @cached_property
    def hsv(self) -> np.ndarray:
        return cv2.cvtColor(self.img, cv2.COLOR_RGB2HSV)


_STATE = threading.local()  # one slot per thread: a 300-page record must not keep 300 renders alive


def _last() -> dict:
    if not hasattr(_STATE, "slot"):
        _STATE.slot = {}
    return _STATE.slot


def _slot(page: PageInput) -> dict:
    slot = _last()
    if slot.get("page") is not page:
        slot.clear()
        slot["page"] = page
    return slot


def _full_render_wanted(page: PageInput) -> bool:
    return page.is_scanned or page._image is not None or page._render is not None


def view(page: PageInput) -> View:
    """The whole page's render, shared by the visual recognizers of this page.

    Only the most recent page's pixels are kept (memory stays flat over a
    long record); the engine's own ``page.image()`` is reused when present.
    """
    slot = _slot(page)
    if "view" not in slot:
        if _full_render_wanted(page):
            slot["view"] = View(page.pdf_page, page.image(), float(page.dpi))
        else:
            dpi = int(cfg("render").get("born_digital_dpi", 100))
            r = page.pdf_page.rect
            slot["view"] = View(
                page.pdf_page, _render(page.pdf_page, dpi), float(dpi), (0.0, 0.0), (r.x0, r.y0, r.x1, r.y1)
            )
    return slot["view"]


def clip_view(page: PageInput, rect: Rect, dpi: Optional[float] = None) -> View:
    """Pixels around ``rect`` (unrotated points): a clip render on born-digital
    pages, else the whole page's view (at about ``dpi``)."""
    dpi = dpi or cfg("render").get("born_digital_dpi", 100)
    if _full_render_wanted(page) or page.pdf_page.rotation != 0 or "view" in _slot(page):
        return view(page).scaled(dpi)
    r = pymupdf.Rect(rect) & page.pdf_page.rect
    if r.is_empty:
        r = pymupdf.Rect(rect)
    return View(page.pdf_page, _render(page.pdf_page, dpi, r), float(int(round(dpi))), (r.x0, r.y0), tuple(r))


def sub_view(page: PageInput, v: View, box_px, dpi: float, gray: bool = False) -> View:
    """Pixel box ``box_px`` of view ``v``, re-rendered at ``dpi`` when the
    page is unrotated (fine detail such as code modules), else cut out.
    With ``gray`` only its ``gray`` is wanted: the clip is then rendered
    grey where only grey images lie under it (:func:`_grey_images_only`), and
    the view may hold one grey channel (no ``hsv``)."""
    x0, y0, x1, y1 = (int(b) for b in box_px)
    if page.pdf_page.rotation == 0 and dpi > v.dpi:
        r = pymupdf.Rect(v.pt((x0, y0, x1, y1))) & page.pdf_page.rect
        if not r.is_empty:
            img = _render(page.pdf_page, dpi, r, gray=gray and _grey_images_only(page, tuple(r)))
            return View(page.pdf_page, img, float(int(round(dpi))), (r.x0, r.y0), tuple(r))
    ox, oy = v.origin
    f = 72.0 / v.dpi
    cut = (v.gray if gray else v.img)[y0:y1, x0:x1]
    return View(v.page, np.ascontiguousarray(cut), v.dpi, (ox + x0 * f, oy + y0 * f))


def _grey_images_only(page: PageInput, rect: Rect) -> bool:
    """Whether every image under ``rect`` is grey: MuPDF converts an image's
    colours whole for each clip rendered in another colourspace (a grey
    clip of a colour scan, an RGB clip of a grey one: 15-200 ms a clip,
    measured), so a clip is rendered in the colourspace of what lies there."""
    return all(im.grey for im in layout(page).images if geometry.intersection(im.rect, rect) > 0)


def views(page: PageInput) -> list[View]:
    """What the pixel recognizers look at: the whole render of a scanned
    page; on born-digital pages only clips around images, coloured drawings
    and clusters of small filled shapes (cheap to render)."""
    slot = _slot(page)
    if "views" in slot:
        return slot["views"]
    if _full_render_wanted(page) or page.pdf_page.rotation != 0:
        out = [view(page)]
    else:
        regions = merge_boxes([list(geometry.pad(r, 12)) for r in layout(page).pixel_regions()], 24)
        page_rect = page.pdf_page.rect
        if sum(geometry.area(as_rect(b)) for b in regions) > 0.5 * page_rect.width * page_rect.height:
            out = [view(page)]
        else:
            dpi = cfg("render").get("born_digital_dpi", 100)
            out = [clip_view(page, as_rect(b), dpi) for b in regions]
    slot["views"] = out
    return out


def ink_box(page: PageInput, rect: Rect, dpi: float = 72) -> Rect:
    """The visible content (dark or coloured pixels) of ``rect``: an image
    object's box often has wide transparent margins that may lie over
    neighbouring text, which a redaction box there would remove."""
    v = clip_view(page, rect, dpi)
    x0, y0, x1, y1 = v.px(rect)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return rect
    ink = (v.gray[y0:y1, x0:x1] < 200) | (v.hsv[y0:y1, x0:x1, 1] > 60)
    ys, xs = np.nonzero(ink)
    if len(xs) == 0:
        return rect
    r = v.pt((xs.min() + x0, ys.min() + y0, xs.max() + 1 + x0, ys.max() + 1 + y0))
    return (max(r[0], rect[0]), max(r[1], rect[1]), min(r[2], rect[2]), min(r[3], rect[3]))


def release_view() -> None:
    _last().clear()


# ---------------------------------------------------------------- text helpers
def label_regex(labels: Iterable[str]) -> re.Pattern:
    """Labels, longest first, tolerant of spaces between characters, with an
    optional colon."""
    return _label_regex(tuple(labels))


@lru_cache(maxsize=16)
def _label_regex(labels: tuple) -> re.Pattern:
    parts = []
    for lab in sorted(set(labels), key=len, reverse=True):
        parts.append(r"[ \t\u3000]*".join(re.escape(c) for c in lab))
    return re.compile("(?:" + "|".join(parts) + r")[ \t\u3000]*[:：]?")


NARROW_PUNCT = set(":：,，.。;；、")


def glyph_box(text: PageText, i: int) -> Optional[Rect]:
    """Character ``i``'s box, at most as wide as one glyph: OCR stretches a
    character's box over ink it could not read (a colon's box swallowing the
    handwriting after "医师签名：")."""
    b = text.boxes[i]
    if b is None or text.source_for(i, i + 1) != Source.OCR:
        return b
    h = b[3] - b[1]
    w_max = (0.6 if text.text[i] in NARROW_PUNCT else 1.25) * h
    return b if b[2] - b[0] <= w_max else (b[0], b[1], b[0] + w_max, b[3])


def span_rect(text: PageText, start: int, end: int) -> Optional[Rect]:
    rects = [
        glyph_box(text, i)
        for i in range(start, end)
        if text.boxes[i] is not None and not text.text[i].isspace()
    ]
    return geometry.union(rects) if rects else None


def char_boxes(page: PageInput) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, N x 4 array of boxes) of the page's visible characters, cached."""
    key = id(page.text)
    cached = page.__dict__.get("_visual_chars")
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    text = page.text
    idx = [i for i, b in enumerate(text.boxes) if b is not None and not text.text[i].isspace()]
    arr = np.array([glyph_box(text, i) for i in idx], dtype=np.float64).reshape(-1, 4)
    offsets = np.array(idx, dtype=np.int64)
    page.__dict__["_visual_chars"] = (key, offsets, arr)
    return offsets, arr


def printed_mask(
    v: "View", page: PageInput, box_px: tuple[int, int, int, int], skip=None, grow: int = 1
) -> np.ndarray:
    """1 where a character box (text layer or OCR) lies, inside the pixel box
    ``box_px`` of view ``v``; characters whose offset is in ``skip`` are left out."""
    x0, y0, x1, y1 = box_px
    m = np.zeros((max(0, y1 - y0), max(0, x1 - x0)), np.uint8)
    offsets, arr = char_boxes(page)
    if not len(arr):
        return m
    if v.rotation == 0:
        px = arr * v.scale
    else:
        px = np.array([geometry.page_to_pixels(v.page, tuple(b), v.dpi) for b in arr]).reshape(-1, 4)
    sel = (px[:, 2] >= x0) & (px[:, 0] <= x1) & (px[:, 3] >= y0) & (px[:, 1] <= y1)
    for off, (bx0, by0, bx1, by1) in zip(offsets[sel], px[sel]):
        if skip is not None and int(off) in skip:
            continue
        m[
            max(0, int(by0) - y0 - grow) : max(0, int(np.ceil(by1)) - y0 + grow),
            max(0, int(bx0) - x0 - grow) : max(0, int(np.ceil(bx1)) - x0 + grow),
        ] = 1
    return m


# ---------------------------------------------------------------- findings
def finding(
    page: PageInput,
    category: Category,
    rect: Rect,
    detector: str,
    confidence: float,
    text: str = "",
    pad: float = 0.0,
    role_hint: str = "",
) -> Finding:
    if pad:
        rect = geometry.pad(rect, pad)
    base = page.pdf_page.rect * page.pdf_page.derotation_matrix
    base.normalize()
    r = pymupdf.Rect(rect) & base
    if r.is_empty:
        r = pymupdf.Rect(rect)
    return Finding(
        page_index=page.index,
        category=category,
        rects=[tuple(r)],
        detector=detector,
        confidence=round(float(confidence), 3),
        text=text,
        source=Source.IMAGE,
        role_hint=role_hint,
    )


def merge_boxes(boxes: list[list[float]], gap: float) -> list[list[float]]:
    """Merge boxes that overlap or lie within ``gap`` of each other."""
    boxes = [list(b) for b in boxes]
    changed = True
    while changed:
        changed = False
        out: list[list[float]] = []
        for b in boxes:
            for o in out:
                if b[0] <= o[2] + gap and o[0] <= b[2] + gap and b[1] <= o[3] + gap and o[1] <= b[3] + gap:
                    o[0], o[1] = min(o[0], b[0]), min(o[1], b[1])
                    o[2], o[3] = max(o[2], b[2]), max(o[3], b[3])
                    changed = True
                    break
            else:
                out.append(b)
        boxes = out
    return boxes


def red_mask(v: View, sec: Optional[dict] = None) -> np.ndarray:
    c = sec or cfg("seal")
    hsv = v.hsv
    s_min, v_min = int(c.get("sat_min", 70)), int(c.get("val_min", 70))
    low = cv2.inRange(hsv, (0, s_min, v_min), (int(c.get("hue_low_max", 12)), 255, 255))
    high = cv2.inRange(hsv, (int(c.get("hue_high_min", 155)), s_min, v_min), (180, 255, 255))
    return cv2.bitwise_or(low, high)
