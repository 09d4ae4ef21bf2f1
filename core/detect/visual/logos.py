"""Hospital logos and emblems.

Two recognizers:

* ``emblem`` (per page): an image, a vector drawing or -- on scanned pages --
  a non-text ink blob right beside a hospital name (…医院、…保健院、…卫生院).
* ``repeated_logo`` (record-wide): an image or drawing in the top/bottom
  band that recurs at the same place on several pages; on scanned pages a
  non-text blob in the band that recurs at the same place.

Band objects are collected during the per-page pass (cheap, kept on the
PageInput as a few boxes) so the record-wide pass needs no second render.
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from core.detect.base import AnalysisContext, PageInput, Recognizer
from core.detect.registry import register
from core.detect.visual.common import VisualRecognizer, cfg, finding, layout, merge_boxes, printed_mask, view
from core.detect.visual.upright import along_text_lines
from core.models import Category, Finding, PageText, Rect, as_rect
from core.pdf import geometry

CJK_RUN = re.compile(r"[\u4e00-\u9fff（）()]+")


def _thin(r: Rect) -> bool:
    return min(r[2] - r[0], r[3] - r[1]) < 2.0


def vector_objects(page: PageInput, within: Rect | None = None) -> list[tuple[Rect, str]]:
    """Images (keyed by digest) and clusters of non-rule drawings (key "draw")."""
    lay = layout(page)
    out = [
        (im.rect, im.digest)
        for im in lay.images
        if within is None or geometry.intersection(im.rect, within) > 0
    ]
    pens = lay.__dict__.get("_pens")
    if pens is None:
        pens = np.array([d.rect for d in lay.drawings if not _thin(d.rect)], dtype=float).reshape(-1, 4)
        lay.__dict__["_pens"] = pens
    if within is not None and len(pens):
        pens = pens[
            (pens[:, 2] > within[0])
            & (pens[:, 0] < within[2])
            & (pens[:, 3] > within[1])
            & (pens[:, 1] < within[3])
        ]
    out += [(as_rect(b), "draw") for b in merge_boxes(pens.tolist(), 2.0)]
    return out


def pixel_blobs(page: PageInput, region: Rect, min_side: float, max_side: float) -> list[Rect]:
    """Non-text ink blobs (dark or coloured pixels outside OCR'd character
    boxes, rules removed) inside ``region`` -> boxes in points."""
    v = view(page).scaled(cfg("logo").get("dpi", 60))
    x0, y0, x1, y1 = v.px(region)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return []
    gray = v.gray[y0:y1, x0:x1]
    sat = v.hsv[y0:y1, x0:x1, 1]
    ink: np.ndarray = ((gray < 170) | (sat > 80)).astype(np.uint8)
    ln = v.n(40)
    for size in ((ln, 1), (1, ln)):
        ink &= 1 - cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, size))
    ink &= 1 - printed_mask(v, page, (x0, y0, x1, y1))
    ink = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((v.n(3), v.n(3)), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    boxes = [[x, y, x + w, y + h] for x, y, w, h, a in stats[1:] if a >= 0.15 * w * h]
    out = []
    for b in merge_boxes(boxes, v.n(2)):
        r = v.pt((b[0] + x0, b[1] + y0, b[2] + x0, b[3] + y0))
        w, h = r[2] - r[0], r[3] - r[1]
        if min(w, h) >= min_side and max(w, h) <= max_side and 0.33 <= w / h <= 3:
            out.append(r)
    return out


def institution_names(text: PageText) -> list[Rect]:
    """Boxes of hospital names: the CJK run that ends with an institution word."""
    rx = re.compile(cfg("logo").get("institution_pattern", "(医院)"))
    out = []
    for m in rx.finditer(text.text):
        start = m.start()
        for run in CJK_RUN.finditer(text.text, max(0, m.start() - 20), m.end()):
            if run.start() <= m.start() < run.end():
                start = run.start()
        rects = text.rects_for(start, m.end())
        if rects:
            out.append(geometry.union(rects))
    return out


def _bands(page: PageInput) -> list[Rect]:
    """Top and bottom bands of the *displayed* page, in unrotated points."""
    d = page.pdf_page.rect
    f = cfg("logo").get("band", 0.14)
    bands = [(0, 0, d.width, d.height * f), (0, d.height * (1 - f), d.width, d.height)]
    return [geometry.from_display(page.pdf_page, b) for b in bands]


@register
class EmblemRecognizer(VisualRecognizer):
    name = "emblem"
    order = 17

    @along_text_lines
    def find(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        c = cfg("logo")
        page.__dict__["_visual_band_objects"] = self._band_objects(page, c)
        out = []
        for name in institution_names(page.text):
            h = max(4.0, name[3] - name[1])
            reach, max_h = c.get("emblem_reach", 3.0) * h, c.get("emblem_max_height", 4.0) * h
            cy = (name[1] + name[3]) / 2
            for side in (
                (name[0] - reach, cy - max_h / 2, name[0] + 1, cy + max_h / 2),
                (name[2] - 1, cy - max_h / 2, name[2] + reach, cy + max_h / 2),
            ):
                for r in self._objects_in(page, side, 0.6 * h, max_h):
                    out.append(
                        finding(
                            page, Category.LOGO, r, self.name, 0.85, pad=c.get("pad", 1), role_hint="emblem"
                        )
                    )
        return out

    def _objects_in(self, page: PageInput, side: Rect, min_side: float, max_side: float) -> list[Rect]:
        if page.is_scanned:
            return pixel_blobs(page, side, min_side, max_side)
        found = []
        for r, _ in vector_objects(page, side):
            inside = geometry.intersection(r, side) / max(1e-6, geometry.area(r))
            w, h = r[2] - r[0], r[3] - r[1]
            if inside >= 0.6 and min(w, h) >= min_side and max(w, h) <= max_side:
                found.append(r)
        return found

    @staticmethod
    def _band_objects(page: PageInput, c: dict) -> list[tuple[Rect, str]]:
        lo, hi = c.get("min_side", 8), c.get("max_side", 200)
        out = []
        for band in _bands(page):
            if page.is_scanned:
                out += [(r, "pixels") for r in pixel_blobs(page, band, lo, hi)]
                continue
            for r, key in vector_objects(page, band):
                w, h = r[2] - r[0], r[3] - r[1]
                if (
                    geometry.intersection(r, band) >= 0.8 * geometry.area(r)
                    and min(w, h) >= lo
                    and max(w, h) <= hi
                ):
                    out.append((r, key))
        return out


@register
class RepeatedLogoRecognizer(Recognizer):
    name = "repeated_logo"
    kind = "record"
    order = 70

    def analyze_record(
        self, pages: list[PageInput], findings: list[Finding], ctx: AnalysisContext
    ) -> list[Finding]:
        pages = [p for p in pages if p.pdf_page is not None]
        c = cfg("logo")
        if len(pages) < c.get("min_pages", 2):
            return []
        objs = []
        for p in pages:
            band = p.__dict__.get("_visual_band_objects")
            if band is None:
                band = [] if p.is_scanned else EmblemRecognizer._band_objects(p, c)
            objs.append(band)
        tols = {"pixels": c.get("position_tolerance_scanned", 12)}  # scans are skewed and shifted
        groups: list[dict] = []  # {"rect", "key", "members": [(page_pos, rect)]}
        for pos, band in enumerate(objs):
            for r, key in band:
                for g in groups:
                    tol = tols.get(key, c.get("position_tolerance", 4))
                    if g["key"] == key and all(abs(a - b) <= tol for a, b in zip(g["rect"], r)):
                        if all(m[0] != pos for m in g["members"]):
                            g["members"].append((pos, r))
                        break
                else:
                    groups.append({"rect": r, "key": key, "members": [(pos, r)]})
        need = max(c.get("min_pages", 2), int(np.ceil(c.get("min_share", 0.3) * len(pages))))
        out = []
        for g in groups:
            if len(g["members"]) < need:
                continue
            for pos, r in g["members"]:
                out.append(
                    finding(
                        pages[pos],
                        Category.LOGO,
                        r,
                        self.name,
                        0.8,
                        pad=c.get("pad", 1),
                        role_hint="repeated",
                    )
                )
        return out
