"""Does a box cut through text?

A box that covers only part of a character, or only part of a word, leaves
something readable next to the black: the tail of an organisation code, half
of a glyph a reader can still guess.  The review's case-wide pane flags such
boxes ("切字") so a preparer checks them.

Geometry only (page points, unrotated): the caller passes the page's
characters (text layer, and OCR glyph boxes for scanned pages) as lines of
:class:`core.models.Char`.

- a *glyph cut*: the central part of a visible character (its box less
  ``CORE_MARGIN`` on each side) is covered by more than ``LOW`` and less than
  ``HIGH`` of its area;
- a *word cut*: a word (a run of Latin letters and digits, e.g. a record
  number or a code; a Chinese character is a word of its own) has characters
  covered (≥ ``HIGH``) and characters left uncovered (≤ ``LOW``) by the same
  box.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from core.models import Char, Rect, as_rect
from core.pdf.geometry import area, intersection

LOW, HIGH = 0.15, 0.85
# A glyph's box includes its side bearings, and OCR glyph boxes are estimated
# from the line box (neighbours overlap): only the central part of a box is
# the character's ink, so an edge in the margin between two glyphs is no cut.
CORE_MARGIN = 0.2
WORD_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
GLYPH, WORD = "glyph", "word"


def _core(r: Rect) -> Rect:
    dx, dy = (r[2] - r[0]) * CORE_MARGIN, (r[3] - r[1]) * CORE_MARGIN
    return (r[0] + dx, r[1] + dy, r[2] - dx, r[3] - dy)


def _share(rect: Rect, char: Char) -> float:
    core = _core(char.rect)
    a = area(core)
    return intersection(rect, core) / a if a > 0 else 0.0


def _words(line: Sequence[Char]) -> list[list[Char]]:
    out: list[list[Char]] = []
    run: list[Char] = []
    for ch in line:
        if ch.c in WORD_CHARS or _fullwidth_alnum(ch.c):
            run.append(ch)
            continue
        if len(run) > 1:
            out.append(run)
        run = []
    if len(run) > 1:
        out.append(run)
    return out


def _fullwidth_alnum(c: str) -> bool:
    return len(c) == 1 and ("０" <= c <= "９" or "Ａ" <= c <= "Ｚ" or "ａ" <= c <= "ｚ")


def cut_kinds(rects: Iterable[Rect], lines: Iterable[Sequence[Char]]) -> set[str]:
    """Which kinds of cut (``glyph``, ``word``) the box made of ``rects`` makes."""
    rects = [as_rect(r) for r in rects]
    lines = [list(l) for l in lines]
    kinds: set[str] = set()
    shares: dict[int, float] = {}
    for line in lines:
        for ch in line:
            if ch.c.isspace() or area(ch.rect) <= 0:
                continue
            s = max((_share(r, ch) for r in rects), default=0.0)
            shares[id(ch)] = s
            if LOW < s < HIGH:
                kinds.add(GLYPH)
    for line in lines:
        for word in _words(line):
            for r in rects:
                covered = [ch for ch in word if _share(r, ch) >= HIGH]
                if not covered:
                    continue
                # uncovered by this box and by the other rects of the box alike
                if any(shares.get(id(ch), 0.0) <= LOW for ch in word):
                    kinds.add(WORD)
                    break
    return kinds


def cuts_text(rects: Iterable[Rect], lines: Iterable[Sequence[Char]]) -> bool:
    return bool(cut_kinds(rects, lines))
