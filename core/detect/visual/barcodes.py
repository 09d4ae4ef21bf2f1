"""Barcodes and QR codes (they encode inpatient / specimen numbers).

Candidate regions are windows of high dark-pixel density on the page render
(text lines are too thin to pass the size test); each candidate is handed
to zxing-cpp (decoding the whole page is several times slower).  A decoded
value goes into ``Finding.text`` and into the case seeds, so the text
recognizers that run after this one (``order`` 10 < 20) hide the same value
wherever it is printed.  Codes that zxing locates but cannot decode are
still hidden, with a lower confidence.
"""
from __future__ import annotations

import cv2
import numpy as np
import zxingcpp

from core.detect.base import AnalysisContext, PageInput
from core.detect.registry import register
from core.detect.visual.common import VisualRecognizer, cfg, finding, merge_boxes, needs_pixels, views
from core.models import Category, Finding


def _formats(names: list[str]):
    fmts = None
    for n in names:
        f = getattr(zxingcpp.BarcodeFormat, n, None)
        if f is None:
            continue
        fmts = f if fmts is None else fmts | f
    return fmts


def candidate_boxes(gray: np.ndarray, cell: int, density_min: float, min_side: int, max_side: int) -> list[list[int]]:
    """Pixel boxes of dense dark regions of barcode size."""
    h, w = (gray.shape[0] // cell) * cell, (gray.shape[1] // cell) * cell
    if h == 0 or w == 0:
        return []
    dark = ((gray[:h, :w] < 128) * 255).astype(np.uint8)
    small = cv2.resize(dark, (w // cell, h // cell), interpolation=cv2.INTER_AREA)  # integer factor: fast
    small = cv2.blur(small, (3, 3))
    mask = (small >= density_min * 255).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    boxes = []
    for i in range(1, n):
        x, y, bw, bh, _ = stats[i]
        X0, Y0, X1, Y1 = x * cell, y * cell, (x + bw) * cell, (y + bh) * cell
        if Y1 - Y0 < min_side or X1 - X0 < min_side * 0.3 or max(X1 - X0, Y1 - Y0) > max_side:
            continue
        boxes.append([X0, Y0, X1, Y1])
    return _join_rows(merge_boxes(boxes, 4 * cell), 15 * cell)


def _join_rows(boxes: list[list[int]], gap: int) -> list[list[int]]:
    """Join pieces of one 1D barcode: same top and bottom, a gap between
    (wide spaces between bars break the density map)."""
    boxes = sorted(boxes, key=lambda b: b[0])
    out: list[list[int]] = []
    for b in boxes:
        for o in out:
            ov = min(o[3], b[3]) - max(o[1], b[1])
            if ov >= 0.8 * max(o[3] - o[1], b[3] - b[1]) and 0 <= b[0] - o[2] <= gap:
                o[0], o[1], o[2], o[3] = min(o[0], b[0]), min(o[1], b[1]), max(o[2], b[2]), max(o[3], b[3])
                break
        else:
            out.append(list(b))
    return out


def _decode(crop: np.ndarray, formats, upscale_below: int):
    scale = 1.0
    if min(crop.shape[:2]) < upscale_below:
        scale = 2.0
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    kwargs = {"return_errors": True}
    if formats is not None:
        kwargs["formats"] = formats
    out = []
    for r in zxingcpp.read_barcodes(crop, **kwargs):
        p = r.position
        xs = [p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x]
        ys = [p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y]
        box = (min(xs) / scale, min(ys) / scale, max(xs) / scale, max(ys) / scale)
        ok = r.valid and not r.error
        out.append((box, r.text if ok else "", ok, r.format.name if hasattr(r.format, "name") else str(r.format)))
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
            for px, value, ok in self._codes(v, c):
                rect = _with_quiet_zone(v.pt(px), c.get("quiet_zone", 0.1))
                out.append(finding(page, Category.BARCODE, rect, self.name, 0.99 if ok else 0.6, text=value, pad=c.get("pad", 2)))
                if ok and value:
                    ctx.add_seed(value, Category.RECORD_NUMBER.value, "decoded:barcode")
        return out

    @staticmethod
    def _codes(v, c: dict) -> list[tuple]:
        """(pixel box, decoded value, decoded?) of the codes in one view."""
        formats = _formats(c.get("formats", []))
        margin = v.n(c.get("margin", 8))
        H, W = v.shape
        hits: list[tuple] = []
        for box in candidate_boxes(
            v.gray, v.n(c.get("cell", 3)), c.get("density_min", 0.28), v.n(c.get("min_side", 18)), v.n(c.get("max_side", 260))
        ):
            x0, y0 = max(0, box[0] - margin), max(0, box[1] - margin)
            x1, y1 = min(W, box[2] + margin), min(H, box[3] + margin)
            crop = np.ascontiguousarray(v.gray[y0:y1, x0:x1])
            for (bx0, by0, bx1, by1), value, ok, fmt in _decode(crop, formats, int(c.get("upscale_below_px", 120))):
                if bx1 - bx0 < 2 and by1 - by0 < 2:
                    continue
                # 1D codes: zxing reports a scan line; take the candidate's extent across it
                if by1 - by0 < 3:
                    by0, by1 = box[1] - y0, box[3] - y0
                if bx1 - bx0 < 3:
                    bx0, bx1 = box[0] - x0, box[2] - x0
                hits.append(((bx0 + x0, by0 + y0, bx1 + x0, by1 + y0), value, ok))
        taken: list[tuple] = []
        out = []
        for px, value, ok in sorted(hits, key=lambda h: not h[2]):  # decoded first
            if any(_iou(px, t) > 0.3 for t in taken):
                continue
            taken.append(px)
            out.append((px, value, ok))
        return out


def _with_quiet_zone(r, share: float):
    """Widen a 1D code along its bars' direction by its quiet zone (white, so
    hiding it costs nothing and the whole printed symbol is gone)."""
    w, h = r[2] - r[0], r[3] - r[1]
    if w > 2 * h:
        return (r[0] - share * w, r[1], r[2] + share * w, r[3])
    if h > 2 * w:
        return (r[0], r[1] - share * h, r[2], r[3] + share * h)
    return r


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix
    return ix / ua if ua > 0 else 0.0
