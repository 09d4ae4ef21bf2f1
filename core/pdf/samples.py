"""The samples of an image as stored (what an extractor reads), apart from how
the page shows them (``/Decode``, an ``/Indexed`` palette, a stencil mask's
fill colour, a soft mask, transparency).

An image's samples can be swapped for a flat variant — every sample zero,
every sample at its maximum, or every pixel the image's commonest pixel —
keeping its dictionary (Decode, ColorSpace, ImageMask, SMask) as it is, so
that a render shows what the page makes of the samples' variation alone.
Used by ``core.redaction.unshown``."""

from __future__ import annotations

import io
import math
import re
import zlib
from contextlib import contextmanager
from dataclasses import dataclass

import pymupdf

MODE_SAMPLE_PIXELS = 200_000  # pixels read to find the commonest one (a sample of a large image)


@dataclass(frozen=True)
class Samples:
    """Decoded samples of one image: rows of ``stride`` bytes, ``ncomp`` components of ``bpc`` bits."""

    data: bytes
    width: int
    height: int
    bpc: int
    ncomp: int

    @property
    def stride(self) -> int:
        return math.ceil(self.width * self.ncomp * self.bpc / 8)

    def varies(self) -> bool:
        """Do the pixels hold more than one value?"""
        rows = self._rows()
        if (rows != rows[0]).any():
            return True
        pixels = self._pixels(rows[:1])
        return bool((pixels != pixels[0]).any())

    def pixel(self, kind: str) -> bytes:
        """One pixel, stored as a one-pixel image: ``zero``, ``max`` or ``mode`` (the commonest pixel)."""
        size = math.ceil(self.ncomp * self.bpc / 8)
        if kind == "zero":
            return bytes(size)
        if kind == "max":
            return b"\xff" * size
        return self._packed(self._mode())

    def _rows(self):
        import numpy as np

        return np.frombuffer(self.data, dtype=np.uint8)[: self.stride * self.height].reshape(
            self.height, self.stride
        )

    def _pixels(self, rows):
        """The pixels of ``rows`` (rows of stored bytes), one row of components each (int array)."""
        import numpy as np

        if self.bpc == 8:
            return rows[:, : self.width * self.ncomp].reshape(-1, self.ncomp).astype(np.int64)
        bits = np.unpackbits(rows, axis=1)[:, : self.width * self.ncomp * self.bpc]
        weights = 1 << np.arange(self.bpc - 1, -1, -1, dtype=np.int64)
        return (bits.reshape(-1, self.bpc).astype(np.int64) @ weights).reshape(-1, self.ncomp)

    def _mode(self):
        """The commonest pixel of rows spread over the image (``MODE_SAMPLE_PIXELS`` at most)."""
        import numpy as np

        step = max(1, self.height * self.width // MODE_SAMPLE_PIXELS)
        pixels = self._pixels(self._rows()[::step])
        keys = pixels @ (1 << (self.bpc * np.arange(self.ncomp, dtype=np.int64)))
        values, counts = np.unique(keys, return_counts=True)
        return pixels[int(np.argmax(keys == values[int(counts.argmax())]))]

    def _packed(self, pixel) -> bytes:
        import numpy as np

        bits = ((np.asarray(pixel, dtype=np.int64)[:, None] >> np.arange(self.bpc - 1, -1, -1)) & 1).ravel()
        return np.packbits(bits.astype(np.uint8)).tobytes()


def samples_from(data: bytes, width: int, height: int, bpc: int, slack: int = 0) -> Samples | None:
    """``data`` read as ``width`` × ``height`` pixels of ``bpc`` bits; the number of components is what
    the length holds (1–4, 1 bit for a stencil mask), up to ``slack`` bytes more (dropped).  None when no
    count fits (JPEG 2000, damage)."""
    if width <= 0 or height <= 0 or bpc not in (1, 2, 4, 8, 16):
        return None
    for ncomp in (1, 3, 4, 2):
        size = math.ceil(width * ncomp * bpc / 8) * height
        if 0 <= len(data) - size <= slack:
            return Samples(data[:size], width, height, bpc, ncomp)
    return None


def image_samples(doc: pymupdf.Document, xref: int) -> Samples | None:
    """The decoded samples of image XObject ``xref``; None when they cannot be read as rows of pixels."""
    try:
        if doc.xref_get_key(xref, "Filter")[1].strip("[] ") == "/DCTDecode":
            return _jpeg_samples(doc.xref_stream_raw(xref))
        width, height = (_int_key(doc, xref, key) for key in ("Width", "Height"))
        mask = doc.xref_get_key(xref, "ImageMask")[1] == "true"
        bpc = 1 if mask else _int_key(doc, xref, "BitsPerComponent")
        data = doc.xref_stream(xref) or b""
    except Exception:  # a damaged size or stream (MuPDF's own error types): judged from decoded pixels
        data, width, height, bpc = b"", 0, 0, 0
    return samples_from(data, width, height, bpc) or _decoded_samples(doc, xref)


def _decoded_samples(doc: pymupdf.Document, xref: int) -> Samples | None:
    """The pixels MuPDF decodes for image ``xref`` (a JPEG 2000, whose stream holds no rows), 8 bits,
    alpha dropped: their values are what the image shows, a commonest one is still one of them."""
    try:
        pix = pymupdf.Pixmap(doc, xref)
    except (
        Exception
    ):  # no decoder reads it (MuPDF's own error types): it shows nothing, the sanitizer empties it
        return None
    if pix.alpha:
        pix = pymupdf.Pixmap(pix, 0)
    return samples_from(bytes(pix.samples), pix.width, pix.height, 8)


def _jpeg_samples(jpeg: bytes) -> Samples | None:
    """The samples of a JPEG decoded at an eighth of its size (enough to find its commonest pixel and
    whether it varies, at a fraction of a full decode)."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(jpeg))
        image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
        image.load()
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    if image.mode not in ("L", "RGB", "CMYK"):
        return None
    return samples_from(image.tobytes(), image.width, image.height, 8)


def _int_key(doc: pymupdf.Document, xref: int, key: str) -> int:
    kind, value = doc.xref_get_key(xref, key)
    if kind != "int":
        raise ValueError(key)
    return int(value)


def write_pixel(doc: pymupdf.Document, xref: int, pixel: bytes) -> None:
    """Make image XObject ``xref`` one pixel (``Samples.pixel``) drawn where it was, its dictionary
    (Decode, ColorSpace, masks) kept apart from its size and the filter's parameters."""
    doc.update_stream(xref, zlib.compress(pixel), compress=False)
    for key, value in (("Filter", "/FlateDecode"), ("DecodeParms", "null"), ("Width", "1"), ("Height", "1")):
        doc.xref_set_key(xref, key, value)
    if doc.xref_get_key(xref, "ImageMask")[1] != "true":  # a JPEG 2000 may leave its format to its data
        doc.xref_set_key(xref, "SMaskInData", "null")
        if doc.xref_get_key(xref, "BitsPerComponent")[0] == "null":
            doc.xref_set_key(xref, "BitsPerComponent", "8")
        if doc.xref_get_key(xref, "ColorSpace")[0] == "null":
            space = {1: "/DeviceGray", 3: "/DeviceRGB", 4: "/DeviceCMYK"}.get(len(pixel), "/DeviceGray")
            doc.xref_set_key(xref, "ColorSpace", space)


@contextmanager
def pixel_swapped(doc: pymupdf.Document, xref: int, pixel: bytes):
    """Image XObject ``xref`` is one pixel (:func:`write_pixel`) inside the block, what it was after."""
    m = pymupdf.mupdf
    before = doc.xref_object(xref, compressed=True)
    raw = doc.xref_stream_raw(xref)
    write_pixel(doc, xref, pixel)
    try:
        yield
    finally:
        pdf = pymupdf._as_pdf_document(doc)
        m.pdf_update_stream(pdf, m.pdf_new_indirect(pdf, xref, 0), m.fz_new_buffer_from_copied_data(raw), 1)
        doc.update_object(xref, before)


_USE = re.compile(rb"/([^\s/\[\]()<>{}%#]+)\s*(Do|scn|SCN|gs)(?![^\s/\[\]()<>{}%])")


def drawn_images(page: pymupdf.Page) -> tuple[set[int], list[int]]:
    """The image XObjects ``page`` draws, and the content streams it runs besides its own (forms,
    tiling patterns, soft-mask groups), each found by the name its content uses (``/Im1 Do``, ``/P1
    scn``, ``/GS1 gs``): an image of resources shared with other pages that this page never names is
    not this page's to judge."""
    doc = page.parent
    images: set[int] = set()
    streams: list[int] = []
    queue = [(page.read_contents(), _resources_owner(doc, page.xref))]
    while queue:
        data, owner = queue.pop()
        for match in _USE.finditer(data):
            name, op = match.group(1).decode("latin-1"), match.group(2)
            ref = _used(doc, owner, name, op)
            if not ref or ref in streams or ref in images:
                continue
            if doc.xref_get_key(ref, "Subtype")[1] == "/Image":
                images.add(ref)
            elif doc.xref_is_stream(ref):
                streams.append(ref)
                queue.append((doc.xref_stream(ref) or b"", ref))
    return images, streams


def _used(doc: pymupdf.Document, owner: int, name: str, op: bytes) -> int:
    path = {b"Do": "XObject/" + name, b"gs": f"ExtGState/{name}/SMask/G"}.get(op, "Pattern/" + name)
    try:
        kind, value = doc.xref_get_key(owner, "Resources/" + path)
    except (ValueError, RuntimeError):
        return 0
    return int(value.split()[0]) if kind == "xref" else 0


def _resources_owner(doc: pymupdf.Document, xref: int) -> int:
    """The page tree node whose ``/Resources`` page ``xref`` uses (inherited from a parent when it has none)."""
    node = xref
    for _ in range(64):
        if doc.xref_get_key(node, "Resources")[0] != "null":
            return node
        kind, value = doc.xref_get_key(node, "Parent")
        if kind != "xref":
            break
        node = int(value.split()[0])
    return xref
