"""Image pixels that an opaque box drawn later hides.

A record "redacted" earlier by drawing boxes over it (a PDF editor's black
or white rectangle over an ID-card copy, a stamp-sized white patch over a
scanned name) shows nothing there, so detection, review and the leak gate,
which all read the rendered page, see nothing either; yet the image under
the box still holds the pixels, and anyone who extracts the image reads
them.  Those pixels are blanked, the box stays: the page looks the same.

A box counts as opaque when it is a filled rectangle at full opacity and the
render of the covered part shows only its colour (this also rules out blend
modes that let the image show through, and text drawn on the box).
"""

from __future__ import annotations

import pymupdf

IMAGE_KINDS = ("fill-image", "fill-imgmask")
MIN_SIDE = 2.0  # pt: a covered strip narrower than this is no place for a readable identifier
CHECK_DPI = 48
TOLERANCE = 6  # per channel, of 255
SHOWS_ONLY = 0.995  # share of the covered render in the box's colour

IMAGE_PIXELS: int = pymupdf.PDF_REDACT_IMAGE_PIXELS  # type: ignore[attr-defined]
TEXT_NONE: int = pymupdf.PDF_REDACT_TEXT_NONE  # type: ignore[attr-defined]
LINE_ART_NONE: int = pymupdf.PDF_REDACT_LINE_ART_NONE  # type: ignore[attr-defined]


def blank_covered_pixels(page: pymupdf.Page, bboxlog: list | None = None) -> int:
    """Blank the image pixels under opaque boxes drawn after the image on
    ``page`` (unrotated); the number of areas blanked."""
    areas = covered_areas(page, bboxlog if bboxlog is not None else page.get_bboxlog())
    for area in areas:
        page.add_redact_annot(area, fill=False, cross_out=False)  # type: ignore[arg-type]  # False: no fill at all
    if areas:
        page.apply_redactions(images=IMAGE_PIXELS, graphics=LINE_ART_NONE, text=TEXT_NONE)
    return len(areas)


def covered_areas(page: pymupdf.Page, bboxlog: list) -> list[pymupdf.Rect]:
    """Parts of images that a later opaque box hides, each shrunk by one
    image pixel so that no pixel the page still shows is touched."""
    later = _boxes_after_images(bboxlog)
    if not later:
        return []
    boxes = {_key(d["rect"]): d for d in page.get_drawings() if _is_opaque_box(d)}
    images = _image_pixel_sizes(page)
    areas = []
    for image_rect, box_rect in later:
        box = boxes.get(_key(box_rect))
        pixel = images.get(_key(image_rect))
        if box is None or pixel is None:
            continue
        area = _shrunk(image_rect & box_rect, pixel)
        if area.width >= MIN_SIDE and area.height >= MIN_SIDE and _shows_only(page, area, box["fill"]):
            areas.append(area)
    return areas


def _boxes_after_images(bboxlog: list) -> list[tuple[pymupdf.Rect, pymupdf.Rect]]:
    """(image, filled path drawn after it that overlaps it), from the page's bounding-box log."""
    pairs, images = [], []
    for kind, rect in bboxlog:
        if kind in IMAGE_KINDS:
            images.append(pymupdf.Rect(rect))
        elif kind == "fill-path" and images:
            box = pymupdf.Rect(rect)
            pairs += [(image, box) for image in images if (image & box).get_area() > 0]
    return pairs


def _is_opaque_box(drawing: dict) -> bool:
    return (
        drawing.get("fill") is not None
        and (drawing.get("fill_opacity") or 1.0) >= 0.999
        and bool(drawing["items"])
        and all(item[0] == "re" for item in drawing["items"])
    )


def _image_pixel_sizes(page: pymupdf.Page) -> dict[tuple, float]:
    """The size in points of one pixel of each image placement, by its box."""
    sizes = {}
    for info in page.get_image_info():
        rect, width, height = pymupdf.Rect(info["bbox"]), info.get("width") or 1, info.get("height") or 1
        sizes[_key(rect)] = max(rect.width / width, rect.height / height)
    return sizes


def _key(rect) -> tuple:
    return tuple(round(v, 1) for v in rect)


def _shrunk(rect: pymupdf.Rect, by: float) -> pymupdf.Rect:
    pad = by + 0.5
    return pymupdf.Rect(rect.x0 + pad, rect.y0 + pad, rect.x1 - pad, rect.y1 - pad)


def _shows_only(page: pymupdf.Page, area: pymupdf.Rect, colour) -> bool:
    import numpy as np

    pix = page.get_pixmap(clip=area, dpi=CHECK_DPI, colorspace=pymupdf.csRGB, alpha=False)
    if not pix.width or not pix.height:
        return False
    rgb = tuple(colour) * 3 if len(colour) == 1 else tuple(colour)
    if len(rgb) != 3:  # an unexpected colour form: not judged opaque
        return False
    want = np.array([round(c * 255) for c in rgb], dtype=np.int16)
    pixels = np.frombuffer(pix.samples, dtype=np.uint8).reshape(-1, 3).astype(np.int16)
    same = (np.abs(pixels - want) <= TOLERANCE).all(axis=1)
    return bool(same.mean() >= SHOWS_ONLY)
