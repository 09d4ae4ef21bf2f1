"""Text layer -> :class:`PageText` with one box per character (PyMuPDF).

Characters are put in reading order by position, not by the order the
content stream draws them: a name drawn last character first, or a number
drawn digit by digit in shuffled order, reads as it shows.  Horizontal
lines are sorted by x, and pieces of one line (same baseline, touching)
that the extractor returned apart are merged, unless their glyphs print
over each other (then they are two texts).  A number printed one character
per bordered box (an ID number in 18 cells of a report card) comes apart
into one piece per box; a row of such single characters is one line again.
"""

from __future__ import annotations

import pymupdf

from core.models import Char, PageText, Source

_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_PRESERVE_LIGATURES | pymupdf.TEXT_MEDIABOX_CLIP
SAME_BASELINE = 0.3  # centre offset, in line heights
TOUCHING_GAP = 0.6  # horizontal gap between pieces of one line, in line heights
GLYPH_COLLISION = 0.5  # share of the narrower glyph two pieces' glyphs overlap by: printed over each other
BOXED_RUN_MIN = 8  # single characters in a row, one per printed box, that read as one number
BOXED_GAP = 1.5  # the widest blank between two boxed characters, in line heights


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
    lines = [_drop_covered_spaces(sorted(l, key=lambda c: (c.rect[0] + c.rect[2]) / 2)) for l in merged]
    return join_boxed_runs(lines)


def _visible(line: list[Char]) -> list[Char]:
    return [c for c in line if not c.c.isspace()]


def _boxy(c: Char) -> bool:
    return c.c.isascii() and (c.c.isalnum() or c.c == "-")


def _box_piece(v: list[Char]) -> str:
    """ "one": one character of a boxed number, "7 - 8" a dash between two boxes; "run": digits only
    (OCR reads a few neighbouring boxes as one word); "" anything else."""
    if not v or not all(_boxy(c) for c in v):
        return ""
    if len(v) == 1 or (len(v) == 3 and v[1].c == "-"):
        return "one"
    return "run" if all(c.c.isdigit() for c in v) else ""


def join_boxed_runs(lines: list[list[Char]]) -> list[list[Char]]:
    """A number printed one character per box ("身份证号：[1][5][0]…") comes
    apart into short pieces (a digit, "7 - 8" around a dash) a box's padding
    apart.  Such pieces side by side on one baseline, at most BOXED_GAP line
    heights apart, BOXED_RUN_MIN single ones among them, are one line again,
    with the piece each end touches when its near character is part of the
    number ("编号：8", "3 身份证号：").  Pieces of several digits may stand
    between (OCR reads neighbouring boxes as one word); a row of two-digit
    values (a chart) has no single ones and stays apart, and digits counting
    up or down by one (a scale 0 1 2 … 9) are an axis, left apart."""
    kinds = {i: k for i, line in enumerate(lines) if (k := _box_piece(_visible(line)))}
    if sum(k == "one" for k in kinds.values()) < BOXED_RUN_MIN:
        return lines
    chains: list[list[int]] = []
    for i in sorted(kinds, key=lambda k: _visible(lines[k])[0].rect[0]):
        for chain in chains:
            if _next_box(_visible(lines[chain[-1]])[-1], _visible(lines[i])[0]):
                chain.append(i)
                break
        else:
            chains.append([i])
    joined: dict[int, list[Char]] = {}
    dropped: set[int] = set()
    for chain in chains:
        chars = "".join(c.c for i in chain for c in _visible(lines[i]))
        if sum(kinds[i] == "one" for i in chain) < BOXED_RUN_MIN or _counts_by_one_step(chars):
            continue
        members = _with_touching_ends(lines, chain, set(kinds))
        if (dropped | set(joined)) & set(members):
            continue
        joined[min(members)] = sorted((c for i in members for c in lines[i]), key=lambda c: c.rect[0])
        dropped.update(set(members) - {min(members)})
    if not joined:
        return lines
    return [joined.get(i, line) for i, line in enumerate(lines) if i not in dropped]


def _with_touching_ends(lines: list[list[Char]], chain: list[int], taken: set[int]) -> list[int]:
    """The chain and, at each end, the longer piece whose near character is the number's first or last."""
    first, last = _visible(lines[chain[0]])[0], _visible(lines[chain[-1]])[-1]
    members = list(chain)
    for i, line in enumerate(lines):
        v = _visible(line)
        if i in taken or not v:
            continue
        if _boxy(v[-1]) and _next_box(v[-1], first):
            members.insert(0, i)
        elif _boxy(v[0]) and _next_box(last, v[0]):
            members.append(i)
    return members


def _next_box(a: Char, b: Char) -> bool:
    """``b`` stands right of ``a`` on its baseline, at most BOXED_GAP line heights on."""
    h = max(a.rect[3] - a.rect[1], b.rect[3] - b.rect[1], 1e-3)
    if abs((a.rect[1] + a.rect[3]) - (b.rect[1] + b.rect[3])) / 2 > SAME_BASELINE * h:
        return False
    return -0.1 * h <= b.rect[0] - a.rect[2] <= BOXED_GAP * h


def _counts_by_one_step(chars: str) -> bool:
    if not chars.isdigit():
        return False
    steps = {int(b) - int(a) for a, b in zip(chars, chars[1:])}
    return len(steps) == 1 and abs(next(iter(steps))) == 1


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
