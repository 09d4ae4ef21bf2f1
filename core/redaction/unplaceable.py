"""Remove what nobody can see on the page but every extractor and the raw
file still hold, before the plan's boxes are applied (``core.redaction.apply``).

The detector reads text where it is drawn and cannot judge these, so they
are not judged: they are removed whole, on every path (CLI, review
preview, export).

- *Unplaceable glyphs*: the matrix that maps a glyph onto the page (text
  rendering matrix times CTM, forms included) is not finite, is singular
  or squashes it thinner than ``MIN_GLYPH`` points (``0 0 0 0 0 0 cm``, a
  rank-one ``1 1 1 1 0 0 cm``, ``0 Tf``, ``0 Tz``, ``0 0 0 0 x y Tm``), or
  blows it up beyond ``MAX_GLYPH_PAGES`` page sizes.
- *Clipped-away glyphs*: those a clip (``W n``, text render mode 7, a
  form's /BBox) hides whole, found as the glyphs MuPDF extracts only when
  it ignores the clip, removed by place and character.  A form whose
  /BBox has no area is emptied.
- *Far content*: glyphs, paths, images and shadings wholly outside the
  visible area, when the page draws anything beyond ``REACH`` (the
  redaction strips of ``keep_visible_only`` cover what is nearer; MuPDF's
  redaction rectangles cannot be infinite and lose precision far out).
- *Unreachable text*: strings shown in streams no redaction box reaches
  (tiling patterns, Type3 glyph procedures, soft-mask groups) are emptied
  (:func:`drop_unreachable_text`).

Glyphs and far content go through MuPDF's content filter (the one the
redaction runs) with a Python callback, ~3 µs a glyph, so a page is
filtered only when a cheap check says it may need it
(:meth:`UnplaceableText.checks`): a text object whose box MuPDF reports as
empty or not finite, anything drawn beyond ``REACH``, a clip operator or
a form, or a content operator (``cm``, ``Tm``, ``Tf``, ``Tz``, a form
``/Matrix``) whose own matrix is singular, tiny, huge or not finite (a
product of regular matrices is regular, so singular text needs one such
operator, or so many small scales that its box collapses, which the box
check sees).
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter

import pymupdf

from core.pdf.sanitize import inline_image_end

REACH = 1e6  # points from the origin that the redaction strips of keep_visible_only reach
MIN_GLYPH = 0.05  # points: thinner than this no glyph can be seen
MAX_GLYPH_PAGES = 4.0  # a glyph larger than four pages shows no readable shape
TINY = 1e-3  # an operator's own scale below this (or a determinant below TINY * scale**2) flags the page
HUGE = 5e3  # ... and so does one above this

_NUM = rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_MATRIX_OPS = re.compile(rb"(?<![A-Za-z0-9_.'\"*])(cm|Tm|Tf|Tz)(?![A-Za-z0-9_])")
_MATRIX = re.compile(
    rb"/Matrix\s*\[\s*(" + _NUM + rb")\s+(" + _NUM + rb")\s+(" + _NUM + rb")\s+(" + _NUM + rb")"
)
_CLIP = re.compile(rb"(?<![\w*])W\*?\s*n(?!\w)|(?<![\w.])7\s+Tr(?!\w)")
_NO_CLIP = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_PRESERVE_LIGATURES
_BOX_OPS = ("fill-text", "stroke-text", "clip-text", "clip-stroke-text", "ignore-text")


def _suspect_matrix(a: float, b: float, c: float, d: float) -> bool:
    values = (a, b, c, d)
    if not all(math.isfinite(v) for v in values):
        return True
    scale = max(abs(v) for v in values)
    return scale < TINY or scale > HUGE or abs(a * d - b * c) < TINY * scale * scale


def _operands(data: bytes, end: int, n: int) -> list[float] | None:
    """The ``n`` numbers before offset ``end`` (None when they are not numbers)."""
    tokens = data[max(0, end - 48 * n) : end].split()
    if len(tokens) < n:
        return None
    try:
        return [float(t) for t in tokens[-n:]]
    except ValueError:
        return None


def _suspect_stream(data: bytes) -> bool:
    """Does a content stream hold a ``cm``/``Tm`` whose own matrix is
    singular, tiny, huge or not finite, or a ``Tf``/``Tz`` of about 0?"""
    for m in _MATRIX_OPS.finditer(data):
        if m.group(1) in (b"cm", b"Tm"):
            six = _operands(data, m.start(), 6)
            if six and _suspect_matrix(*six[:4]):
                return True
        else:
            one = _operands(data, m.start(), 1)
            if one and not TINY <= abs(one[0]) <= HUGE:  # (NaN fails too)
                return True
    return False


def _is_form(doc: pymupdf.Document, xref: int) -> bool:
    try:
        return doc.xref_is_stream(xref) and doc.xref_get_key(xref, "Subtype")[1] == "/Form"
    except Exception:  # a free or broken object holds no content
        return False


class UnplaceableText:
    """Removal of unplaceable text, page by page, for one document: the
    forms of the file are looked at once (degenerate ones emptied)."""

    def __init__(self, doc: pymupdf.Document):
        self.doc = doc
        self.bboxlog: list | None = None  # the last page's bounding-box log while that page is unchanged
        self.forms_suspect = False
        self.has_forms = False  # a form's /BBox clips what it draws
        self.emptied = 0  # streams emptied here: forms with no area, and those no redaction reaches
        for xref in range(1, doc.xref_length()):
            if not _is_form(doc, xref):
                continue
            self.has_forms = True
            try:
                self.emptied += self._empty_if_degenerate(xref)
                if not self.forms_suspect:
                    self.forms_suspect = self._suspect_form(xref)
            except Exception:  # a form MuPDF cannot read: every page is filtered glyph by glyph
                self.forms_suspect = True
        self.emptied += drop_unreachable_text(doc)

    def _empty_if_degenerate(self, xref: int) -> bool:
        """A form whose /BBox has no area shows nothing anywhere: emptied (True when it was)."""
        kind, value = self.doc.xref_get_key(xref, "BBox")
        if kind != "array":
            return False
        try:
            x0, y0, x1, y1 = (float(v) for v in value.strip("[] ").split())
        except ValueError:
            return False
        if (abs(x1 - x0) < MIN_GLYPH or abs(y1 - y0) < MIN_GLYPH) and (
            self.doc.xref_stream(xref) or b""
        ).strip():
            self.doc.update_stream(xref, b" ")
            return True
        return False

    def _suspect_form(self, xref: int) -> bool:
        kind, value = self.doc.xref_get_key(xref, "Matrix")
        if kind == "array":
            m = _MATRIX.search(b"/Matrix" + value.encode("latin-1", "replace"))
            if m and _suspect_matrix(*(float(g) for g in m.groups())):
                return True
        return _suspect_stream(self.doc.xref_stream(xref) or b"")

    def checks(self, page_index: int) -> tuple[bool, bool, bool]:
        """Cheap checks of page ``page_index``: (may it draw text that cannot
        be placed, does it draw anything beyond ``REACH``, may it clip text
        away: a clip operator or a form)."""
        page = self.doc[page_index]
        glyphs, far = self.forms_suspect, False
        self.bboxlog = page.get_bboxlog()
        for kind, (x0, y0, x1, y1) in self.bboxlog:
            finite = math.isfinite(x0 + y0 + x1 + y1)
            if kind in _BOX_OPS and not (finite and x1 - x0 >= MIN_GLYPH and y1 - y0 >= MIN_GLYPH):
                glyphs = True  # a text object without width or height, or not finite
            if not (finite and x0 >= -REACH and y0 >= -REACH and x1 <= REACH and y1 <= REACH) and not (
                x1 <= x0 or y1 <= y0
            ):
                far = True  # drawn beyond REACH, or not finite
        streams = [self.doc.xref_stream(x) or b"" for x in page.get_contents()]
        if not glyphs:
            glyphs = any(_suspect_stream(data) for data in streams)
        clips = self.has_forms or any(_CLIP.search(data) for data in streams)
        return glyphs, far, clips

    def remove(self, page_index: int) -> int:
        """Remove the unplaceable glyphs of page ``page_index`` (and of the
        forms it draws, instanced for the page), the glyphs a clip hides
        whole, and what it draws beyond ``REACH``; the number removed."""
        glyphs, far, clips = self.checks(page_index)
        removed = _filter_page(self.doc, page_index, glyphs, far, clips) if glyphs or far or clips else 0
        if removed:
            self.bboxlog = None  # the page changed
        return removed


def _origins(page: pymupdf.Page, flags: int) -> Counter:
    out: Counter = Counter()
    for block in page.get_text("rawdict", flags=flags).get("blocks", []):
        for line in block.get("lines", []):
            for span in line.get("spans", []):
                for ch in span.get("chars", []):
                    out[(ch["origin"], ch["c"])] += 1
    return out


def clipped_origins(page: pymupdf.Page) -> Counter:
    """(origin in page space, character) of the glyphs a clip hides whole: those MuPDF
    extracts only when it ignores the clip (the detector's extraction,
    ``core.pdf.text``, keeps to the clip and never sees them)."""
    return _origins(page, _NO_CLIP) - _origins(page, _NO_CLIP | pymupdf.TEXT_CLIP)


def _unplaceable(trm, ctm, bbox, extent: float) -> bool:
    """Is the glyph of text matrix ``trm`` under ``ctm`` (glyph box ``bbox``
    in glyph space; MuPDF's fz_matrix and fz_rect) too thin, too large or
    not finite on the page?"""
    a = trm.a * ctm.a + trm.b * ctm.c
    b = trm.a * ctm.b + trm.b * ctm.d
    c = trm.c * ctm.a + trm.d * ctm.c
    d = trm.c * ctm.b + trm.d * ctm.d
    w, h = bbox.x1 - bbox.x0, bbox.y1 - bbox.y0
    if not (w > 0 and h > 0 and w < math.inf and h < math.inf):
        w = h = 1.0  # a glyph without ink (a space): judge its em square
    ux, uy, vx, vy = a * w, b * w, c * h, d * h  # the glyph box's sides on the page
    longest = max(math.hypot(ux, uy), math.hypot(vx, vy))
    if not longest <= extent:  # too large, or not finite (NaN compares false)
        return True
    return longest == 0 or abs(ux * vy - uy * vx) / longest < MIN_GLYPH


_CLIPS = {getattr(pymupdf.mupdf, n) for n in dir(pymupdf.mupdf) if n.startswith("FZ_CULL_CLIP_PATH")}


class _Filter(pymupdf.mupdf.PdfSanitizeFilterOptions2):
    """MuPDF's sanitize filter with a glyph test (``glyphs``) and a culler
    of what lies wholly outside the visible area (``far``)."""

    def __init__(self, extent: float, visible: tuple, glyphs: bool, far: bool, hidden: dict | None = None):
        super().__init__()
        self.hidden = (
            hidden or {}
        )  # rounded PDF-space origin -> Counter of the characters a clip hides whole there
        if glyphs or self.hidden:
            self.use_virtual_text_filter()
        if far:
            self.use_virtual_culler()
        self.extent = extent
        self.x0, self.y0, self.x1, self.y1 = visible  # PDF coordinates of the visible area, grown by a point
        self.removed = 0

    def culler(self, ctx, bbox, kind):
        """Drop a glyph, path, image or shading wholly outside the visible
        area (never a clip: dropping one would show what it hides)."""
        if kind in _CLIPS:
            return 0
        if bbox.x1 >= self.x0 and bbox.x0 <= self.x1 and bbox.y1 >= self.y0 and bbox.y0 <= self.y1:
            return 0  # (a NaN coordinate fails these tests: dropped)
        self.removed += 1
        return 1

    def text_filter(self, ctx, ucsbuf, ucslen, trm, ctm, bbox, tr, ca, CA):  # MuPDF's argument names
        if _unplaceable(trm, ctm, bbox, self.extent) or (
            self.hidden and self._hidden(trm, ctm, ucsbuf, ucslen)
        ):
            self.removed += 1
            return 1
        return 0

    def _hidden(self, trm, ctm, ucsbuf, ucslen: int) -> bool:
        """Is this glyph one that a clip hides whole (same place, same character)?"""
        x = trm.e * ctm.a + trm.f * ctm.c + ctm.e
        y = trm.e * ctm.b + trm.f * ctm.d + ctm.f
        ch = None
        for dx in (0.0, -0.1, 0.1):
            for dy in (0.0, -0.1, 0.1):
                key = (round(x + dx, 1), round(y + dy, 1))
                if key not in self.hidden:
                    continue
                if ch is None:
                    ch = _first_char(ucsbuf, ucslen)
                if self.hidden[key].get(ch, 0) > 0:
                    self.hidden[key][ch] -= 1
                    return True
        return False


def _first_char(ucsbuf, ucslen: int) -> str:
    """The first character MuPDF maps the glyph to ('' when none)."""
    if ucslen < 1:
        return ""
    code = int.from_bytes(
        bytes(pymupdf.mupdf.python_memoryview_from_memory(ucsbuf, 4, 0)), sys.byteorder, signed=True
    )
    return chr(code) if 0 < code <= 0x10FFFF else ""


def _filter_page(doc: pymupdf.Document, page_index: int, glyphs: bool, far: bool, clips: bool = False) -> int:
    page = doc[page_index]
    rotation = page.rotation
    if rotation:  # the matrix below is only PDF space -> page space unrotated
        doc.xref_set_key(page.xref, "Rotate", "0")
        page = doc[page_index]
    to_pdf = ~page.transformation_matrix
    visible = page.rect * to_pdf  # PDF coordinates of what is shown
    visible.normalize()
    hidden: dict[tuple, Counter] = {}
    if clips:
        for ((x, y), ch), n in clipped_origins(page).items():
            point = pymupdf.Point(x, y) * to_pdf
            hidden.setdefault((round(point.x, 1), round(point.y, 1)), Counter())[ch] += n
    if rotation:
        doc.xref_set_key(page.xref, "Rotate", str(rotation))
        page = doc[page_index]
    if not (glyphs or far or hidden):
        return 0
    sopts = _Filter(
        MAX_GLYPH_PAGES * max(page.mediabox.width, page.mediabox.height, 1.0),
        (visible.x0 - 1, visible.y0 - 1, visible.x1 + 1, visible.y1 + 1),
        glyphs,
        far,
        hidden,
    )
    opts = pymupdf.mupdf.PdfFilterOptions()
    opts.recurse = 1
    opts.instance_forms = 1
    opts.ascii = 1

    class _Factory(pymupdf.mupdf.PdfFilterFactory2):
        def __init__(self):
            super().__init__()
            self.use_virtual_filter()

        def filter(self, ctx, pdf, chain, struct_parents, transform, options):
            return pymupdf.mupdf.ll_pdf_new_sanitize_filter(
                pdf, chain, struct_parents, transform, options, sopts.internal()
            )

    factory = _Factory()
    opts.add_factory(factory.internal())
    m = pymupdf.mupdf
    pdf = m.pdf_document_from_fz_document(doc.this)
    pdf_page = page.this if isinstance(page.this, m.PdfPage) else m.pdf_page_from_fz_page(page.this)
    m.pdf_filter_page_contents(pdf, pdf_page, opts)
    return sopts.removed


# ------------------------------------------------ text the redaction cannot reach
_SHOWS = re.compile(rb"T[jJ]|['\"]")
_REF = re.compile(r"(\d+)\s+0\s+R")
_SHOW_OPS = {"Tj": b"() Tj", "TJ": b"[] TJ", "'": b"() '", '"': b'0 0 () "'}


def unreachable_streams(doc: pymupdf.Document) -> set[int]:
    """Content streams that no redaction box reaches: tiling patterns,
    Type3 glyph procedures and soft-mask groups (MuPDF's redaction filters
    page content and the forms it draws, not these)."""
    out: set[int] = set()
    for xref in range(1, doc.xref_length()):
        try:
            if doc.xref_is_stream(xref) and doc.xref_get_key(xref, "PatternType")[1] == "1":
                out.add(xref)
                continue
            kind, value = doc.xref_get_key(xref, "SMask")
            if kind == "dict":
                out.update(int(n) for n in re.findall(r"/G\s+(\d+)\s+0\s+R", value))
            if doc.xref_get_key(xref, "Subtype")[1] == "/Type3":
                kind, value = doc.xref_get_key(xref, "CharProcs")
                if kind == "xref":
                    value = doc.xref_object(int(value.split()[0]), compressed=True)
                out.update(int(n) for n in _REF.findall(value))
        except Exception:  # a free or broken object
            continue
    return {x for x in out if 0 < x < doc.xref_length()}


def drop_unreachable_text(doc: pymupdf.Document) -> int:
    """Empty every string that a text operator shows in a stream the
    redaction cannot reach (:func:`unreachable_streams`): the detector
    does not read such text where it is drawn, so none of it is kept.
    The number of streams changed."""
    changed = 0
    for xref in unreachable_streams(doc):
        try:
            data = doc.xref_stream(xref) or b""
        except Exception:
            continue
        if _SHOWS.search(data):
            fixed = drop_text_shows(data)
            if fixed != data:
                try:
                    doc.update_stream(xref, fixed)
                except Exception:  # cannot be rewritten: nothing of it is kept
                    doc.update_stream(xref, b" ")
                changed += 1
    return changed


def drop_text_shows(data: bytes) -> bytes:
    """``data`` with the operands of every text-showing operator (Tj, TJ,
    ', ") replaced by an empty string; everything else as it was.  Tokens
    come from MuPDF's lexer; inline image data is skipped.  A stream that
    cannot be tokenised loses all its text operators' strings the same
    way up to the error and is cut there (fail closed)."""
    m = pymupdf.mupdf
    stm = m.fz_open_buffer(m.fz_new_buffer_from_copied_data(data))
    lexbuf = m.PdfLexbuf(m.PDF_LEXBUF_SMALL)
    out, kept_from, operands_from = [], 0, 0
    try:
        while True:
            tok = m.pdf_lex(stm, lexbuf)
            end = m.fz_tell(stm)
            if tok == m.PDF_TOK_EOF:
                break
            if tok == m.PDF_TOK_ERROR:
                raise ValueError("lexer error")
            if tok == m.PDF_TOK_OPEN_DICT:
                m.pdf_parse_dict(m.PdfDocument(), stm, lexbuf)
            elif tok == m.PDF_TOK_KEYWORD:
                word = lexbuf.m_internal.scratch
                if word in _SHOW_OPS:
                    out += [data[kept_from:operands_from], b" " + _SHOW_OPS[word] + b"\n"]
                    kept_from = end
                elif word == "ID":
                    end = inline_image_end(data, end)
                    m.fz_seek(stm, end, 0)
                operands_from = end
    except Exception:
        return b"".join(out) + data[kept_from:operands_from]
    out.append(data[kept_from:])
    return b"".join(out)
