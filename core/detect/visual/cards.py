"""ID-card and insurance-card copies pasted into consent forms.

A card is a card-shaped rectangle (85.6 x 54 mm, often scaled) that holds a
portrait photo block, an 18-digit ID number or card words (公民身份号码,
签发机关, 社会保障卡 …).  Born-digital pages: image objects of card shape;
scanned pages: card-shaped non-white regions of the render.  The whole card
is hidden.
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from core.detect.base import AnalysisContext, PageInput
from core.detect.registry import register
from core.detect.visual.common import VisualRecognizer, cfg, clip_view, finding, layout, view
from core.models import Category, Finding, PageText, Rect
from core.pdf import geometry


def card_shaped(r: Rect, c: dict) -> bool:
    w, h = r[2] - r[0], r[3] - r[1]
    if min(w, h) <= 0:
        return False
    long, short = max(w, h), min(w, h)
    return c.get("aspect_min", 1.35) <= long / short <= c.get("aspect_max", 1.85) and c.get(
        "min_width", 110
    ) <= long <= c.get("max_width", 420)


def text_inside(text: PageText, r: Rect) -> str:
    return "".join(
        text.text[i]
        for i, b in enumerate(text.boxes)
        if b is not None and geometry.intersection(b, r) >= 0.5 * max(1e-6, geometry.area(b))
    )


def has_card_words(s: str, c: dict) -> bool:
    s = re.sub(r"\s+", "", s)
    if re.search(c.get("id_pattern", r"\d{17}[\dXx]"), s):
        return True
    return sum(k in s for k in c.get("keywords", [])) >= 2


def has_photo(gray: np.ndarray, sat: np.ndarray, min_share: float) -> bool:
    """A portrait-shaped solid block (the photo) of real size inside the card."""
    h, w = gray.shape
    if h < 10 or w < 10:
        return False
    solid: np.ndarray = ((gray < 200) | (sat > 60)).astype(np.uint8)
    k = max(2, int(min(h, w) * 0.02))
    solid = cv2.morphologyEx(solid, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    for _x, _y, bw, bh, a in stats[1:]:
        if (
            bh >= 0.35 * h
            and 0.45 <= bw / max(1, bh) <= 1.1
            and a >= 0.45 * bw * bh
            and bw * bh >= min_share * w * h
        ):
            return True
    return False


@register
class CardCopyRecognizer(VisualRecognizer):
    name = "id_card_copy"
    order = 18

    def find(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        c = cfg("card")
        images = [] if page.is_scanned else layout(page).images
        candidates = [im.rect for im in images if card_shaped(im.rect, c)]
        page_area = page.pdf_page.rect.width * page.pdf_page.rect.height
        if page.is_scanned or any(geometry.area(im.rect) > 0.3 * page_area for im in images):
            # a scan, or a scanned sheet pasted into a born-digital page
            candidates += [
                r
                for r in self._pixel_candidates(page, c)
                if not any(geometry.intersection(r, k) > 0 for k in candidates)
            ]
        if not candidates:
            return []
        out = []
        for r in candidates:
            words = has_card_words(text_inside(page.text, r), c)
            v = clip_view(page, r, c.get("dpi", 60))
            x0, y0, x1, y1 = v.px(r)
            photo = has_photo(v.gray[y0:y1, x0:x1], v.hsv[y0:y1, x0:x1, 1], c.get("photo_min_share", 0.08))
            if words or photo:
                conf = 0.95 if words and photo else 0.8
                out.append(finding(page, Category.ID_CARD, r, self.name, conf, pad=c.get("pad", 2)))
        return out

    @staticmethod
    def _pixel_candidates(page: PageInput, c: dict) -> list[Rect]:
        v = view(page).scaled(cfg("card").get("dpi", 60))  # plenty for a card-sized region
        gray = v.gray
        paper = float(np.median(gray[::2, ::2]))
        tinted: np.ndarray = (gray < min(paper - 8, 240)).astype(np.uint8)
        k = v.n(4)
        tinted = cv2.morphologyEx(tinted, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
        tinted = cv2.morphologyEx(tinted, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
        n, _, stats, _ = cv2.connectedComponentsWithStats(tinted, connectivity=8)
        out = []
        for x, y, w, h, a in stats[1:]:
            if a < 0.8 * w * h:
                continue
            r = v.pt((x, y, x + w, y + h))
            if card_shaped(r, c):
                out.append(r)
        return out
