"""Visual marks on synthetic pages: signatures, seals, barcodes.

Uses the images of ``tools.synth.visual`` when that module is importable, and
falls back to simple vector drawings otherwise.  Each mark is recorded as a
visual ground-truth item (category signature / seal / barcode).
"""

from __future__ import annotations

import math
import random
from functools import lru_cache

from tools.synth.layout import PageCanvas

try:  # written by the visual-detection engineer; optional here
    from tools.synth import visual as _visual
except Exception:  # pragma: no cover - depends on optional packages
    _visual = None


@lru_cache(maxsize=512)
def _ink_fraction(png: bytes) -> tuple[float, float, float, float]:
    """Bounding box of the ink in an image as fractions of its size
    (transparent or near-white pixels are paper)."""
    import io

    from PIL import Image, ImageChops

    img = Image.open(io.BytesIO(png))
    if img.mode in ("RGBA", "LA"):
        mask = img.getchannel("A").point(lambda a: 255 if a > 40 else 0)
    else:
        mask = ImageChops.invert(img.convert("L")).point(lambda v: 255 if v > 60 else 0)
    box = mask.getbbox() or (0, 0, img.width, img.height)
    return (box[0] / img.width, box[1] / img.height, box[2] / img.width, box[3] / img.height)


def _place(cv: PageCanvas, rect: tuple, png: bytes, category: str, role: str) -> None:
    """Insert the image; its truth box is the ink, not the padded image."""
    cv.image(rect, png)
    fx0, fy0, fx1, fy1 = _ink_fraction(png)
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    cv.visual((x0 + fx0 * w, y0 + fy0 * h, x0 + fx1 * w, y0 + fy1 * h), category, role)


@lru_cache(maxsize=256)
def _signature_png(name: str, style: str, seed: int) -> bytes | None:
    if _visual is None:
        return None
    return _visual.png_bytes(_visual.signature_image(name, style, seed))


@lru_cache(maxsize=32)
def _seal_png(org: str, center: str, seed: int) -> bytes | None:
    if _visual is None:
        return None
    return _visual.png_bytes(_visual.seal_image(org, center, size=220, seed=seed))


@lru_cache(maxsize=256)
def _code_png(value: str, kind: str) -> bytes | None:
    if _visual is None:
        return None
    return _visual.png_bytes(_visual.code_image(value, kind, scale=2 if kind == "code128" else 3))


def signature(
    cv: PageCanvas, x: float, baseline: float, name: str, rng: random.Random, role: str = ""
) -> float:
    """A handwritten-looking signature starting at x; returns its right edge."""
    style = "kai" if rng.random() < 0.7 else "scribble"
    seed = sum(map(ord, name)) % 997
    png = _signature_png(name, style, seed)
    h = 22.0
    if png is not None:
        w = h * (2.2 if style == "scribble" else 0.55 * max(2, len(name)) + 0.5)
        rect = (x, baseline - 17, x + w, baseline - 17 + h)
        _place(cv, rect, png, "signature", role)
        return rect[2]
    w = 18.0 * max(2, len(name))
    pts, px = [], x
    while px < x + w:
        pts.append((px, baseline - 8 + rng.uniform(-7, 7)))
        px += rng.uniform(3, 7)
    cv.polyline(pts, width=1.1, color=(0.1, 0.15, 0.5))
    ys = [p[1] for p in pts]
    cv.visual((x - 1, min(ys) - 1, pts[-1][0] + 1, max(ys) + 1), "signature", role)
    return x + w


def seal(
    cv: PageCanvas,
    cx: float,
    cy: float,
    org: str,
    rng: random.Random,
    center: str = "病历专用章",
    r: float = 42,
) -> None:
    png = _seal_png(org, center, sum(map(ord, org)) % 997)
    rect = (cx - r, cy - r, cx + r, cy + r)
    if png is not None:
        _place(cv, rect, png, "seal", center)
        return
    red = (0.85, 0.12, 0.12)
    cv.shape.draw_circle((cx, cy), r - 1)
    cv.shape.finish(color=red, width=2.2)
    star = []
    for k in range(11):
        rr = r * (0.32 if k % 2 == 0 else 0.13)
        a = -math.pi / 2 + k * math.pi / 5
        star.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    cv.shape.draw_polyline(star)
    cv.shape.finish(color=red, fill=red, width=0.4)
    cv.visual(rect, "seal", center)


def barcode(cv: PageCanvas, rect: tuple, value: str, rng: random.Random, kind: str = "code128") -> None:
    png = _code_png(value, kind)
    if png is not None:
        _place(cv, rect, png, "barcode", kind)
        cv.identifiers[-1].text = value
        return
    x0, y0, x1, y1 = rect
    x = x0
    while x < x1 - 2:
        w = rng.choice((0.8, 0.8, 1.6, 2.4))
        cv.shape.draw_rect((x, y0, min(x + w, x1), y1))
        x += w + rng.choice((0.8, 1.6))
    cv.shape.finish(color=None, fill=(0, 0, 0), width=0)
    cv.visual((x0, y0, x - 0.8, y1), "barcode", kind)
    cv.identifiers[-1].text = value
