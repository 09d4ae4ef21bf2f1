"""OCR lines tidied with what the page image shows around them.

The text detector draws line boxes by the look of the ink; it does not
know tables or numbers:

* a box may run across a table's vertical rule, so the label of one cell
  and the value (or label) of the next come back as one line
  ("术者│何海德" -> "术者何海德").  ``split_at_rules`` cuts such a line at
  every vertical ruling line that crosses it, so label -> value logic sees
  one cell at a time;
* a number may come back with spaces in it (the recogniser's column
  positions wobble on narrow digits, and ``layout_chars`` turns a wobble
  into a gap) or in two line boxes a hair apart.  ``join_number_gaps``
  removes a space between two number characters, and joins two lines
  that meet at number characters, when the page shows (almost) no blank
  between the glyphs.

Everything works on :class:`~core.ocr.engine.OcrLine` in pixels of the
image that was recognised (before mapping to page points).
"""

from __future__ import annotations

import unicodedata
from typing import Optional

import numpy as np

from core.ocr.engine import OcrLine, PixelBox

# A vertical rule runs at least this many ink heights above and below the
# line's ink (a glyph's stroke never leaves its line), over this share of
# the rows, and is at most RULE_MAX_WIDTH ink heights wide (a shaded cell
# or a picture is no rule).
RULE_REACH = 0.25
RULE_FILL = 0.9
RULE_MAX_WIDTH = 0.35
# Ink is this many grey levels darker than the paper around it.
INK_CONTRAST = 50
# The recogniser reads a rule as one of these (or as a symbol); such a
# character standing on a rule is dropped.
RULE_GLYPHS = frozenset("|丨｜│┃lI")
# Two number characters with less blank between their glyphs than this
# (in ink heights) belong to one number; a typed space is wider.
NUMBER_GAP = 0.4
# A line whose band is mostly "ink" is light text on a dark ground: no rule stands there.
DARK_GROUND = 0.5
NUMBER_CHARS = frozenset("0123456789０１２３４５６７８９ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def gray_of(img: np.ndarray) -> np.ndarray:
    """The mean of the colour channels, float32 (summed channel by channel:
    ``mean(axis=2)`` over a page render took ~10x longer, measured)."""
    if img.ndim == 2:
        return img
    return (img[:, :, 0].astype(np.float32) + img[:, :, 1] + img[:, :, 2]) / np.float32(3)


def _ink_box(ln: OcrLine) -> Optional[PixelBox]:
    boxes = [b for c, b in zip(ln.text, ln.char_boxes) if not c.isspace()]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _horizontal(ln: OcrLine) -> bool:
    """A left-to-right line with one box per character, in order."""
    if len(ln.char_boxes) != len(ln.text) or len(ln.text) < 1:
        return False
    b = _ink_box(ln)
    if b is None or b[2] - b[0] < b[3] - b[1]:
        return len(ln.text) == 1  # a single character: any shape
    centres = [(x0 + x1) / 2 for x0, _, x1, _ in ln.char_boxes]
    return all(c1 >= c0 - 1.0 for c0, c1 in zip(centres, centres[1:]))


def _paper(band: np.ndarray) -> float:
    return float(np.percentile(band, 90))


def vertical_rules(gray: np.ndarray, box: PixelBox) -> list[tuple[float, float]]:
    """(x0, x1) pixel columns of the vertical ruling lines that cross
    ``box`` (a line's ink box) and run on above and below it."""
    H, W = gray.shape[:2]
    x0, y0, x1, y1 = box
    h = y1 - y0
    if h < 4 or x1 - x0 < 2:
        return []
    reach = max(2.0, RULE_REACH * h)
    H0, H1 = int(np.floor(y0)), int(np.ceil(y1))
    top, bottom = max(0, int(np.floor(y0 - reach))), min(H, int(np.ceil(y1 + reach)))
    if H0 - top < reach - 1 and bottom - H1 < reach - 1:
        return []  # no room above or below to tell a rule from a stroke
    xa, xb = max(0, int(np.floor(x0)) - 2), min(W, int(np.ceil(x1)) + 2)
    band = gray[top:bottom, xa:xb]
    if band.size == 0:
        return []
    dark = band < _paper(band) - INK_CONTRAST
    if dark[H0 - top : H1 - top].mean() > DARK_GROUND:
        return []  # light text on a dark ground (a banner): the gaps between glyphs are no rules
    # one pixel of slant or jitter: a column counts a row dark if it or a neighbour is
    wide = dark.copy()
    wide[:, 1:] |= dark[:, :-1]
    wide[:, :-1] |= dark[:, 1:]

    def filled(rows: np.ndarray) -> np.ndarray:
        return (
            rows.mean(axis=0) >= RULE_FILL
            if len(rows) >= max(2.0, reach - 1)
            else np.zeros(rows.shape[1], bool)
        )

    # through the line's own rows, and on beyond them above or below (the top
    # row of a table has its border just above the text)
    core = wide[H0 - top : H1 - top]
    full = (core.mean(axis=0) >= RULE_FILL) & (filled(wide[: H0 - top]) | filled(wide[H1 - top :]))
    out, start = [], None
    max_w = max(5.0, RULE_MAX_WIDTH * h) + 2  # +2: the neighbour tolerance widens a run by a pixel each side
    for i, on in enumerate(np.append(full, False)):
        if on and start is None:
            start = i
        elif not on and start is not None:
            if i - start <= max_w:
                trim = 1.0 if i - start > 2 else 0.0
                out.append((xa + start + trim, xa + i - trim))
            start = None
    return out


def split_at_rules(lines: list[OcrLine], gray: np.ndarray) -> list[OcrLine]:
    """Each horizontal line cut at the vertical rules that cross it between
    its characters; a character read for the rule itself is dropped."""
    out: list[OcrLine] = []
    for ln in lines:
        box = _ink_box(ln) if _horizontal(ln) and len(ln.text) >= 2 else None
        rules = vertical_rules(gray, box) if box is not None else []
        out += _cut(ln, rules) if rules else [ln]
    return out


def _cut(ln: OcrLine, rules: list[tuple[float, float]]) -> list[OcrLine]:
    centres = [(b[0] + b[2]) / 2 for b in ln.char_boxes]
    solid = [i for i, c in enumerate(ln.text) if not c.isspace()]
    cuts = []
    for r0, r1 in rules:
        mid = (r0 + r1) / 2
        if any(centres[i] < mid for i in solid) and any(centres[i] > mid for i in solid):
            cuts.append((r0, r1))
    if not cuts:
        return [ln]
    pieces: list[list[int]] = [[] for _ in range(len(cuts) + 1)]
    for i, (c, b) in enumerate(zip(ln.text, ln.char_boxes)):
        if _reads_the_rule(c, b, centres[i], cuts):
            continue
        k = sum(1 for r0, r1 in cuts if centres[i] > (r0 + r1) / 2)
        pieces[k].append(i)
    out = []
    for k, idx in enumerate(pieces):
        while idx and ln.text[idx[0]].isspace():
            idx = idx[1:]
        while idx and ln.text[idx[-1]].isspace():
            idx = idx[:-1]
        if not idx:
            continue
        left = cuts[k - 1][1] if k > 0 else None
        right = cuts[k][0] if k < len(cuts) else None
        boxes = []
        for i in idx:
            x0, y0, x1, y1 = ln.char_boxes[i]
            # a box estimated across the rule stops at it, unless that would leave too little of it
            if left is not None and x0 < left and x1 - left >= 0.4 * (x1 - x0):
                x0 = left
            if right is not None and x1 > right and right - x0 >= 0.4 * (x1 - x0):
                x1 = right
            boxes.append((x0, y0, x1, y1))
        out.append(_line(ln, "".join(ln.text[i] for i in idx), boxes))
    return out


def _reads_the_rule(c: str, box: PixelBox, centre: float, cuts) -> bool:
    """The recogniser read the rule itself: a stroke-like letter centred on
    it, or a symbol whose box holds it ("$", "|", "]")."""
    for r0, r1 in cuts:
        if c in RULE_GLYPHS and r0 - 2 <= centre <= r1 + 2:
            return True
        if not c.isspace() and unicodedata.category(c)[0] not in "LN" and box[0] <= (r0 + r1) / 2 <= box[2]:
            return True
    return False


def _line(like: OcrLine, text: str, boxes: list[PixelBox]) -> OcrLine:
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    quad = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    return OcrLine(text, (x0, y0, x1, y1), like.score, quad, list(boxes))


def _blank_run(gray: np.ndarray, xa: float, xb: float, y0: float, y1: float) -> int:
    """Longest run of ink-free pixel columns between xa and xb over rows
    y0..y1."""
    H, W = gray.shape[:2]
    c0, c1 = max(0, int(np.floor(xa))), min(W, int(np.ceil(xb)))
    r0, r1 = max(0, int(np.floor(y0))), min(H, int(np.ceil(y1)))
    if c1 <= c0 or r1 <= r0:
        return 0
    band = gray[r0:r1, c0:c1]
    threshold = _paper(gray[r0:r1, max(0, c0 - 20) : min(W, c1 + 20)]) - INK_CONTRAST
    ink: list[bool] = np.less(band, threshold).any(axis=0).tolist()
    best = run = 0
    for v in ink:
        run = 0 if v else run + 1
        best = max(best, run)
    return best


def _numberish(c: str) -> bool:
    return c in NUMBER_CHARS


def _has_digit(text: str, i: int, step: int) -> bool:
    """A digit in the run of number characters from ``i`` going ``step``."""
    while 0 <= i < len(text) and _numberish(text[i]):
        if text[i].isdigit():
            return True
        i += step
    return False


def _narrow(gray, a: PixelBox, b: PixelBox, h: float) -> bool:
    """Almost no blank between the glyphs whose boxes are ``a`` and ``b``
    (measured from the middle of ``a`` to the middle of ``b``)."""
    xa, xb = (a[0] + a[2]) / 2, (b[0] + b[2]) / 2
    if xb <= xa:
        return True
    y0, y1 = max(a[1], b[1]), min(a[3], b[3])
    if y1 - y0 < 0.4 * h:
        return False
    return _blank_run(gray, xa, xb, y0, y1) < NUMBER_GAP * h


def join_number_gaps(lines: list[OcrLine], gray: np.ndarray) -> list[OcrLine]:
    """Numbers read in pieces made whole: a space between two number
    characters, and two horizontal lines that meet at number characters on
    one row, go when the glyphs on either side stand no further apart than
    glyphs of one number."""
    lines = [_close_spaces(ln, gray) if _horizontal(ln) else ln for ln in lines]
    out: list[OcrLine] = []
    used = [False] * len(lines)
    order = sorted(range(len(lines)), key=lambda i: lines[i].box[0])
    for i in range(len(lines)):
        if used[i]:
            continue
        cur = lines[i]
        used[i] = True
        while _horizontal(cur):
            nxt = _next_piece(cur, lines, used, order, gray)
            if nxt is None:
                break
            used[nxt] = True
            other = lines[nxt]
            cur = _line(cur, cur.text + other.text, list(cur.char_boxes) + list(other.char_boxes))
        out.append(cur)
    return out


def _next_piece(cur: OcrLine, lines, used, order, gray) -> Optional[int]:
    t = cur.text.rstrip()
    if not t or not _numberish(t[-1]):
        return None
    last = cur.char_boxes[len(t) - 1]
    h = last[3] - last[1]
    for j in order:
        if used[j] or not _horizontal(lines[j]):
            continue
        other = lines[j]
        s = len(other.text) - len(other.text.lstrip())
        if s >= len(other.text) or not _numberish(other.text[s]):
            continue
        first = other.char_boxes[s]
        hb = first[3] - first[1]
        overlap = min(last[3], first[3]) - max(last[1], first[1])
        if overlap < 0.6 * min(h, hb) or max(h, hb) > 1.6 * min(h, hb):
            continue
        if first[0] < last[0] or first[0] - last[2] > 1.5 * h:
            continue
        if not (_has_digit(t, len(t) - 1, -1) or _has_digit(other.text, s, 1)):
            continue
        if _narrow(gray, last, first, min(h, hb)):
            return j
    return None


def _close_spaces(ln: OcrLine, gray: np.ndarray) -> OcrLine:
    text, boxes = ln.text, ln.char_boxes
    drop = set()
    for i in range(1, len(text) - 1):
        if not text[i].isspace() or not _numberish(text[i - 1]) or not _numberish(text[i + 1]):
            continue
        if not (_has_digit(text, i - 1, -1) or _has_digit(text, i + 1, 1)):
            continue
        a, b = boxes[i - 1], boxes[i + 1]
        if _narrow(gray, a, b, min(a[3] - a[1], b[3] - b[1])):
            drop.add(i)
    if not drop:
        return ln
    keep = [i for i in range(len(text)) if i not in drop]
    new_boxes = [boxes[i] for i in keep]
    # the neighbours of a dropped space meet (the gap held part of a glyph)
    for k in range(len(keep) - 1):
        if keep[k + 1] - keep[k] == 2:
            a, b = new_boxes[k], new_boxes[k + 1]
            mid = (a[2] + b[0]) / 2
            new_boxes[k] = (a[0], a[1], max(a[2], mid), a[3])
            new_boxes[k + 1] = (min(b[0], mid), b[1], b[2], b[3])
    return OcrLine("".join(text[i] for i in keep), ln.box, ln.score, ln.quad, new_boxes)


def tidy_lines(lines: list[OcrLine], img: np.ndarray) -> list[OcrLine]:
    """Numbers joined, then lines cut at table rules (a join never holds
    across a rule: the cut undoes it)."""
    if not lines or img.size == 0:
        return lines
    gray = gray_of(img)
    return split_at_rules(join_number_gaps(lines, gray), gray)


# A table's ruling line runs on this many glyph heights at least (a glyph's stroke stays within its line, a
# cell holding a wrapped value is two lines high).
PAGE_RULE_MIN = 2.5


def page_rules(gray: np.ndarray, glyph_px: float) -> tuple[list, list]:
    """(vertical, horizontal) ruling lines of the tables on a page image, as (x, y0, y1) / (y, x0, x1)
    pixels: runs of ink at least PAGE_RULE_MIN glyph heights long, one or a few pixels wide (a pixel of
    slant or jitter tolerated), the way ``core.pdf.text.table_rules`` reads a born-digital page's
    drawings."""
    if gray.size == 0 or glyph_px <= 0:
        return [], []
    dark = gray < _paper(gray) - INK_CONTRAST
    min_len = max(8, int(PAGE_RULE_MIN * glyph_px))
    vertical = [(x, y0, y1) for x, y0, y1 in _runs_along(dark, min_len)]
    horizontal = [(y, x0, x1) for y, x0, x1 in _runs_along(dark.T, min_len)]
    return vertical, horizontal


def _runs_along(dark: np.ndarray, min_len: int) -> list[tuple[float, float, float]]:
    """(column centre, start, end) of the runs of ink down the columns of ``dark`` at least ``min_len``
    long (a pixel of slant or jitter tolerated); runs in neighbouring columns that overlap are one rule."""
    wide = dark.copy()
    wide[1:, :] |= dark[:-1, :]  # a pixel of jitter along the run
    cols = np.zeros((wide.shape[1], wide.shape[0] + 2), np.int8)
    cols[:, 1:-1] = wide.T
    d = np.diff(cols, axis=1)
    starts, ends = np.argwhere(d == 1), np.argwhere(d == -1)
    keep = ends[:, 1] - starts[:, 1] >= min_len
    runs = sorted(zip(starts[keep, 0].tolist(), starts[keep, 1].tolist(), ends[keep, 1].tolist()))
    rules: list[list[float]] = []  # [first column, last column, y0, y1]
    for col, y0, y1 in runs:
        for r in rules:
            if col - r[1] <= 2 and y0 < r[3] and y1 > r[2]:
                r[1], r[2], r[3] = col, min(r[2], y0), max(r[3], y1)
                break
        else:
            rules.append([col, col, y0, y1])
    return [((r[0] + r[1]) / 2, r[2], r[3]) for r in rules if _thin(r)]


RULE_GROUP_MAX = 8  # columns a rule spans at most: wider is a block of ink, no rule
MAX_SLANT = 0.035  # ... unless it is a long line on a skewed scan (2 degrees: columns drift over its length)


def _thin(rule: list[float]) -> bool:
    width, length = rule[1] - rule[0], rule[3] - rule[2]
    return width <= RULE_GROUP_MAX or width <= MAX_SLANT * length
