"""Text layer -> :class:`PageText` with one box per character (PyMuPDF).

Characters are put in reading order by position, not by the order the
content stream draws them: a name drawn last character first, or a number
drawn digit by digit in shuffled order, reads as it shows.  Horizontal
lines are sorted by x, and pieces of one line (same baseline, touching)
that the extractor returned apart are merged, unless their glyphs print
over each other (then they are two texts).
"""

from __future__ import annotations

import pymupdf

from core.models import Char, PageText, Source

_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_PRESERVE_LIGATURES | pymupdf.TEXT_MEDIABOX_CLIP
SAME_BASELINE = 0.3  # centre offset, in line heights
TOUCHING_GAP = 0.6  # horizontal gap between pieces of one line, in line heights
GLYPH_COLLISION = 0.5  # share of the narrower glyph two pieces' glyphs overlap by: printed over each other


def _horizontal(line: dict) -> bool:
    dx, dy = line.get("dir", (1, 0))
    return dx > 0 and abs(dy) < 0.01


def _extent(chars: list[Char]) -> tuple[float, float, float, float]:
    return (
        min(c.rect[0] for c in chars),
        min(c.rect[1] for c in chars),
        max(c.rect[2] for c in chars),
        max(c.rect[3] for c in chars),
    )


def _same_line(ea: tuple, eb: tuple) -> bool:
    ax0, ay0, ax1, ay1 = ea
    bx0, by0, bx1, by1 = eb
    h = max(ay1 - ay0, by1 - by0, 1e-3)
    if abs((ay0 + ay1) - (by0 + by1)) / 2 > SAME_BASELINE * h:
        return False
    gap = max(bx0 - ax1, ax0 - bx1)
    return gap <= TOUCHING_GAP * h


def merge_pieces(lines: list[list[Char]]) -> list[list[Char]]:
    """Merge horizontal pieces of one visual line (until none touch);
    chars sorted by x, spaces the extractor put over a glyph dropped."""
    while True:
        merged = _merge_once(lines)
        if len(merged) == len(lines):
            break
        lines = merged
    return [_drop_covered_spaces(sorted(l, key=lambda c: (c.rect[0] + c.rect[2]) / 2)) for l in merged]


def _drop_covered_spaces(line: list[Char]) -> list[Char]:
    glyphs = [c.rect for c in line if not c.c.isspace()]

    def covered(c: Char) -> bool:
        cx = (c.rect[0] + c.rect[2]) / 2
        return any(r[0] < cx < r[2] for r in glyphs)

    return [c for c in line if not (c.c.isspace() and covered(c))]


def _collide(a: list[Char], b: list[Char]) -> bool:
    """Two pieces whose glyphs print over each other (a value that overflows
    its cell across the next label, "…27栋2220室" over "电话"): two texts, not
    one line; merged by x they would interleave ("22电20话室")."""
    ea, eb = _extent(a), _extent(b)
    if min(ea[2], eb[2]) <= max(ea[0], eb[0]):
        return False  # side by side: the usual case
    for ca in a:
        if ca.c.isspace():
            continue
        wa = ca.rect[2] - ca.rect[0]
        for cb in b:
            if cb.c.isspace():
                continue
            overlap = min(ca.rect[2], cb.rect[2]) - max(ca.rect[0], cb.rect[0])
            if overlap > GLYPH_COLLISION * min(wa, cb.rect[2] - cb.rect[0]):
                return True
    return False


def _merge_once(lines: list[list[Char]]) -> list[list[Char]]:
    out: list[list[Char]] = []
    extents: list[tuple] = []
    for line in lines:
        e = _extent(line)
        for k, kept in enumerate(extents):
            if _same_line(kept, e) and not _collide(out[k], line):
                out[k] = out[k] + line
                extents[k] = (min(kept[0], e[0]), min(kept[1], e[1]), max(kept[2], e[2]), max(kept[3], e[3]))
                break
        else:
            out.append(list(line))
            extents.append(e)
    return out


def text_lines(page: pymupdf.Page) -> list[list[Char]]:
    """Lines of characters from the text layer, in reading order.

    Invisible text (render mode 3, e.g. an OCR layer) is included: it is
    still in the file and must be redacted too.
    """
    raw = page.get_text("rawdict", flags=_FLAGS)
    horizontal: list[list[Char]] = []
    other: list[list[Char]] = []
    for block in raw.get("blocks", []):
        for line in block.get("lines", []):
            chars = [
                Char(ch["c"], tuple(ch["bbox"]), Source.TEXT)
                for span in line.get("spans", [])
                for ch in span.get("chars", [])
                if ch["c"] not in ("\n", "\r")
            ]
            if any(not c.c.isspace() for c in chars):
                (horizontal if _horizontal(line) else other).append(chars)
    return merge_pieces(horizontal) + other


def extract_page_text(page: pymupdf.Page, extra_lines: list[list[Char]] | None = None) -> PageText:
    lines = text_lines(page)
    if extra_lines:
        lines = lines + extra_lines
    return PageText.from_lines(page.number, page.rect.width, page.rect.height, lines)


def text_char_count(page: pymupdf.Page) -> int:
    return sum(len(l) for l in text_lines(page))
