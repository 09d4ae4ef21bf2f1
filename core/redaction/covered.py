"""Image pixels that content drawn later hides.

A record "redacted" earlier by drawing over it (a PDF editor's black or
white rectangle over an ID-card copy, a white patch image over a scanned
name) shows nothing there, so detection, review and the leak gate, which all
read the rendered page, see nothing either; yet the image under the cover
still holds the pixels, and anyone who extracts the image reads them.  Those
pixels are blanked, the cover stays: the page looks the same.

A part of an image counts as hidden when the render of that part does not
change with the image's pixels: on a copy of the page the image is replaced
by black, then by white, and all three renders agree.  This holds for any
cover (a filled path, an opaque image, several of them) and rules out covers
the image shows through (transparency, a multiply blend).

An image that shows nothing of what it holds goes the same way, whole: one
drawn thinner than ``MIN_SIDE`` (a text image squeezed into a dot), and, on
a page of a file that uses transparency (a fill or stroke alpha, a soft
mask, a blend mode), one whose every pixel moves the render by no more than
``FAINT`` when the image turns black or white (drawn at 1 % opacity).
Nobody reads them on the page, so detection and the leak gate cannot either.

Inline images (``BI … ID … EI`` in a content stream) are held to the same
rules: they have no xref to swap, so on a copy of the page every inline image
is swapped for a black, then a white pixel (``core.pdf.inline``); an inline
image MuPDF does not describe counts as dense, and one that moves no render
pixel by more than ``FAINT`` goes whatever the file's transparency.
"""

from __future__ import annotations

import math
import re

import pymupdf

from core.pdf.inline import replace_inline_images, solid_inline_image
from core.redaction.unshown import flatten_unshown

IMAGE_KINDS = ("fill-image", "fill-imgmask")
COVER_KINDS = ("fill-path", "fill-image", "fill-shade")
MIN_SIDE = 2.0  # pt: a covered strip narrower than this is no place for a readable identifier
CHECK_DPI = 48
TOLERANCE = 2  # per channel, of 255
DENSE = 64  # pixels per square point (8 per point, 576 dpi): a thin image holding more hides them
FAINT = 6  # per channel, of 255: an image that moves no render pixel by more shows nothing readable
_SEE_THROUGH = re.compile(
    rb"/(?:ca|CA)\s*(?:0*\.|0(?![\d.]))|/SMask\s*(?:\d|<<)|/BM\s*/(?!Normal|Compatible)"
)

IMAGE_PIXELS: int = pymupdf.PDF_REDACT_IMAGE_PIXELS  # type: ignore[attr-defined]
TEXT_NONE: int = pymupdf.PDF_REDACT_TEXT_NONE  # type: ignore[attr-defined]
LINE_ART_NONE: int = pymupdf.PDF_REDACT_LINE_ART_NONE  # type: ignore[attr-defined]


def blank_covered_pixels(page: pymupdf.Page, bboxlog: list | None = None) -> int:
    """Blank the image pixels that content drawn later hides on ``page``
    (unrotated); the number of areas blanked."""
    bboxlog = bboxlog if bboxlog is not None else page.get_bboxlog()
    inline = inline_image_boxes(page, bboxlog)
    areas = covered_areas(page, bboxlog, inline) + unseen_images(page, bboxlog, inline)
    _blank_areas(page, areas)
    flattened, strips = flatten_unshown(page)
    strips = [s for s in strips if not any(_mostly_inside(s, area) for area in areas)]  # blanked already
    _blank_areas(page, strips)
    return len(areas) + flattened + len(strips)


def _mostly_inside(inner: pymupdf.Rect, outer: pymupdf.Rect) -> bool:
    return (inner & outer).get_area() >= 0.8 * inner.get_area()


def _blank_areas(page: pymupdf.Page, areas: list[pymupdf.Rect]) -> None:
    for area in areas:
        page.add_redact_annot(area, fill=False, cross_out=False)  # type: ignore[arg-type]  # False: no fill
    if areas:
        page.apply_redactions(images=IMAGE_PIXELS, graphics=LINE_ART_NONE, text=TEXT_NONE)


def covered_areas(
    page: pymupdf.Page, bboxlog: list, inline: frozenset[tuple] | set[tuple] = frozenset()
) -> list[pymupdf.Rect]:
    """Parts of images that later content hides, each shrunk by one image
    pixel so that no pixel the page still shows is touched.  ``inline``: the
    boxes of the page's inline images (:func:`inline_image_boxes`)."""
    covers = _covers_after_images(bboxlog)
    if not covers:
        return []
    images = {_key(i["bbox"]): i for i in page.get_image_info(xrefs=True)}
    copy = _PaintCopy(page)
    inline_copy = _PaintCopy(page) if inline else copy
    areas = []
    for key, boxes in covers.items():
        info = images.get(key)
        if info is None or not (info.get("xref") or key in inline):
            continue
        image_rect = pymupdf.Rect(info["bbox"])
        pixel = max(
            image_rect.width / (info.get("width") or 1), image_rect.height / (info.get("height") or 1)
        )
        wanted = [a for a in (_shrunk(image_rect & box, pixel) for box in boxes) if _big_enough(a)]
        is_inline = not info.get("xref")
        found = (
            _hidden_pixels(page, inline_copy if is_inline else copy, image_rect, inline=is_inline)
            if wanted
            else None
        )
        if found is not None:
            hidden, origin = found
            areas += [a for a in wanted if _all_hidden(hidden, origin, a)]
    return areas


def unseen_images(
    page: pymupdf.Page, bboxlog: list, inline: frozenset[tuple] | set[tuple] = frozenset()
) -> list[pymupdf.Rect]:
    """Boxes of the images ``page`` draws that show nothing of their pixels: thinner than
    ``MIN_SIDE``, or changing no render pixel by more than ``FAINT`` (an image XObject in a file
    with transparency, any inline image: ``inline`` holds their boxes, :func:`inline_image_boxes`)."""
    drawn = [pymupdf.Rect(rect) for kind, rect in bboxlog if kind in IMAGE_KINDS]
    drawn = [r for r in drawn if r.is_valid and not r.is_infinite]
    look = _Look(page)
    thin = [r for r in drawn if not _big_enough(r) and _dense(look, r, _key(r) in inline)]
    faint = []
    transparency = _uses_transparency(page.parent)
    big = [r for r in drawn if _big_enough(r) and (transparency or _key(r) in inline)]
    copy = _PaintCopy(page) if big else None
    inline_copy = _PaintCopy(page) if inline and big else copy
    for rect in big:
        is_inline = _key(rect) in inline
        target = inline_copy if is_inline else copy
        assert target is not None  # made when there is a big image
        found = _hidden_pixels(look, target, rect, FAINT, inline=is_inline, whole_only=True)
        if found is not None and found[0].all():
            faint.append(rect)
    faint += [r for r in drawn if _big_enough(r) and r not in faint and _shows_flat(look, r)]
    return [pymupdf.Rect(r.x0 - 0.01, r.y0 - 0.01, r.x1 + 0.01, r.y1 + 0.01) for r in thin + faint]


class _Look:
    """Renders and image xrefs of a page that does not change while it is looked at (the page being
    checked, never its copy), each made once."""

    def __init__(self, page: pymupdf.Page):
        self.page = page
        self._renders: dict[tuple, tuple] = {}
        self._xrefs: dict[tuple, int] | None = None

    def render(self, rect: pymupdf.Rect):
        key = (rect.x0, rect.y0, rect.x1, rect.y1)
        if key not in self._renders:
            self._renders[key] = _render(self.page, rect)
        return self._renders[key]

    def xref_at(self, rect: pymupdf.Rect) -> int:
        if self._xrefs is None:
            self._xrefs = _image_xrefs(self.page)
        return self._xrefs.get(_key(rect), 0)


def _shows_flat(look: "_Look", rect: pymupdf.Rect) -> bool:
    """Is the image XObject drawn at ``rect`` shown near white (no render pixel below 255 - ``FAINT``:
    blanking it leaves the page as it looks) while its pixels are not all one value?  Ink at 251 of 255, or black ink under a
    ``/Decode [0.98 1]``: nobody reads it on the page, a contrast stretch or the raw samples do."""
    xref = look.xref_at(rect)
    if not xref:
        return False
    shown, _ = look.render(rect)
    if shown.min() < 255 - FAINT:  # not near white: a flat colour patch, shown, stays
        return False
    try:
        pix = pymupdf.Pixmap(look.page.parent, xref)
    except Exception:  # no decoder reads it: the sanitizer empties it
        return False
    samples = pix.samples_mv if pix.n - pix.alpha else b""
    return bool(samples) and max(samples) != min(samples)


def _dense(look: "_Look", rect: pymupdf.Rect, inline: bool = False) -> bool:
    """Does the image drawn at ``rect`` hold more than ``DENSE`` pixels per square point (more than the
    page can show; a rule drawn as a thin image holds a few)?  An inline image whose size MuPDF does
    not report (drawn under an alpha) counts as dense (fail closed)."""
    page = look.page
    if inline:
        sizes = [(i["width"], i["height"]) for i in page.get_image_info() if _key(i["bbox"]) == _key(rect)]
        if not sizes:
            return True
        width, height = max(sizes, key=lambda size: size[0] * size[1])
        return width * height > DENSE * max(rect.width * rect.height, 1e-6)
    xref = look.xref_at(rect)
    if not xref:
        return False
    try:
        width, height = (int(page.parent.xref_get_key(xref, key)[1]) for key in ("Width", "Height"))
    except ValueError:  # an indirect or damaged size: treated as dense (fail closed)
        return True
    pixels = width * height
    return pixels > DENSE * max(rect.width * rect.height, 1e-6)


def inline_image_boxes(page: pymupdf.Page, bboxlog: list) -> set[tuple]:
    """Boxes (:func:`_key`) of the images ``page`` draws inline: those that go from the bounding-box
    log when a copy of the page loses its inline images."""
    if not any(kind in IMAGE_KINDS for kind, _ in bboxlog):
        return set()
    copy = _page_copy(page)
    if not replace_inline_images(copy, b" "):
        return set()
    remaining: dict[tuple, int] = {}
    for kind, rect in copy[0].get_bboxlog():
        if kind in IMAGE_KINDS:
            remaining[_key(rect)] = remaining.get(_key(rect), 0) + 1
    inline = set()
    for kind, rect in bboxlog:
        if kind in IMAGE_KINDS:
            key = _key(rect)
            if remaining.get(key, 0) > 0:
                remaining[key] -= 1
            else:
                inline.add(key)
    return inline


def _page_copy(page: pymupdf.Page) -> pymupdf.Document:
    copy = pymupdf.open()
    copy.insert_pdf(page.parent, from_page=page.number, to_page=page.number)
    return copy


class _PaintCopy:
    """A copy of a page whose images are painted one solid colour in turn, with the xref of the image at
    each box read before any paint.  Read later, MuPDF's image info matches images by their pixels, so
    once one image is a solid pixel another box could name it, or a temporary image a replacement has
    since deleted."""

    def __init__(self, page: pymupdf.Page):
        self.doc = _page_copy(page)
        self._xrefs: dict[tuple, int] | None = None

    def xref_at(self, rect: pymupdf.Rect) -> int:
        if self._xrefs is None:  # before the first paint: every image box of the page at once
            self._xrefs = _image_xrefs(self.doc[0])
        return self._xrefs.get(_key(rect), 0)


def _image_xrefs(page: pymupdf.Page) -> dict[tuple, int]:
    """The xref of the image XObject ``page`` draws at each image box (:func:`_key`; none for an inline
    image).  MuPDF's image info leaves out images drawn with an alpha below 1, its image boxes do not."""
    found: dict[tuple, int] = {}
    for info in page.get_image_info(xrefs=True):  # the first image at a box, as it was looked up one by one
        if info.get("xref"):
            found.setdefault(_key(info["bbox"]), info["xref"])
    for item in page.get_images(full=True):
        try:
            found.setdefault(_key(page.get_image_bbox(item)), item[0])
        except (ValueError, RuntimeError):
            continue
    return found


def _uses_transparency(doc: pymupdf.Document) -> bool:
    """Does any object of ``doc`` set an alpha below 1, a soft mask or a blend mode?  (Cached.)"""
    cached = getattr(doc, "_deid_transparency", None)
    if cached is None:
        text = "\n".join(doc.xref_object(x, compressed=True) for x in range(1, doc.xref_length()))
        cached = bool(_SEE_THROUGH.search(text.encode("latin-1", "replace")))
        doc._deid_transparency = cached  # type: ignore[attr-defined]
    return cached


def _covers_after_images(bboxlog: list) -> dict[tuple, list[pymupdf.Rect]]:
    """Content drawn after an image that overlaps it, by the image's box (bounding-box log order)."""
    covers: dict[tuple, list[pymupdf.Rect]] = {}
    images: list[pymupdf.Rect] = []
    for kind, rect in bboxlog:
        box = pymupdf.Rect(rect)
        if kind in COVER_KINDS:
            for image in images:
                if (image & box).get_area() > 0:
                    covers.setdefault(_key(image), []).append(box)
        if kind in IMAGE_KINDS:
            images.append(box)
    return covers


def _key(rect) -> tuple:
    return tuple(round(v, 1) for v in rect)


def _shrunk(rect: pymupdf.Rect, by: float) -> pymupdf.Rect:
    pad = by + 0.5
    return pymupdf.Rect(rect.x0 + pad, rect.y0 + pad, rect.x1 - pad, rect.y1 - pad)


def _big_enough(area: pymupdf.Rect) -> bool:
    return area.width >= MIN_SIDE and area.height >= MIN_SIDE


def _hidden_pixels(
    page: "pymupdf.Page | _Look",
    copy: "_PaintCopy",
    image_rect: pymupdf.Rect,
    tolerance: int = TOLERANCE,
    inline: bool = False,
    whole_only: bool = False,
):
    """Over the image's box (rendered at ``CHECK_DPI``): where the render stays what ``page`` shows
    when the image turns black, then white, on ``copy`` (a copy of the page), with the device pixel of its
    top left corner; None when unsure.  ``inline``: the image is an inline one, and every inline image
    of ``copy`` turns black, then white.  The image (every inline image) is left white on ``copy``.

    ``whole_only``: the caller only asks whether every pixel is hidden, so white comes first and black is
    skipped when white already shows a change (an image that shows: one render and one swap fewer); the
    mask returned then need not be complete.  The renders each colour is judged by are those of the full
    check: earlier images of the page are white on ``copy`` either way."""
    import numpy as np

    look = page if isinstance(page, _Look) else _Look(page)
    shown, origin = look.render(image_rect)
    hidden = np.ones(shown.shape[:2], dtype=bool)
    target = 0 if inline else copy.xref_at(image_rect)
    if not target and not inline:
        return None
    value = 255
    for value in (255, 0) if whole_only else (0, 255):
        if not _paint(copy.doc, target, value, inline):
            return None
        changed, at = _render(copy.doc[0], image_rect)
        if changed.shape != shown.shape or at != origin:
            return None
        hidden &= (np.abs(changed - shown) <= tolerance).all(axis=2)
        if whole_only and not hidden.all():
            break
    if value != 255 and not _paint(copy.doc, target, 255, inline):  # left white, as the full check leaves it
        return None
    return hidden, origin


def _paint(copy: pymupdf.Document, xref: int, value: int, inline: bool) -> bool:
    """Image ``xref`` (``inline``: every inline image) of ``copy``'s page made one solid pixel of grey
    ``value``; False when the inline images cannot be replaced."""
    if inline:
        return bool(replace_inline_images(copy, solid_inline_image(value)))
    if not copy.xref_is_image(xref):  # unsure what the box shows: no finding from it
        return False
    solid = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 1, 1), False)
    solid.set_rect(solid.irect, (value, value, value))
    copy[0].replace_image(xref, pixmap=solid)
    return True


def _all_hidden(hidden, origin: tuple[int, int], area: pymupdf.Rect) -> bool:
    """Is every render pixel inside ``area`` hidden?  ``origin``: the device pixel of ``hidden[0, 0]``."""
    scale = CHECK_DPI / 72
    x0, y0 = math.ceil(area.x0 * scale) - origin[0], math.ceil(area.y0 * scale) - origin[1]
    x1, y1 = math.floor(area.x1 * scale) - origin[0], math.floor(area.y1 * scale) - origin[1]
    block = hidden[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
    return bool(block.size) and bool(block.all())


def _render(page: pymupdf.Page, area: pymupdf.Rect):
    """The render of ``area`` as an int16 array, and the device pixel of its top left corner."""
    import numpy as np

    pix = page.get_pixmap(clip=area, dpi=CHECK_DPI, colorspace=pymupdf.csRGB, alpha=False)
    array = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3).astype(np.int16)
    return array, (pix.x, pix.y)
