"""Barcodes and QR codes (they encode inpatient / specimen numbers).

Whatever drew the code (an image, vector bars or modules, the pixels of a
scan), it is looked for on the page render.  Candidate regions are windows
of high dark-pixel density (text lines are too thin to pass the size test);
each candidate is re-rendered at a decoding resolution and

* handed to zxing-cpp: a decoded value goes into ``Finding.text`` and into
  the case seeds, so the text recognizers that run after this one (``order``
  10 < 20) and the record-wide propagation hide the same value wherever it
  is printed;
* tested for code structure (:mod:`core.detect.visual.code_structure`):
  a dense texture of parallel bars (1D) or of square modules with finder
  patterns (QR, DataMatrix).  A code that cannot be decoded (damaged,
  small, skewed, an unknown symbology) is still hidden.

The human-readable line printed under or above a code goes with it.
"""

from __future__ import annotations

import re
from typing import Any

import cv2
import numpy as np
import zxingcpp

from core.detect.base import AnalysisContext, PageInput
from core.detect.registry import register
from core.detect.visual.code_structure import code_kind, ink_extent, readable_line
from core.detect.visual.common import (
    View,
    VisualRecognizer,
    cfg,
    char_boxes,
    finding,
    merge_boxes,
    needs_pixels,
    sub_view,
    views,
)
from core.models import Category, Finding, Rect
from core.pdf import geometry


CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")


def _formats(names: list[str]):
    fmts = [f for f in (getattr(zxingcpp.BarcodeFormat, n, None) for n in names) if f is not None]
    return fmts or None


def candidate_boxes(
    gray: np.ndarray, cell: int, density_min: float, min_side: int, max_side: int
) -> list[list[float]]:
    """Pixel boxes of dense dark regions of barcode size."""
    h, w = (gray.shape[0] // cell) * cell, (gray.shape[1] // cell) * cell
    if h == 0 or w == 0:
        return []
    dark = ((gray[:h, :w] < 128) * 255).astype(np.uint8)
    small = cv2.resize(dark, (w // cell, h // cell), interpolation=cv2.INTER_AREA)  # integer factor: fast
    small = cv2.blur(small, (3, 3))
    mask = (small >= density_min * 255).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    px = (
        np.stack(
            [stats[1:n, 0], stats[1:n, 1], stats[1:n, 0] + stats[1:n, 2], stats[1:n, 1] + stats[1:n, 3]],
            axis=1,
        ).astype(np.int64)
        * cell
    )  # one row per blob (a dense page has hundreds: no Python loop over them)
    longer = np.maximum(px[:, 2] - px[:, 0], px[:, 3] - px[:, 1])
    shorter = np.minimum(px[:, 2] - px[:, 0], px[:, 3] - px[:, 1])
    sliver = (longer >= min_side) & (longer <= max_side)  # a piece of a code a scratch cut off: joined below
    big = sliver & (shorter >= min_side * 0.5)
    boxes, whole = px[sliver].tolist(), px[big].tolist()
    out = []
    for group in (whole, boxes):  # slivers may chain a code to its neighbours: both ways are tried
        joined = _join_rows(merge_boxes([list(b) for b in group], 4 * cell), 15 * cell)
        out += [
            b
            for b in joined
            if min(b[3] - b[1], b[2] - b[0]) >= min_side * 0.5
            and max(b[3] - b[1], b[2] - b[0]) <= max_side
            and b not in out
        ]
    return out


def _join_rows(boxes: list[list[float]], gap: float) -> list[list[float]]:
    """Join pieces of one 1D barcode: same top and bottom, a gap between
    (wide spaces between bars break the density map)."""
    boxes = sorted(boxes, key=lambda b: b[0])
    out: list[list[float]] = []
    for b in boxes:
        for o in out:
            if not 0 <= b[0] - o[2] <= gap:  # the cheap test first
                continue
            ov = min(o[3], b[3]) - max(o[1], b[1])
            if ov >= 0.8 * max(o[3] - o[1], b[3] - b[1]):
                o[0], o[1], o[2], o[3] = min(o[0], b[0]), min(o[1], b[1]), max(o[2], b[2]), max(o[3], b[3])
                break
        else:
            out.append(list(b))
    return out


def decode(gray: np.ndarray, formats) -> list[tuple[tuple, str, bool, bool]]:
    """zxing-cpp on a grayscale crop: (pixel box, value, decoded?, linear?)."""
    kwargs: dict[str, Any] = {"return_errors": True}
    if formats is not None:
        kwargs["formats"] = formats
    out = []
    for r in zxingcpp.read_barcodes(np.ascontiguousarray(gray), **kwargs):
        p = r.position
        xs = [p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x]
        ys = [p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y]
        ok = bool(r.valid and not r.error and r.text)
        linear = r.format in zxingcpp.barcode_formats_list(
            zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.AllLinear)
        )
        out.append(((min(xs), min(ys), max(xs), max(ys)), r.text if ok else "", ok, linear))
    return out


@register
class BarcodeRecognizer(VisualRecognizer):
    name = "barcode"
    order = 10  # before case seeding (20): decoded values become seeds

    def find(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        if not needs_pixels(page):
            return []
        c = cfg("barcode")
        out: list[Finding] = []
        for v in views(page):
            for rect, value, conf in self.codes(page, v, c):
                out.append(
                    finding(page, Category.BARCODE, rect, self.name, conf, text=value, pad=c.get("pad", 2))
                )
                if value:
                    ctx.add_seed(value, Category.RECORD_NUMBER.value, "decoded:barcode")
        return out

    def codes(self, page: PageInput, v: View, c: dict) -> list[tuple[Rect, str, float]]:
        """(box in points, decoded value or "", confidence) of the codes in one view."""
        formats = _formats(c.get("formats", []))
        margin = v.n(c.get("margin", 8))
        H, W = v.shape
        found: list[tuple[Rect, str, float]] = []
        for box in candidate_boxes(
            v.gray,
            v.n(c.get("cell", 3)),
            c.get("density_min", 0.28),
            v.n(c.get("min_side", 14)),
            v.n(c.get("max_side", 260)),
        ):
            px = (
                max(0, box[0] - margin),
                max(0, box[1] - margin),
                min(W, box[2] + margin),
                min(H, box[3] + margin),
            )
            if _mostly_text_layer(page, v.pt(box), c):
                continue
            found += [
                f
                for f in self._in_candidate(page, v, px, formats, c)
                if f[1] or not _mostly_ocr_words(page, f[0], c)
            ]
        return _dedupe(found)

    def _in_candidate(
        self, page: PageInput, v: View, px: tuple, formats, c: dict
    ) -> list[tuple[Rect, str, float]]:
        """The codes in one candidate, rendered at decode_dpi.  A small one where nothing was decoded is
        rendered finer when the page holds finer pixels there (bars or modules under two pixels wide
        neither decode nor show their structure), and kept from there only when it decodes."""
        dpi = float(c.get("decode_dpi", 300))
        found = self._in_crop(page, sub_view(page, v, px, dpi, gray=True), formats, c)
        small = max(px[2] - px[0], px[3] - px[1]) <= v.n(c.get("fine_max_side", 90) + 2 * c.get("margin", 8))
        if not small or any(value for _, value, _ in found) or not _finer_than(page, v.pt(px), dpi):
            return found
        for fine_dpi in c.get("fine_dpi", []):
            crop = sub_view(page, v, px, float(fine_dpi), gray=True)
            fine = [f for f in self._in_crop(page, crop, formats, c) if f[1]]
            if fine:
                return fine
        return found

    def _in_crop(self, page: PageInput, crop: View, formats, c: dict) -> list[tuple[Rect, str, float]]:
        gray = crop.gray
        out = []
        for (bx0, by0, bx1, by1), value, ok, linear in decode(gray, formats):
            if bx1 - bx0 < 2 and by1 - by0 < 2:
                continue
            ext = ink_extent(gray, (bx0, by0, bx1, by1))  # zxing gives a scan line for 1D codes
            out.append((_with_readable_line(page, crop, ext, c, linear), value, 0.99 if ok else 0.7))
        kind, ext = code_kind(gray, crop.dpi, c.get("structure", {}))
        if kind is not None and not any(geometry.intersection(r, crop.pt(ext)) > 0 for r, _, _ in out):
            out.append((_with_readable_line(page, crop, ext, c, kind == "1d"), "", 0.8))
        return out


def _finer_than(page: PageInput, rect: Rect, dpi: float) -> bool:
    """Whether what is drawn at ``rect`` has detail finer than ``dpi``: vector drawings do, and an image
    does when it holds more pixels per inch than that (a scan at 200 dpi does not: re-rendering it finer
    adds no detail, only cost)."""
    if page.pdf_page is None:
        return False
    try:
        infos = page.pdf_page.get_image_info()
    except Exception:
        return False
    under = [i for i in infos if geometry.intersection(rect, tuple(i["bbox"])) > 0]
    if not under:
        return not page.is_scanned  # vector bars on a born-digital page
    return any(i["width"] * 72.0 / max(1e-6, i["bbox"][2] - i["bbox"][0]) > 1.2 * dpi for i in under)


def _mostly_text_layer(page: PageInput, rect: Rect, c: dict) -> bool:
    """A dense region that the text layer covers (a bold heading) is text.
    OCR'd characters do not count: OCR reads codes as garbage."""
    if page.is_scanned:
        return False
    return _text_cover(page, rect, lambda source, ch: source == "text") >= c.get("text_cover_max", 0.5)


def _mostly_ocr_words(page: PageInput, rect: Rect, c: dict) -> bool:
    """A code found by its structure alone (not decoded) where OCR read Chinese characters over
    most of it is dense print (睡眠 in a narrative line): a code OCR reads as garbage, never as
    ideographs.  Decoded codes are kept whatever OCR read."""
    return _text_cover(
        page, rect, lambda source, ch: source == "ocr" and CJK_CHAR.match(ch) is not None
    ) >= c.get("text_cover_max", 0.5)


def _text_cover(page: PageInput, rect: Rect, counts) -> float:
    """Share of ``rect`` under character boxes for which ``counts(source, char)`` holds."""
    offsets, arr = char_boxes(page)
    if not len(arr) or geometry.area(rect) <= 0:
        return 0.0
    sel = (arr[:, 2] > rect[0]) & (arr[:, 0] < rect[2]) & (arr[:, 3] > rect[1]) & (arr[:, 1] < rect[3])
    text = page.text
    boxes = [
        tuple(b)
        for o, b in zip(offsets[sel], arr[sel])
        if counts(text.source_for(int(o), int(o) + 1).value, text.text[int(o)])
    ]
    return sum(geometry.intersection(b, rect) for b in boxes) / geometry.area(rect)


def _with_readable_line(page: PageInput, crop: View, ext: tuple, c: dict, linear: bool) -> Rect:
    """A code's box with the number printed under or above it (pixels of the crop, and text-layer / OCR
    characters there): a 1D code's digits, and the 住院号 a label prints under its PDF417 or QR code.  A 1D
    code also takes its quiet zone."""
    rect = _with_quiet_zone(crop.pt(ext), c.get("quiet_zone", 0.1)) if linear else crop.pt(ext)
    line = readable_line(crop.gray, ext)
    if line is not None:
        rect = geometry.union([rect, crop.pt(line)])
    return geometry.union([rect] + _chars_beside(page, rect))


def _chars_beside(page: PageInput, rect: Rect) -> list[Rect]:
    """Character boxes of the line just under or above a 1D code, within its width."""
    offsets, arr = char_boxes(page)
    if not len(arr):
        return []
    h = rect[3] - rect[1]
    cx, cy = (arr[:, 0] + arr[:, 2]) / 2, (arr[:, 1] + arr[:, 3]) / 2
    inside_x = (cx >= rect[0]) & (cx <= rect[2])
    below = (arr[:, 1] >= rect[3] - 0.3 * h) & (arr[:, 1] <= rect[3] + 0.5 * h)
    above = (arr[:, 3] <= rect[1] + 0.3 * h) & (arr[:, 3] >= rect[1] - 0.5 * h)
    small = (arr[:, 3] - arr[:, 1]) <= 0.8 * max(h, 1.0)
    sel = inside_x & small & (below | above) & ~((cy > rect[1]) & (cy < rect[3]) & ~below & ~above)
    return [tuple(b) for b in arr[sel]]


def _with_quiet_zone(r, share: float):
    """Widen a 1D code along its bars' direction by its quiet zone (white, so
    hiding it costs nothing and the whole printed symbol is gone)."""
    w, h = r[2] - r[0], r[3] - r[1]
    if w > 1.5 * h:
        return (r[0] - share * w, r[1], r[2] + share * w, r[3])
    if h > 1.5 * w:
        return (r[0], r[1] - share * h, r[2], r[3] + share * h)
    return r


def _dedupe(found: list[tuple[Rect, str, float]]) -> list[tuple[Rect, str, float]]:
    """One finding per code: decoded ones first, overlapping boxes joined."""
    out: list[list] = []
    for rect, value, conf in sorted(found, key=lambda f: -f[2]):
        for o in out:
            if _iou(rect, o[0]) > 0.2 or geometry.intersection(rect, o[0]) >= 0.6 * min(
                geometry.area(rect), geometry.area(o[0])
            ):
                o[0] = geometry.union([o[0], rect])
                o[1] = o[1] or value
                break
        else:
            out.append([rect, value, conf])
    return [tuple(o) for o in out]


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix
    return ix / ua if ua > 0 else 0.0
