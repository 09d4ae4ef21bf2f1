"""Faces in photos (wound photos, newborn photos, ID photos).

Uses OpenCV only, offline: ``cv2.CascadeClassifier`` with a Haar cascade
(from the wheel's ``cv2.data`` or Debian's opencv-data), else
``cv2.FaceDetectorYN`` when ``face.yunet_model`` in visual.yaml names a
local YuNet ONNX file.  The pinned OpenCV 4.14 wheel ships the Haar
cascades; without one :func:`face_backend` says why (shown by ``make eval``).
Only embedded images (born-digital) or the whole render (scanned) are
searched.
"""

from __future__ import annotations

import os
from functools import lru_cache

import cv2
import numpy as np

from core.detect.base import AnalysisContext, PageInput
from core.detect.registry import register
from core.detect.visual.common import VisualRecognizer, cfg, clip_view, finding, layout, merge_boxes
from core.models import Category, Finding


@lru_cache(maxsize=1)
def _detector():
    c = cfg("face")
    if hasattr(cv2, "CascadeClassifier"):
        dirs = [getattr(getattr(cv2, "data", None), "haarcascades", "")] + list(c.get("cascade_dirs", []))
        for d in dirs:
            for f in c.get("cascade_files", []):
                path = os.path.join(d or "", f)
                if d and os.path.isfile(path):
                    clf = cv2.CascadeClassifier(path)
                    if not clf.empty():
                        return "haar", clf
    model = c.get("yunet_model") or ""
    if model and os.path.isfile(model) and hasattr(cv2, "FaceDetectorYN"):
        return "yunet", cv2.FaceDetectorYN.create(model, "", (320, 320), 0.7)
    return None, None


def face_backend() -> str:
    kind, _ = _detector()
    if kind:
        return kind
    return "none (opencv wheel has no CascadeClassifier/Haar data and no YuNet model is configured)"


def detect_faces(bgr, min_px: int) -> list[tuple[int, int, int, int]]:
    kind, det = _detector()
    if kind == "haar":
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        c = cfg("face")
        found = det.detectMultiScale(
            gray, c.get("scale_factor", 1.05), c.get("min_neighbors", 4), minSize=(min_px, min_px)
        )
        return [(x, y, x + w, y + h) for x, y, w, h in found]
    if kind == "yunet":
        h, w = bgr.shape[:2]
        det.setInputSize((w, h))
        _, faces = det.detect(bgr)
        return (
            []
            if faces is None
            else [(int(f[0]), int(f[1]), int(f[0] + f[2]), int(f[1] + f[3])) for f in faces]
        )
    return []


def _photo_tones(bgr, c: dict) -> bool:
    """A photo has continuous tones; print (text, tables, a scanned form) is
    paper and ink with little in between.  The Haar cascade finds "faces" in
    dense text on scans and on pages OCRed whole."""
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    lo, hi = c.get("midtone_range", [50, 200])
    return gray.size > 0 and float(((gray > lo) & (gray < hi)).mean()) >= c.get("min_midtone_share", 0.2)


@register
class FaceRecognizer(VisualRecognizer):
    name = "face"
    order = 19

    def find(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        if _detector()[0] is None:
            return []
        regions = (
            [im.rect for im in layout(page).images]
            if not page.is_scanned
            else [tuple(page.pdf_page.rect * page.pdf_page.derotation_matrix)]
        )
        if not regions:
            return []
        c = cfg("face")
        out = []
        for r in regions:
            v = clip_view(page, r, 150)
            x0, y0, x1, y1 = v.px(r)
            if x1 - x0 < 16 or y1 - y0 < 16:
                continue
            bgr = cv2.cvtColor(v.img[y0:y1, x0:x1], cv2.COLOR_RGB2BGR)
            tones = bgr.copy()  # the photo-tone test looks at the page as scanned, not at the blanked copy
            min_px = v.n(c.get("min_size", 24))
            areas = [(0, 0, x1 - x0, y1 - y0)]
            if page.is_scanned:
                _blank_text_lines(bgr, page, v, (x0, y0), c.get("text_mask_min_chars", 4))
                areas = ink_areas(bgr, min_px, c)
            for fx0, fy0, fx1, fy1 in (box for a in areas for box in _faces_in(bgr, a, min_px)):
                rect = v.pt((fx0 + x0, fy0 + y0, fx1 + x0, fy1 + y0))
                if not (
                    _photo_tones(tones[fy0:fy1, fx0:fx1], c)
                    or page.is_scanned
                    and _clear_of_text(tones, bgr, (fx0, fy0, fx1, fy1), c)
                ):
                    continue  # text or line art the cascade took for a face
                if page.is_scanned and _chars_inside(page, rect) > c.get("max_chars_inside", 3):
                    continue  # the cells of a table (shaded header cells have a photo's mid-tones)
                out.append(finding(page, Category.FACE, rect, self.name, 0.8, pad=c.get("pad", 4)))
        return out


def _faces_in(bgr, area, min_px: int) -> list[tuple[int, int, int, int]]:
    """Faces in ``area`` (pixel box) of ``bgr``, boxes in ``bgr``'s pixels.
    A portrait often fills its photo: the cascade needs some margin round
    the face, so the area is searched with a quarter of its size round it
    (the page's pixels there, white beyond the page's edge)."""
    h, w = bgr.shape[:2]
    x0, y0, x1, y1 = area
    m = max(8, max(x1 - x0, y1 - y0) // 4)
    cx0, cy0, cx1, cy1 = max(0, x0 - m), max(0, y0 - m), min(w, x1 + m), min(h, y1 + m)
    framed = cv2.copyMakeBorder(
        bgr[cy0:cy1, cx0:cx1],
        cy0 - (y0 - m),
        (y1 + m) - cy1,
        cx0 - (x0 - m),
        (x1 + m) - cx1,
        cv2.BORDER_CONSTANT,
        value=(255, 255, 255),
    )
    out = []
    for fx0, fy0, fx1, fy1 in detect_faces(framed, min_px):
        fx0, fy0 = max(0, fx0 + x0 - m), max(0, fy0 + y0 - m)
        fx1, fy1 = min(w, fx1 + x0 - m), min(h, fy1 + y0 - m)
        if fx1 > fx0 and fy1 > fy0:
            out.append((fx0, fy0, fx1, fy1))
    return out


def ink_areas(bgr, min_px: int, c: dict) -> list[tuple[int, int, int, int]]:
    """Pixel boxes of what is left to search on a scan whose text lines were
    blanked: the places with ink (darker than the paper by ``ink_contrast``
    on a copy reduced ``ink_cell`` times, so scanner noise averages out),
    joined within half a face and at least ``min_px`` on a side.  The cascade
    finds nothing on blank paper, and a dense scan is mostly blank once its
    text is gone: the whole page's search took ~0.2 CPU-s per page, measured."""
    cell = max(1, int(c.get("ink_cell", 4)))
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(
        gray, (max(1, gray.shape[1] // cell), max(1, gray.shape[0] // cell)), interpolation=cv2.INTER_AREA
    )
    paper = float(np.percentile(small, 90))
    ink = (small < paper - c.get("ink_contrast", 25)).astype(np.uint8)
    if not ink.any():
        return []
    reach = max(1, min_px // (2 * cell))
    ink = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * reach + 1, 2 * reach + 1)))
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    boxes = [
        [x * cell, y * cell, (x + bw) * cell, (y + bh) * cell]
        for x, y, bw, bh, _ in stats[1:n]
        if max(bw, bh) * cell >= min_px
    ]
    h, w = gray.shape
    return [
        (int(b[0]), int(b[1]), int(min(w, b[2])), int(min(h, b[3]))) for b in merge_boxes(boxes, min_px // 2)
    ]


def _chars_inside(page: PageInput, rect) -> int:
    """OCR'd characters whose centres lie inside ``rect``, short lines
    included: the cells of a table (脉搏 | 72 | 13:03) are too short to be
    blanked as text lines, yet a face the cascade finds among them is print."""
    pt = page.text
    n = 0
    for i, b in enumerate(pt.boxes):
        if b is not None and not pt.text[i].isspace():
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            n += rect[0] <= cx <= rect[2] and rect[1] <= cy <= rect[3]
    return n


def _clear_of_text(scanned, blanked, box, c: dict) -> bool:
    """On a scan the OCR'd text lines were blanked before the search: a hit
    that lies outside them is ink that is no text (a photo, even one scanned
    bilevel and dithered, with few mid-tones), so it is kept."""
    fx0, fy0, fx1, fy1 = box
    changed = (scanned[fy0:fy1, fx0:fx1] != blanked[fy0:fy1, fx0:fx1]).any(axis=2)
    return changed.size > 0 and float(changed.mean()) <= c.get("max_text_share", 0.05)


def _blank_text_lines(bgr, page: PageInput, v, offset, min_chars: int) -> None:
    """Paint the characters of the page's text lines (``min_chars``
    characters or more) white in ``bgr``: a face is never a line of print, and the cascade spent 85 %
    of its time on a dense scan's text (measured 1.8 → 0.3 CPU-s per page).
    Short readings are left alone (OCR now and then reads a character or two
    into a photo)."""
    pt = page.text
    ox, oy = offset
    h, w = bgr.shape[:2]
    for s, e in pt.lines():
        if sum(1 for i in range(s, e) if pt.boxes[i] is not None and not pt.text[i].isspace()) < min_chars:
            continue
        for i in range(s, e):  # each character's own box: a line may run on both sides of a photo
            rect = pt.boxes[i]
            if rect is None or pt.text[i].isspace():
                continue
            x0, y0, x1, y1 = v.px(rect)
            x0, y0, x1, y1 = max(0, x0 - ox), max(0, y0 - oy), min(w, x1 - ox), min(h, y1 - oy)
            if x1 > x0 and y1 > y0:
                bgr[y0:y1, x0:x1] = 255
