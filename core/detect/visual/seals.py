"""Red and blue seals (公章, 科室章, 检验专用章, 医疗专用章) on page pixels.

Red or blue ink (HSV hue bands) minus long straight red runs (ECG / fetal-monitor grid
lines), closed so the ring, the arc text and the star form one blob.  A blob
is a seal when it is seal-sized, roughly round or oval, not too dense and
has red all around its outline (the ring) -- red clinical text and grid
fragments fail the outline test.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.detect.base import AnalysisContext, PageInput
from core.detect.registry import register
from core.detect.visual.common import VisualRecognizer, cfg, finding, layout, red_mask, views
from core.models import Category, Finding

RING_BINS = 36


def remove_lines(mask: np.ndarray, length_px: int) -> np.ndarray:
    """Drop horizontal and vertical runs at least ``length_px`` long."""
    lines = np.zeros_like(mask)
    for size in ((length_px, 1), (1, length_px)):
        k = cv2.getStructuringElement(cv2.MORPH_RECT, size)
        lines |= cv2.morphologyEx(mask, cv2.MORPH_OPEN, k)
    if not lines.any():
        return mask
    lines = cv2.dilate(lines, np.ones((3, 3), np.uint8))
    return cv2.bitwise_and(mask, cv2.bitwise_not(lines))


def ellipse_scores(mask: np.ndarray) -> tuple[float, float, float, float]:
    """(density inside the inscribed ellipse, share of angle bins with red on
    the outline band, density in the box corners outside the ellipse
    relative to the density inside, density in the centre) of a blob's
    bounding-box crop.  A seal is empty in the corners (a block of red text
    is not) and has a star or text inside (a red pen circle round a value
    has not)."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return 0.0, 0.0, 1.0, 0.0
    a, b = w / 2.0, h / 2.0
    dx, dy = (xs + 0.5 - a) / a, (ys + 0.5 - b) / b
    r = np.sqrt(dx * dx + dy * dy)
    density = float(np.count_nonzero(r <= 1.05)) / (np.pi * a * b)
    band = (r >= 0.72) & (r <= 1.1)
    ang = ((np.arctan2(dy[band], dx[band]) + np.pi) / (2 * np.pi) * RING_BINS).astype(int) % RING_BINS
    counts = np.bincount(ang, minlength=RING_BINS)
    gy, gx = np.mgrid[0:h, 0:w]
    outside = ((gx + 0.5 - a) / a) ** 2 + ((gy + 0.5 - b) / b) ** 2 > 1.15**2
    corner = float(np.count_nonzero(r > 1.15)) / max(1.0, float(np.count_nonzero(outside)))
    inner = float(np.count_nonzero(r <= 0.6)) / (np.pi * a * b * 0.36)
    return density, float(np.count_nonzero(counts >= 2)) / RING_BINS, corner / max(density, 1e-6), inner


def ring_contrast(mask: np.ndarray) -> float:
    """Ink density on the outline band over the density in the middle band:
    a seal's ring makes it high (about 3-10); grid fragments or a tinted
    area are about as dense everywhere (about 1)."""
    h, w = mask.shape
    a, b = w / 2.0, h / 2.0
    gy, gx = np.mgrid[0:h, 0:w]
    r = np.sqrt(((gx + 0.5 - a) / a) ** 2 + ((gy + 0.5 - b) / b) ** 2)
    band, mid = (r >= 0.82) & (r <= 1.05), (r >= 0.3) & (r <= 0.75)
    return float(mask[band].mean()) / max(1e-3, float(mask[mid].mean()))


def ring_peak(mask: np.ndarray) -> float:
    """The seal's outline ring is a thin peak of the radial ink profile with
    a gap just inside it (between the ring and the arc text): peak density
    on the outline over the least density just inside it.  Grid fragments
    and tinted areas have no such gap (about 1)."""
    h, w = mask.shape
    gy, gx = np.mgrid[0:h, 0:w]
    r = np.sqrt(((gx + 0.5 - w / 2.0) / (w / 2.0)) ** 2 + ((gy + 0.5 - h / 2.0) / (h / 2.0)) ** 2)
    prof = [
        float(mask[(r >= a) & (r < a + 0.05)].mean()) if np.any((r >= a) & (r < a + 0.05)) else 0.0
        for a in np.arange(0.6, 1.05, 0.05)
    ]
    k = int(np.argmax(prof[4:])) + 4  # the ring: a peak at r >= 0.8
    return prof[k] / max(0.02, min(prof[:k]))


def seal_ink_mask(v, c: dict) -> np.ndarray:
    """Red or blue stamp ink (HSV hue bands; faint stamps are pale)."""
    blue = cv2.inRange(
        v.hsv,
        (int(c.get("hue_blue_min", 95)), int(c.get("sat_min", 45)), int(c.get("val_min", 60))),
        (int(c.get("hue_blue_max", 130)), 255, 255),
    )
    return cv2.bitwise_or(red_mask(v, c), blue)


def is_grayscale(v) -> bool:
    """A grayscale scan: (almost) no saturated pixels anywhere (a stamp may
    cover far less than 1 % of a colour scan)."""
    sat = v.hsv[::2, ::2, 1]
    return np.count_nonzero(sat > 40) < 0.0003 * sat.size


@register
class RedSealRecognizer(VisualRecognizer):
    name = "red_seal"
    order = 15

    def find(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        if not page.is_scanned:
            lay = layout(page)
            if not (lay.images or lay.coloured_drawings):
                return []
        c = cfg("seal")
        out = []
        for full in views(page):
            v = full.scaled(c.get("dpi", 60))
            if page.is_scanned and is_grayscale(v):
                found = [(box, conf * 0.9) for box, conf in seal_blobs(mid_gray_mask(full, v), v, c)]
            else:
                found = seal_blobs(seal_ink_mask(v, c), v, c)
            out += [
                finding(page, Category.SEAL, v.pt(b), self.name, conf, pad=c.get("pad", 2))
                for b, conf in found
            ]
        return out


def seal_blobs(mask: np.ndarray, v, c: dict) -> list[tuple[tuple, float]]:
    """Seal-shaped blobs of a seal-ink mask: (pixel box, confidence)."""
    if cv2.countNonZero(mask) < v.n(c.get("min_diameter", 34)) * 2:
        return []
    mask = remove_lines(mask, v.n(c.get("line_length", 70)))
    k = v.n(c.get("close_size", 5))
    blobs = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    contours, _ = cv2.findContours(blobs, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    dmin, dmax = v.n(c.get("min_diameter", 34)), v.n(c.get("max_diameter", 200))
    for cnt in contours:
        x, y, w, h = cv2.boundingRect(cnt)
        if max(w, h) < dmin or min(w, h) < dmin * 0.6 or max(w, h) > dmax:
            continue
        if not (c.get("aspect_min", 0.55) <= w / h <= c.get("aspect_max", 1.8)):
            continue
        density, ring, corners, inner = ellipse_scores(mask[y : y + h, x : x + w] > 0)
        if corners > c.get("corner_max", 0.3) or inner < c.get("inner_min", 0.02):
            continue
        if not (c.get("min_density", 0.03) <= density <= c.get("max_density", 0.65)):
            continue
        sub = mask[y : y + h, x : x + w] > 0
        if ring < c.get("ring_min", 0.7):
            continue
        if ring_contrast(sub) < c.get("ring_contrast_min", 1.8) and ring_peak(sub) < c.get(
            "ring_peak_min", 3.0
        ):
            continue
        g = c.get("grow", 0.05)  # the faint outer edge of the ring is below the ink thresholds
        out.append(((x - g * w, y - g * h, x + w + g * w, y + h + g * h), min(0.99, 0.6 + 0.4 * ring)))
    return out


def mid_gray_mask(full, small) -> np.ndarray:
    """Grayscale scans: red seal ink turns mid-grey, printed text stays
    near-black.  Mid-grey pixels away from black strokes (their blurred
    edges are mid-grey too), at the resolution of ``small``."""
    g = full.gray
    paper = float(np.median(g[::4, ::4]))
    black = cv2.dilate((g < 50).astype(np.uint8), np.ones((5, 5), np.uint8))
    mid = ((g >= 50) & (g < paper - 35) & (black == 0)).astype(np.float32)
    m = cv2.resize(mid, (small.img.shape[1], small.img.shape[0]), interpolation=cv2.INTER_AREA)
    return ((m > 0.25) * 255).astype(np.uint8)
