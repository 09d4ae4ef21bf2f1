"""Turn born-digital pages into scanned-looking image-only pages.

Each page is rendered in grayscale (150 dpi by default), rotated by a small
angle (±1°) around its centre, given paper tone and noise, and placed as one
JPEG on a page of the same size: no text layer is left.  The ground-truth
rects of that page are moved with the rotation (bounding box of the rotated
rect), so they still cover what was drawn there.
"""

from __future__ import annotations

import io
import math
import random

import numpy as np
import pymupdf
from PIL import Image

from tools.synth.truth import ClinicalLine, TruthItem


def rotate_rect(rect, angle_deg: float, cx: float, cy: float) -> tuple[float, float, float, float]:
    """Bounding box of ``rect`` turned by ``angle_deg`` counter-clockwise as
    seen on screen (PIL's ``Image.rotate`` convention, y pointing down)."""
    a = math.radians(angle_deg)
    cos, sin = math.cos(a), math.sin(a)
    xs, ys = [], []
    x0, y0, x1, y1 = rect
    for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
        dx, dy = x - cx, y - cy
        xs.append(cx + dx * cos + dy * sin)
        ys.append(cy - dx * sin + dy * cos)
    return (min(xs), min(ys), max(xs), max(ys))


def scan_page(
    page: pymupdf.Page,
    out: pymupdf.Document,
    rng: random.Random,
    dpi: int = 150,
    max_angle: float = 1.0,
    quality: int = 55,
) -> float:
    """Append a scanned copy of ``page`` to ``out``; return the angle used."""
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    img = Image.frombytes("L", (pix.width, pix.height), pix.samples)
    angle = rng.uniform(-max_angle, max_angle)
    img = img.rotate(angle, resample=Image.BILINEAR, fillcolor=255)
    arr = np.asarray(img, dtype=np.int16)
    noise = np.random.default_rng(rng.randrange(2**32)).integers(-5, 6, arr.shape, dtype=np.int16)
    arr -= rng.randint(8, 22)  # paper tone
    arr += noise
    arr = np.clip(arr, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr, "L").save(buf, format="JPEG", quality=quality)
    new = out.new_page(width=page.rect.width, height=page.rect.height)
    new.insert_image(new.rect, stream=buf.getvalue())
    return angle


def scan_document(
    doc: pymupdf.Document,
    rng: random.Random,
    identifiers: list[TruthItem],
    clinical: list[ClinicalLine],
    dpi: int = 150,
    max_angle: float = 1.0,
) -> pymupdf.Document:
    """Scanned copy of ``doc``; truth items (local page indices) are updated in place."""
    out = pymupdf.open()
    for page in doc:
        angle = scan_page(page, out, rng, dpi, max_angle)
        # the scan shows the page as displayed: /Rotate is baked into the image
        shown = page.rotation_matrix
        cx, cy = page.rect.width / 2, page.rect.height / 2
        for obj in [*identifiers, *clinical]:
            if obj.page_index == page.number:
                r = pymupdf.Rect(obj.rect) * shown
                obj.rect = tuple(round(v, 2) for v in rotate_rect(tuple(r), angle, cx, cy))
    return out
