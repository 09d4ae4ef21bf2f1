"""Image samples the page does not show legibly.

What an image holds and what the page makes of it can differ: a ``/Decode
[0.5 0.51]`` maps black ink on white to two greys one level apart, an
``/Indexed`` palette can give ink and ground the same colour, a stencil mask
can be filled with the colour of the page, a soft mask or an alpha can fade
an image to nothing, text can be drawn over a near-white image.  A viewer,
the detector and the leak gate see a flat tone; an extractor or a contrast
stretch reads the ink.

The test is the render itself: the image's samples are swapped for their
commonest pixel (its dictionary kept), and when no render pixel moves by more
than ``FAINT_INK`` the image's variation is too faint to read anywhere on the
page: it keeps that one pixel value everywhere (the page looks the same, within
``FAINT_INK``).  An image the page shows keeps its samples; what a clip hides
of it (a scan cropped by a clip path to leave out its name) is found by
swapping its samples for all zeros and all maxima: where neither moves the
render, nothing of the image shows, and the strips of the image outside what
shows are returned for blanking.

Inline images (``BI … ID … EI``) are held to the whole-image rule the same way,
one at a time, their data swapped in the content stream
(``core.pdf.inline``)."""

from __future__ import annotations

import pymupdf

from core.pdf.inline import inline_variant, page_inline_images
from core.pdf.samples import Samples, drawn_images, image_samples, pixel_swapped, write_pixel

CHECK_DPI = 48
FAINT_INK = 24  # per channel, of 255: an image whose ink moves no render pixel by more reads as a flat tone
TOLERANCE = 2  # per channel: a render pixel that moves by no more shows nothing of the image
MIN_STRIP = 2.0  # pt: a hidden strip narrower holds nothing readable
PAD = 2.0  # pt around what shows (render pixels at CHECK_DPI are 1.5 pt)


def flatten_unshown(page: pymupdf.Page) -> tuple[int, list[pymupdf.Rect]]:
    """Flatten the images ``page`` (unrotated) draws whose variation it does not show legibly; the
    number flattened, and the strips of shown images that nothing of them shows through (a clip)."""
    doc = page.parent
    flattened, strips = 0, []
    for xref, area in _drawn_images(page):
        samples = image_samples(doc, xref)
        if samples is None or not samples.varies():
            continue
        shown = _render(page, area)
        with pixel_swapped(doc, xref, samples.pixel("mode")):
            flat = _render(page, area)
        if flat.shape == shown.shape and _moves(shown, flat) <= FAINT_INK:
            write_pixel(doc, xref, samples.pixel("mode"))
            flattened += 1
        elif _is_base_image(doc, xref):
            strips += _hidden_strips(page, xref, samples, area, shown)
    flattened += _flatten_inline(page)
    return flattened, strips


def _drawn_images(page: pymupdf.Page) -> list[tuple[int, pymupdf.Rect]]:
    """(xref, box) of every image XObject ``page`` draws (``core.pdf.samples.drawn_images``: in its
    content, forms, tiling patterns and soft-mask groups) and of the soft and stencil masks of each.
    The box is the union, inside the page, of the places where the page draws an image of its size
    (a superset when two images share a size; MuPDF's image list reports sizes without decoding),
    the whole page where it reports none (an image in a pattern or a soft mask)."""
    doc, out, seen = page.parent, [], set()
    places: dict[tuple, pymupdf.Rect] = {}
    for info in page.get_image_info():
        rect = pymupdf.Rect(info["bbox"]) & page.rect
        if rect.is_valid and not rect.is_empty:
            size = (info["width"], info["height"])
            places[size] = places[size] | rect if size in places else rect
    for xref in sorted(drawn_images(page)[0]):
        size = tuple(doc.xref_get_key(xref, key)[1] for key in ("Width", "Height"))
        area = places.get(tuple(int(v) if v.isdigit() else v for v in size), page.rect)
        for ref in (xref, _mask_xref(doc, xref, "SMask"), _mask_xref(doc, xref, "Mask")):
            if ref and ref not in seen:
                seen.add(ref)
                out.append((ref, area))
    return out


def _mask_xref(doc: pymupdf.Document, xref: int, key: str) -> int:
    kind, value = doc.xref_get_key(xref, key)
    return int(value.split()[0]) if kind == "xref" else 0


def _is_base_image(doc: pymupdf.Document, xref: int) -> bool:
    return doc.xref_get_key(xref, "Subtype")[1] == "/Image" and doc.xref_get_key(xref, "Type")[1] != "/Mask"


def _hidden_strips(
    page: pymupdf.Page, xref: int, samples: Samples, area: pymupdf.Rect, shown
) -> list[pymupdf.Rect]:
    """Strips of ``area`` outside the part of the image that the render shows."""
    import numpy as np

    moves = np.zeros(shown.shape[:2], dtype=bool)
    for kind in ("zero", "max"):
        with pixel_swapped(page.parent, xref, samples.pixel(kind)):
            changed = _render(page, area)
        if changed.shape != shown.shape:
            return []
        moves |= (np.abs(changed - shown) > TOLERANCE).any(axis=2)
    if moves.all() or not moves.any():  # all shows; or nothing does (a cover: core.redaction.covered)
        return []
    rows, cols = np.nonzero(moves)
    scale = 72 / CHECK_DPI
    x0, y0 = area.x0 + cols.min() * scale - PAD, area.y0 + rows.min() * scale - PAD
    x1, y1 = area.x0 + (cols.max() + 1) * scale + PAD, area.y0 + (rows.max() + 1) * scale + PAD
    strips = [
        pymupdf.Rect(area.x0, area.y0, area.x1, y0),
        pymupdf.Rect(area.x0, y1, area.x1, area.y1),
        pymupdf.Rect(area.x0, max(y0, area.y0), x0, min(y1, area.y1)),
        pymupdf.Rect(x1, max(y0, area.y0), area.x1, min(y1, area.y1)),
    ]
    return [s for s in strips if s.width >= MIN_STRIP and s.height >= MIN_STRIP]


def _flatten_inline(page: pymupdf.Page) -> int:
    """Inline images of ``page`` whose variation it does not show legibly, flattened in place."""
    flattened = 0
    images = page_inline_images(page)
    if not images:
        return 0
    shown = _render(page, page.rect)
    for image in images:
        flat = image.samples and image.samples.varies() and inline_variant(image, "mode")
        if not flat:
            continue
        with image.swapped(flat):
            moved = _moves(shown, _render(page, page.rect))
        if moved <= FAINT_INK:
            image.replace(flat)
            flattened += 1
    return flattened


def _moves(a, b) -> int:
    import numpy as np

    return int(np.abs(a - b).max()) if a.size else 0


def _render(page: pymupdf.Page, area: pymupdf.Rect):
    import numpy as np

    pix = page.get_pixmap(clip=area, dpi=CHECK_DPI, colorspace=pymupdf.csRGB, alpha=False)
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3).astype(np.int16)
