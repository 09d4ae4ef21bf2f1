"""Find known identifiers in text that came back from the final file.

Normalised: full-width → half-width (NFKC), no whitespace, case folded;
numbers also lose separators and common OCR letter/digit confusions
(``core.detect.normalize``).  Fuzzy: a value of 6 or more characters (10
or more for numbers, which otherwise collide with dates and lab values)
still matches with one OCR confusion (one character substituted, missing
or extra).
"""
from __future__ import annotations

from dataclasses import dataclass

from core.detect.normalize import is_numeric_like, normalize_value

FUZZY_MIN_TEXT = 6
FUZZY_MIN_NUMBER = 10
MIN_NUMBER = 5  # shorter numbers (bed 12) are everywhere in a record


@dataclass(frozen=True)
class Identifier:
    """A value that must not appear in the output.  ``value`` is sensitive."""

    value: str
    category: str
    origin: str = ""


@dataclass(frozen=True)
class Hit:
    identifier: Identifier
    fuzzy: bool


def _norm_text(text: str, numeric: bool) -> str:
    return normalize_value(text, numeric=numeric).casefold()


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


def _fuzzy_find(hay: str, needle: str) -> bool:
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
            origin = k - offset
            for length in (n - 1, n, n + 1):
                for shift in (-1, 0, 1):
                    s = origin + shift
                    if s < 0 or s + length > len(hay):
                        continue
                    if within_one_edit(hay[s : s + length], needle):
                        return True
            start = k + 1
    return False


class Matcher:
    def __init__(self, identifiers):
        self.entries = []
        seen = set()
        for ident in identifiers:
            numeric = is_numeric_like(ident.value)
            needle = _norm_text(ident.value, numeric)
            if len(needle) < 2 or (numeric and len(needle) < MIN_NUMBER):
                continue
            if (needle, numeric) in seen:
                continue
            seen.add((needle, numeric))
            fuzzy = len(needle) >= (FUZZY_MIN_NUMBER if numeric else FUZZY_MIN_TEXT)
            self.entries.append((ident, needle, numeric, fuzzy))

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, text: str) -> list[Hit]:
        if not text or not self.entries:
            return []
        plain = _norm_text(text, False)
        numeric = None
        hits = []
        for ident, needle, is_num, fuzzy in self.entries:
            hay = plain
            if is_num:
                numeric = numeric if numeric is not None else _norm_text(text, True)
                hay = numeric
            if _exact(hay, needle, is_num):
                hits.append(Hit(ident, False))
            elif fuzzy and _fuzzy_find(hay, needle):
                hits.append(Hit(ident, True))
        return hits


def _exact(hay: str, needle: str, numeric: bool) -> bool:
    start = 0
    while True:
        k = hay.find(needle, start)
        if k < 0:
            return False
        if not numeric:
            return True
        before = hay[k - 1] if k > 0 else ""
        after = hay[k + len(needle)] if k + len(needle) < len(hay) else ""
        if not before.isdigit() and not after.isdigit():
            return True
        start = k + 1
