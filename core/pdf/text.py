"""Text layer -> :class:`PageText` with one box per character (PyMuPDF).

Characters are put in reading order by position, not by the order the
content stream draws them: a name drawn last character first, or a number
drawn digit by digit in shuffled order, reads as it shows.  Horizontal
lines are sorted by x, and pieces of one line (same baseline, touching)
that the extractor returned apart are merged, unless their glyphs print
over each other (then they are two texts).  A number printed one character
per bordered box (an ID number in 18 cells of a report card, dash cells
between groups) is one line again (:func:`join_boxed_runs`); other glyphs
set one by one at a constant pitch, letter-spaced across or stacked down,
read as one line (:func:`join_glyph_chains`).  A radical or compatibility
form standing for an ideograph (王⼩红) reads as the ideograph, a styled
digit as its digit, and format characters and combining marks between
the characters of a name are not read (:func:`layer_form`).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Optional

import pymupdf

from core.models import Char, PageText, Source
from core.rules import load_rules

_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_PRESERVE_LIGATURES | pymupdf.TEXT_MEDIABOX_CLIP
SAME_BASELINE = 0.3  # centre offset, in line heights
TOUCHING_GAP = 0.6  # horizontal gap between pieces of one line, in line heights
GLYPH_COLLISION = 0.5  # share of the narrower glyph two pieces' glyphs overlap by: printed over each other
BOXED_RUN_MIN = 8  # single characters in a row, one per printed box, that read as one number
BOXED_GAP = 1.5  # the widest blank between two boxed characters, in line heights


# Forms whose NFKC form is the one character they print as: Kangxi radicals and compatibility ideographs
# (⼩ -> 小), superscript and subscript digits, mathematical letters and digits (𝟏𝟑𝟗 -> 139)
_FOLDED_BY_NFKC = (
    (0x2F00, 0x2FD5),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
    (0x2070, 0x209F),
    (0x1D400, 0x1D7FF),
)
_DROPPED = ("Cf", "Mn", "Me")  # format characters, variation selectors, combining marks: they print nothing


@lru_cache(maxsize=1)
def _radicals() -> dict[str, str]:
    return dict(load_rules("ideograph_forms")["supplement"] or {})


@lru_cache(maxsize=4096)
def layer_form(ch: str) -> str:
    """The character a text layer's ``ch`` reads as for the recognizers: a radical or compatibility form as
    its ideograph (⼩ -> 小, ⻓ -> 长), a digit of another script or style as its ASCII digit (𝟏, ¹, ١ -> 1),
    nothing for a character that prints nothing between others (王\u200b小红, 王\ufe00小红); else ``ch``.
    A font whose ToUnicode maps glyphs to such forms must not hide a name or a number."""
    if len(ch) != 1 or ch < "\u00a0":
        return ch
    if unicodedata.category(ch) in _DROPPED:
        return ""
    if ch in _radicals():
        return _radicals()[ch]
    cp = ord(ch)
    if any(lo <= cp <= hi for lo, hi in _FOLDED_BY_NFKC) or ch in "\u00b2\u00b3\u00b9":
        n = unicodedata.normalize("NFKC", ch)
        return n if len(n) == 1 else ch
    if unicodedata.category(ch) == "Nd" and not 0xFF10 <= cp <= 0xFF19:  # full-width digits stay as typed
        return str(unicodedata.decimal(ch))
    return ch


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
                Char(form, tuple(ch["bbox"]), Source.TEXT)
                for span in line.get("spans", [])
                for ch in span.get("chars", [])
                if ch["c"] not in ("\n", "\r") and (form := layer_form(ch["c"]))
            ]
            if any(not c.c.isspace() for c in chars):
                (horizontal if _horizontal(line) else other).append(chars)
    return join_groups(join_glyph_chains(join_boxed_runs(merge_pieces(horizontal)))) + other


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
        if (dropped | set(joined)) & set(members) or not _after_label(lines, members):
            continue  # a row of one-digit table cells has no label before it: join_groups spaces it
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


def _after_label(lines: list[list[Char]], members: list[int]) -> bool:
    """Whether a label stands right before the run ("身份证号：[1][5]…", or glued to its first box,
    "编号：8"): a Chinese character or a colon at most BOXED_GAP line heights left of it."""
    first = _visible(lines[members[0]])
    if any(not _boxy(c) for c in first):
        return True
    for line in lines:
        v = _visible(line)
        if v and (_is_cjk(v[-1].c) or v[-1].c in ":：") and _next_box(v[-1], first[0]):
            return True
    return False


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


# Glyphs stacked one under another, each its own text object (竖排 in a narrow cell): one word.
CHAIN_MIN = 3  # glyphs in a stack
DOWN_MAX_GAP = 0.25  # gap between glyphs one under another, in glyph heights (table rows lie further apart)
PITCH_SPREAD = 0.25  # gaps of a stack may differ by this share of a glyph height
# Pieces set apart along a baseline: a number kerned apart in groups ([(139) -900 (1234) TJ]) or a
# value letter-spaced glyph by glyph.  A group is a piece of up to five ASCII letters or digits, or a
# single glyph; it joins the line before it when the gap is at most GROUP_MAX_GAP heights.
GROUP_MAX_CHARS = 5
GROUP_MAX_GAP = 1.5


def join_glyph_chains(lines: list[list[Char]]) -> list[list[Char]]:
    """One-glyph lines stacked at a constant pitch, glyph under glyph, as one
    line each, when most of the glyphs are Chinese characters."""
    singles = [k for k, l in enumerate(lines) if len(_visible(l)) == 1]
    if len(singles) < CHAIN_MIN:
        return lines
    used: set[int] = set()
    out: list[list[Char]] = []
    for band in _bands(lines, singles, across=False):
        for chain in _pitch_runs(lines, band):
            glyphs = [_visible(lines[k])[0] for k in chain]
            if 2 * sum(1 for c in glyphs if _is_cjk(c.c)) < len(glyphs):
                continue  # vertical writing is Chinese; a column of one-digit table cells stays cells
            used.update(chain)
            out.append(glyphs)
    return [l for k, l in enumerate(lines) if k not in used] + out if out else lines


def join_groups(lines: list[list[Char]]) -> list[list[Char]]:
    """A line ending in a letter or digit and the groups right after it on
    its baseline, as one line with a space between each (the space keeps
    table cells apart; the phone and ID patterns read letter-spaced runs
    and groups together)."""
    absorbed: set[int] = set()
    joined: dict[int, list[list[Char]]] = {}
    for row in _bands(lines, [k for k, l in enumerate(lines) if l], across=True):
        lead: Optional[int] = None
        for prev, k in zip([None, *row], row):
            chain = joined[lead] if lead is not None else []
            near = bool(chain) and prev is not None and _gap_ok(lines, prev, k)
            if near and (_is_group(lines[k]) or _continues(lines[k], len(chain))):
                chain.append(lines[k])  # a group, or the piece the last group runs into ("X  性别：")
                absorbed.add(k)
                if not _is_group(lines[k]):
                    lead = None
                continue
            lead = k if lines[k][-1].c.isalnum() else None
            if lead is not None:
                joined[lead] = [lines[k]]
    if not absorbed:
        return lines
    return [_joined(joined[k]) if k in joined else l for k, l in enumerate(lines) if k not in absorbed]


def _continues(line: list[Char], pieces: int) -> bool:
    """A piece that starts with the last character of a run of at least CHAIN_MIN groups (an ID's
    check letter glued to the next label)."""
    v = _visible(line)
    return pieces >= CHAIN_MIN and bool(v) and v[0].c.isascii() and v[0].c.isalnum()


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def _joined(pieces: list[list[Char]]) -> list[Char]:
    """Pieces of one line, left to right, a space (over the gap) between each."""
    out = list(pieces[0])
    for piece in pieces[1:]:
        gap = (out[-1].rect[2], out[-1].rect[1], piece[0].rect[0], out[-1].rect[3])
        out += [Char(" ", gap, out[-1].source), *piece]
    return out


def _is_group(line: list[Char]) -> bool:
    text = "".join(c.c for c in line).strip()
    return len(text) == 1 or 0 < len(text) <= GROUP_MAX_CHARS and text.isascii() and text.isalnum()


def _gap_ok(lines: list[list[Char]], a: int, b: int) -> bool:
    ea, eb = _extent(lines[a]), _extent(lines[b])
    return 0 <= eb[0] - ea[2] <= GROUP_MAX_GAP * max(ea[3] - ea[1], 1e-3)


def _bands(lines: list[list[Char]], keys: list[int], across: bool) -> list[list[int]]:
    """``keys`` in rows (``across``: same baseline centre, sorted by x) or
    columns (same horizontal centre, sorted by y), within 0.3 glyph heights."""
    axis = 1 if across else 0  # the coordinate that stays
    extent = {k: _extent(lines[k]) for k in keys}
    centre = {k: sum(extent[k][axis::2]) / 2 for k in keys}
    bands: list[list[int]] = []
    ref = 0.0
    for k in sorted(keys, key=centre.__getitem__):
        e = extent[k]
        tol = 0.3 * (e[3] - e[1] if across else max(e[2] - e[0], 1e-3))
        if bands and abs(centre[k] - ref) <= tol:
            bands[-1].append(k)
        else:
            bands.append([k])
            ref = centre[k]
    return [sorted(b, key=lambda k: extent[k][1 - axis]) for b in bands]


def _pitch_runs(lines: list[list[Char]], band: list[int]) -> list[list[int]]:
    """Runs of ``CHAIN_MIN``+ neighbours of a column at a constant gap within the limit."""
    runs: list[list[int]] = []
    run: list[int] = band[:1]
    first_gap = None
    for a, b in zip(band, band[1:]):
        ea, eb = _extent(lines[a]), _extent(lines[b])
        h = max(ea[3] - ea[1], 1e-3)
        gap, limit = eb[1] - ea[3], DOWN_MAX_GAP * h
        steady = first_gap is None or abs(gap - first_gap) <= PITCH_SPREAD * h
        if -0.2 * h <= gap <= limit and steady:
            run.append(b)
            first_gap = gap if first_gap is None else first_gap
            continue
        if len(run) >= CHAIN_MIN:
            runs.append(run)
        ok = -0.2 * h <= gap <= limit
        run, first_gap = ([a, b], gap) if ok and len(run) < CHAIN_MIN else ([b], None)
    if len(run) >= CHAIN_MIN:
        runs.append(run)
    return runs


# ---------------------------------------------------------------- wrapped paragraphs
WRAP_MIN_WIDTH = 12  # a line that wraps is at least this many glyph heights wide
WRAP_MIN_CJK = 0.2  # share of CJK characters in it: prose, not a row of a table of values
WRAP_MARGIN = 1.5  # it ends within this many glyph heights of its column's right edge
WRAP_INDENT = 2.0  # the first line of a paragraph may start this many glyph heights right of the next
WRAP_LEAD = 4  # glyphs at the start of the next line that hold no space
WRAP_TAIL = 10  # glyphs at the end of the line that hold no space (a form's options do: 3、不详 4、未查)


def join_wrapped(lines: list[list[Char]]) -> list[list[Char]]:
    """The lines of a paragraph as one line where the text wraps at the column's edge: a name, an address
    or a number cut by the wrap (患者丈夫王 / 小红陪同) reads whole.  A line wraps into the one right below
    it when it is a line of prose as wide as its column, the next line starts at the column's left edge,
    and no space stands on either side of the break; nothing is put between the two."""
    info = {k: _line_info(l) for k, l in enumerate(lines)}
    info = {k: v for k, v in info.items() if v is not None}
    nxt: dict[int, int] = {}
    for k, (ext, h, _) in info.items():
        j = _wraps_into(k, ext, h, lines, info)
        if j is not None and j not in nxt.values():
            nxt[k] = j
    if not nxt:
        return lines
    heads = [k for k in range(len(lines)) if k not in set(nxt.values())]
    out = []
    for k in heads:
        line, seen = list(lines[k]), {k}
        while k in nxt and nxt[k] not in seen:
            k = nxt[k]
            seen.add(k)
            line += lines[k]
        out.append(line)
    return out


def _line_info(line: list[Char]):
    """(extent, glyph height, prose?) of a horizontal line of glyphs, else None."""
    v = _visible(line)
    if len(v) < 2 or v[-1].rect[0] <= v[0].rect[0]:
        return None
    h = _glyph_height(v)
    ext = _extent(v)
    if h <= 0 or ext[3] - ext[1] > 1.6 * h:
        return None  # not one row of glyphs (a stack, a joined paragraph)
    cjk = sum(_is_cjk(c.c) for c in v) / len(v)
    prose = (
        ext[2] - ext[0] >= WRAP_MIN_WIDTH * h
        and cjk >= WRAP_MIN_CJK
        and _dense(line[-WRAP_TAIL:])
        and "  " not in "".join(c.c for c in line)
    )
    return ext, h, prose


def _dense(chars: list[Char]) -> bool:
    return bool(chars) and not any(c.c.isspace() for c in chars)


def _wraps_into(k: int, ext, h: float, lines, info) -> Optional[int]:
    if not info[k][2]:
        return None
    below = [
        j
        for j, (e, hj, _) in info.items()
        if j != k
        and ext[3] - 0.3 * h <= e[1] <= ext[3] + 1.2 * h
        and 0.75 * h <= hj <= 1.33 * h
        and ext[0] - WRAP_INDENT * h <= e[0] <= ext[0] + 0.6 * h
        and _dense(lines[j][:WRAP_LEAD])
    ]
    if not below:
        return None
    j = min(below, key=lambda j: info[j][0][1])
    left = info[j][0][0]
    column = [
        e[2]
        for e, _, _ in info.values()
        if abs(e[0] - left) <= 3 * h and ext[1] - 10 * h <= e[1] <= ext[3] + 10 * h
    ]
    return j if ext[2] >= max(column) - WRAP_MARGIN * h else None


# ---------------------------------------------------------------- values wrapped in a table cell
RULE_THIN = 1.5  # a filled rectangle at most this thick is a ruling line of a table


def table_rules(page: pymupdf.Page) -> tuple[list, list]:
    """(vertical, horizontal) ruling lines of the page's tables as (x, y0, y1) / (y, x0, x1), unrotated
    points: thin filled rectangles, straight line segments and the sides of stroked rectangles."""
    from core.pdf.drawings import page_drawings

    vertical: list = []
    horizontal: list = []
    try:
        drawings = page_drawings(page)
    except Exception:  # content MuPDF cannot read: no rules, no joins
        return vertical, horizontal
    for d in drawings:
        stroked = d.get("color") is not None
        for item in d.get("items") or ():
            if item[0] == "re":
                x0, y0, x1, y1 = tuple(item[1])
                _rect_rules(x0, y0, x1, y1, stroked, vertical, horizontal)
            elif item[0] == "l":
                (ax, ay), (bx, by) = tuple(item[1]), tuple(item[2])
                if abs(ax - bx) < 0.5:
                    vertical.append(((ax + bx) / 2, min(ay, by), max(ay, by)))
                elif abs(ay - by) < 0.5:
                    horizontal.append(((ay + by) / 2, min(ax, bx), max(ax, bx)))
    return vertical, horizontal


def _rect_rules(x0, y0, x1, y1, stroked: bool, vertical: list, horizontal: list) -> None:
    w, h = x1 - x0, y1 - y0
    if w <= RULE_THIN and h > 2:
        vertical.append(((x0 + x1) / 2, y0, y1))
    elif h <= RULE_THIN and w > 2:
        horizontal.append(((y0 + y1) / 2, x0, x1))
    elif stroked and w > 2 and h > 2:
        vertical += [(x0, y0, y1), (x1, y0, y1)]
        horizontal += [(y0, x0, x1), (y1, x0, x1)]


def join_cell_wraps(lines: list[list[Char]], rules: tuple[list, list]) -> list[list[Char]]:
    """A value that wraps inside its table cell (a name in a narrow column, 訾婧 / 婧; an address,
    …16栋938 / 室; a header centred in its cell, 子女姓 / 名) as one line: the piece of a line in one
    cell, when it fills the cell to the right rule, continues with the characters right below it in the
    same cell (left-aligned with it or centred under it), when no rule of the table runs between the two.
    A line that runs across cells (the extractor set 子女姓 and 性 of the next cell on one line) is read
    cell by cell, and a cell whose text wraps becomes a line of its own.  The characters below are taken
    out of their line (the extractor may have set them on one baseline with the label cell beside them)."""
    vertical, horizontal = rules
    if not vertical:
        return lines
    lines = [list(l) for l in lines]
    for k in sorted(range(len(lines)), key=lambda k: _top(lines[k])):
        parts: list[list[Char]] = [[]]
        pieces = _cell_pieces(lines[k], vertical)
        for n, (start, end) in enumerate(pieces):
            stop = pieces[n + 1][0] if n + 1 < len(pieces) else len(lines[k])
            piece, wrapped = lines[k][start:end], False
            while (found := _cell_continuation(piece, k, lines, vertical, horizontal)) is not None:
                j, taken = found
                piece, wrapped = piece + [lines[j][i] for i in taken], True
                rest = [c for i, c in enumerate(lines[j]) if i not in set(taken)]
                lines[j] = rest if any(not c.c.isspace() for c in rest) else []
            if wrapped:  # a cell whose text wraps is a line of its own, as OCR reads a table (split at rules)
                parts += [piece, []]
            else:
                parts[-1] += lines[k][start:stop]
        if len(parts) > 1:
            kept = [_lstrip(p) for p in parts if any(not c.c.isspace() for c in p)]
            lines[k] = kept[0]
            lines += kept[1:]
    return [l for l in lines if l]


def _cell_pieces(line: list[Char], vertical: list) -> list[tuple[int, int]]:
    """[start, end) of the runs of ``line`` between the vertical rules that cross it between two glyphs,
    trailing blanks left out."""
    vertical = _rules_across(line, vertical)
    pieces: list[tuple[int, int]] = []
    start, prev = 0, None
    for i, c in enumerate(line):
        if c.c.isspace():
            continue
        if prev is not None and _rule_between(line[prev], c, vertical):
            pieces.append((start, prev + 1))
            start = i
        prev = i
    if prev is not None:
        pieces.append((start, prev + 1))
    return pieces


def _rules_across(line: list[Char], vertical: list) -> list:
    """The vertical rules that may run between two glyphs of ``line`` (:func:`_rule_between`): strictly
    between its leftmost and rightmost glyph centres, over the height of its glyph centres.  The others
    cannot, so the pieces are the same; a line is checked pair by pair against far fewer rules."""
    shown = [c for c in line if not c.c.isspace()]
    if len(shown) < 2:
        return []
    xs = [(c.rect[0] + c.rect[2]) / 2 for c in shown]
    ys = [(c.rect[1] + c.rect[3]) / 2 for c in shown]
    lo, hi, top, bottom = min(xs), max(xs), min(ys), max(ys)
    return [r for r in vertical if lo < r[0] < hi and r[1] <= bottom and r[2] >= top]


def _rule_between(a: Char, b: Char, vertical: list) -> bool:
    ax, bx = (a.rect[0] + a.rect[2]) / 2, (b.rect[0] + b.rect[2]) / 2
    cy = (b.rect[1] + b.rect[3]) / 2
    return any(ax < x < bx and y0 <= cy <= y1 for x, y0, y1 in vertical)


def _lstrip(line: list[Char]) -> list[Char]:
    i = 0
    while i < len(line) and line[i].c.isspace():
        i += 1
    return line[i:]


def _top(line: list[Char]) -> float:
    v = _visible(line)
    return min(c.rect[1] for c in v) if v else 0.0


def _last_row(line: list[Char]) -> Optional[tuple]:
    """(extent of the line's last row of glyphs, glyph height)."""
    v = _visible(line)
    if not v:
        return None
    last = v[-1]
    row = [c for c in v if c.rect[1] >= last.rect[1] - 0.3 * (last.rect[3] - last.rect[1])]
    return _extent(row), _glyph_height(row)


def _glyph_height(chars: list[Char]) -> float:
    """The median glyph height of ``chars``."""
    heights = sorted(c.rect[3] - c.rect[1] for c in chars)
    return heights[len(heights) // 2]


def _cell_continuation(piece: list[Char], k: int, lines, vertical, horizontal):
    """(line, indices) of the characters that continue ``piece`` (part of line ``k``) in its cell."""
    row = _last_row(piece)
    if row is None or not _dense(_lstrip(piece)[-WRAP_TAIL:]):
        return None
    ext, h = row
    if h <= 0:
        return None
    ext = (ext[0], ext[1], _row_end(piece, ext), ext[3])
    cy = (ext[1] + ext[3]) / 2
    right = min((x for x, y0, y1 in vertical if x >= ext[2] - 0.5 and y0 <= cy <= y1), default=None)
    left = max((x for x, y0, y1 in vertical if x <= ext[0] + 0.5 and y0 <= cy <= y1), default=None)
    if right is None or left is None or right - ext[2] > WRAP_MARGIN * h:
        return None
    ruled = _ruled_above(piece, left, right, horizontal, h)
    for j, line in enumerate(lines):
        if j == k or not line:
            continue
        taken = [
            i
            for i, c in enumerate(line)
            if left < (c.rect[0] + c.rect[2]) / 2 < right and _in_next_row(c, ext, h)
        ]
        if not taken or taken != list(range(taken[0], taken[-1] + 1)):
            continue
        chars = [line[i] for i in taken if not line[i].c.isspace()]
        if not chars or not _dense(chars[:WRAP_LEAD]) or not _starts_under(chars, ext, h):
            continue
        by = (chars[0].rect[1] + chars[0].rect[3]) / 2
        if not any(x == right and y0 <= by <= y1 for x, y0, y1 in vertical):
            continue  # the cell ends before the line below
        if any(cy < y < by and x0 < right and x1 > left for y, x0, x1 in horizontal):
            continue  # a row's rule between the two: the next row
        if not ruled and _text_beside(lines, ext, left, right, h):
            continue  # rows without rules: other cells go on at that height, so it is the next row
        return j, _strip_indices(line, taken)
    return None


def _ruled_above(piece: list[Char], left: float, right: float, horizontal: list, h: float) -> bool:
    """A rule closes the cell above the piece's first row (within ROW_RULE_REACH glyph heights): the
    table rules its rows, so a rule would run between two rows."""
    top = min(c.rect[1] for c in _visible(piece))
    reach = ROW_RULE_REACH * h
    return any(top - reach <= y <= top + 0.3 * h and x0 < right and x1 > left for y, x0, x1 in horizontal)


ROW_RULE_REACH = 1.5


def _text_beside(lines, ext: tuple, left: float, right: float, h: float) -> bool:
    """A glyph outside the cell [left, right] stands in the row under ``ext``: other cells go on there."""
    return any(
        not c.c.isspace() and not left <= (c.rect[0] + c.rect[2]) / 2 <= right and _in_next_row(c, ext, h)
        for line in lines
        for c in line
    )


def _row_end(piece: list[Char], ext: tuple) -> float:
    """Where the glyphs of the piece's last row end.  An OCR character's box carries a margin and the last
    one reaches the detected line's edge (``core.ocr``): there the last glyph ends half a pitch after its
    centre."""
    v = _visible(piece)
    if v[-1].source != Source.OCR or len(v) < 2:
        return ext[2]
    centres = [(c.rect[0] + c.rect[2]) / 2 for c in v]
    pitches = sorted(b - a for a, b in zip(centres, centres[1:]) if b > a)
    if not pitches:
        return ext[2]
    return min(ext[2], centres[-1] + 0.5 * pitches[len(pitches) // 2])


def _in_next_row(c: Char, ext: tuple, h: float) -> bool:
    """``c`` stands in the row of glyphs right under the row ``ext`` (glyph height ``h``).  OCR boxes of
    neighbouring lines overlap (margins, a detected box taller than its ink): there the centres decide."""
    ch = c.rect[3] - c.rect[1]
    if c.source == Source.OCR:
        below = (c.rect[1] + c.rect[3]) / 2 - (ext[1] + ext[3]) / 2
        return 0.5 * min(h, ch) <= below and c.rect[1] <= ext[3] + 1.2 * h and 0.5 * h <= ch <= 1.5 * h
    return ext[3] - 0.3 * h <= c.rect[1] <= ext[3] + 1.2 * h and 0.75 * h <= ch <= 1.33 * h


def _starts_under(chars: list[Char], ext: tuple, h: float) -> bool:
    """The characters below start under the line above (left-aligned text) or are centred under it
    (a header centred in its cell)."""
    if chars[0].rect[0] <= ext[0] + 0.6 * h:
        return True
    centre = (chars[0].rect[0] + chars[-1].rect[2]) / 2
    return abs(centre - (ext[0] + ext[2]) / 2) <= 0.6 * h


def _strip_indices(line: list[Char], taken: list[int]) -> list[int]:
    """``taken`` without the blanks at its ends."""
    solid = [i for i in taken if not line[i].c.isspace()]
    return [i for i in taken if solid[0] <= i <= solid[-1]]


def reading_text(page: pymupdf.Page, lines: list[list[Char]], pixel_rules: tuple | None = None) -> PageText:
    """The page's text as the recognizers read it: ``lines``, wrapped paragraphs and values wrapped in
    their table cells joined.  The cells' rules are the page's drawn ones and, on a page OCR read,
    ``pixel_rules``: the rules its image shows (``core.ocr.page``), so a scan's cells join the same way."""
    lines = join_wrapped(lines)
    if not page.rotation:
        vertical, horizontal = table_rules(page)
        if pixel_rules:
            vertical, horizontal = vertical + list(pixel_rules[0]), horizontal + list(pixel_rules[1])
        lines = join_cell_wraps(lines, (vertical, horizontal))
    return PageText.from_lines(page.number, page.rect.width, page.rect.height, lines)


def extract_page_text(page: pymupdf.Page, extra_lines: list[list[Char]] | None = None) -> PageText:
    lines = text_lines(page)
    if extra_lines:
        lines = lines + extra_lines
    return reading_text(page, lines)


def text_char_count(page: pymupdf.Page) -> int:
    return sum(len(l) for l in text_lines(page))
