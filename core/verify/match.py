"""The leak gate's own matching: known identifiers in text that came back
from the output file.

Deliberately simpler than (and independent of) the detector's
``core.detect.normalize``: NFKC (full-width -> half-width, Kangxi radicals -> ideographs; the radical forms
NFKC keeps, from ``core/rules/ideograph_forms.yaml``), whitespace and
Unicode format characters (Cf: zero-width space, joiners, BOM ...) dropped,
case folded.  There is no "inside a longer number" shortcut: an inpatient
number followed, across a line break, by a date's digits is a hit.
Numbers of at least 7 digits are also searched with separators removed
(``138-1234-5678``).  Fuzzy (one substitution, missing or extra
character) only for OCR text, for values of 6+ characters (10+ for
numbers, which otherwise collide with dates and lab values).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from core.rules import load_rules

MIN_NUMBER_DIGITS = 5  # shorter numbers (bed 12) are everywhere in a record
MIN_TEXT_CHARS = 2
COMPACT_MIN_DIGITS = 7  # long numbers are also searched without separators
FUZZY_MIN_TEXT = 6
FUZZY_MIN_NUMBER = 10


@dataclass(frozen=True)
class Identifier:
    """A value that must not appear in the output.  ``value`` is sensitive."""

    value: str
    category: str = ""
    origin: str = ""


@dataclass(frozen=True)
class Hit:
    identifier: Identifier
    fuzzy: bool


@lru_cache(maxsize=1)
def _radicals() -> dict[int, str]:
    """CJK Radicals Supplement forms that stand for an ideograph (⻓ for 长); NFKC leaves them as they are."""
    return {ord(k): v for k, v in (load_rules("ideograph_forms")["supplement"] or {}).items()}


def gate_norm(text: str) -> str:
    """NFKC (and radical forms as their ideographs, digits of every script as ASCII digits), no whitespace,
    no format (Cf) characters or marks (variation selectors, combining marks), case folded."""
    out = []
    for ch in unicodedata.normalize("NFKC", text or "").translate(_radicals()):
        if ch.isspace() or unicodedata.category(ch) in ("Cf", "Mn", "Me"):
            continue
        out.append(str(unicodedata.decimal(ch)) if ch > "\x7f" and unicodedata.category(ch) == "Nd" else ch)
    return "".join(out).casefold()


def compact(norm: str) -> str:
    """Letters and digits only (separators of numbers dropped)."""
    return "".join(ch for ch in norm if ch.isalnum())


def digit_count(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def is_number(norm: str) -> bool:
    alnum = compact(norm)
    return bool(alnum) and digit_count(alnum) >= max(1, int(len(alnum) * 0.6))


def searchable(value: str) -> bool:
    norm = gate_norm(value)
    if is_number(norm):
        return digit_count(norm) >= MIN_NUMBER_DIGITS
    return len(norm) >= MIN_TEXT_CHARS


def within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance(a, b) <= 1."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        return sum(x != y for x, y in zip(a, b)) == 1
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def fuzzy_find(hay: str, needle: str) -> bool:
    """One-edit match using the pigeonhole rule: with a single edit, the
    first or the second half of ``needle`` occurs unchanged."""
    n = len(needle)
    half = n // 2
    for part, offset in ((needle[:half], 0), (needle[half:], half)):
        start = 0
        while True:
            k = hay.find(part, start)
            if k < 0:
                break
            for length in (n - 1, n, n + 1):
                for shift in (-1, 0, 1):
                    s = k - offset + shift
                    if 0 <= s and s + length <= len(hay) and within_one_edit(hay[s : s + length], needle):
                        return True
            start = k + 1
    return False


@dataclass(frozen=True)
class _Needle:
    identifier: Identifier
    plain: str
    compact: str  # "" unless a long number
    fuzzy: bool


class Matcher:
    """Search many identifiers in one text; each identifier once."""

    def __init__(self, identifiers):
        self.needles: list[_Needle] = []
        seen: set[str] = set()
        for ident in identifiers:
            plain = gate_norm(ident.value)
            if not searchable(ident.value) or plain in seen:
                continue
            seen.add(plain)
            number = is_number(plain)
            long_number = number and digit_count(plain) >= COMPACT_MIN_DIGITS
            fuzzy = len(plain) >= (FUZZY_MIN_NUMBER if number else FUZZY_MIN_TEXT)
            self.needles.append(_Needle(ident, plain, compact(plain) if long_number else "", fuzzy))

    def __len__(self) -> int:
        return len(self.needles)

    def search(self, text: str, fuzzy: bool = True) -> list[Hit]:
        if not text or not self.needles:
            return []
        plain = gate_norm(text)
        squeezed = None
        hits = []
        for n in self.needles:
            if n.plain in plain:
                hits.append(Hit(n.identifier, False))
                continue
            if n.compact:
                squeezed = compact(plain) if squeezed is None else squeezed
                if n.compact in squeezed:
                    hits.append(Hit(n.identifier, False))
                    continue
            if fuzzy and n.fuzzy and fuzzy_find(plain, n.plain):
                hits.append(Hit(n.identifier, True))
        return hits

    def neutral(self, text: str) -> "Matcher":
        """A matcher without the identifiers that occur in ``text``."""
        hay = gate_norm(text)
        out = Matcher([])
        out.needles = [n for n in self.needles if n.plain not in hay]
        return out
