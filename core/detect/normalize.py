"""Normalised search: find a value in page text despite spaces between
characters, full-width digits/letters and common OCR confusions, and map
the hit back to offsets in the original text."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# OCR confusions that matter for numbers (letters read for digits).
_DIGIT_CONFUSIONS = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "D": "0",
        "Q": "0",
        "I": "1",
        "l": "1",
        "|": "1",
        "i": "1",
        "Z": "2",
        "z": "2",
        "S": "5",
        "s": "5",
        "B": "8",
        "G": "6",
        "g": "9",
    }
)
_SEPARATORS = set(" \t\u3000-—_·.")


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


_CHAR_FORMS: dict = {}  # (character, numeric) -> its normalised form ("" when dropped); a page reuses few


def _char_form(ch: str, numeric: bool) -> str:
    n = nfkc(ch)
    if not n or n.isspace() or (numeric and n in _SEPARATORS):
        return ""
    return n.translate(_DIGIT_CONFUSIONS).upper() if numeric else n


# Planes that can hold format characters: the BMP, the SMP and plane 14
# (tags, variation selectors).  Planes 2-3 are reserved for CJK ideographs,
# 4-13 are unassigned and 15-16 are private use, so reading the category of
# their 720 000 code points only cost start-up time (0.3 s per process).
FORMAT_PLANES = (0, 1, 14)


@lru_cache(maxsize=1)
def invisible_chars() -> frozenset:
    """Every Unicode format character (category Cf: U+200B, U+200D, U+2060,
    U+FEFF, the soft hyphen …).  HTML-to-PDF exports leave them between
    labels, values and inside numbers; they print nothing."""
    return frozenset(
        chr(c)
        for plane in FORMAT_PLANES
        for c in range(plane << 16, (plane + 1) << 16)
        if unicodedata.category(chr(c)) == "Cf"
    )


def is_invisible(ch: str) -> bool:
    return ch in invisible_chars()


@lru_cache(maxsize=1)
def _invisible_to_space() -> dict:
    return {ord(c): " " for c in invisible_chars()}


def visible_text(text: str) -> str:
    """``text`` with every invisible character replaced by a space: the same
    length (offsets stay valid), searchable by patterns that allow spaces."""
    return text.translate(_invisible_to_space())


def literal_alternation(words) -> str:
    """A regex alternation of literal ``words``, longest first (a shorter word
    never wins where a longer one starting at the same place matches)."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


# Every dash (Unicode's dash punctuation and the minus signs) but the wave dashes of ranges (3〜5天)
_DASHES = {
    c: 0x2D
    for c in [*range(0x2010, 0x2016), 0x2E3A, 0x2E3B, 0xFE58, 0xFE63, 0x2212, 0x2043, 0x058A, 0x1806, 0x2E17]
}
# A digit printed in a box of its own (one box per digit of an ID number on a form) is read by OCR as the
# circled or boxed digit (④ for 4): ①-⑨, ⓪, ⓵-⓽, ❶-❾, ➀-➈, ➊-➒ as the digit, one character each (⑩ and
# above stand for two digits and are kept).
_BOXED_DIGITS = {
    0x24EA: 0x30,
    **{start + k: 0x31 + k for start in (0x2460, 0x24F5, 0x2776, 0x2780, 0x278A) for k in range(9)},
}
_PLAIN = {**_DASHES, **_BOXED_DIGITS}
# Full-width ASCII (！ to ～, the ideographic space) as typed by Chinese input methods: one character each
_HALF_WIDTH = {**{c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}, 0x3000: 0x20, **_PLAIN}


def half_width(text: str) -> str:
    """``text`` with full-width letters, digits and signs as their ASCII
    forms (３６０１…Ｘ -> 3601…X), every dash as "-" (139‒1234‒5678) and a
    boxed digit as the digit (④ -> 4): the same length, so offsets stay valid."""
    return text.translate(_HALF_WIDTH)


def plain_forms(text: str) -> str:
    """``text`` with every dash as "-" and a boxed digit as the digit (④ -> 4), the same length."""
    return text.translate(_PLAIN)


@lru_cache(maxsize=1)
def invisible_class() -> str:
    """A regex character-class body for whitespace and invisible characters,
    consecutive code points written as ranges (a class of 160 single
    characters repeated in every label pattern made compiling the label
    rules cost seconds at start-up)."""
    return r"\s" + "".join(_class_item(a, b) for a, b in _runs(sorted(ord(c) for c in invisible_chars())))


def _runs(points: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for p in points:
        if out and p == out[-1][1] + 1:
            out[-1] = (out[-1][0], p)
        else:
            out.append((p, p))
    return out


def _class_item(a: int, b: int) -> str:
    return re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"


@lru_cache(maxsize=65536)
def normalize_value(value: str, numeric: bool | None = None) -> str:
    v = "".join(ch for ch in nfkc(value) if not ch.isspace() and not is_invisible(ch))
    if numeric is None:
        numeric = is_numeric_like(v)
    if numeric:
        v = "".join(ch for ch in v if ch not in _SEPARATORS).translate(_DIGIT_CONFUSIONS).upper()
    return v


@lru_cache(maxsize=65536)
def is_numeric_like(value: str) -> bool:
    v = "".join(ch for ch in nfkc(value) if ch.isalnum())
    return bool(v) and sum(ch.isdigit() for ch in v) >= max(1, int(len(v) * 0.6))


class NormalizedText:
    """``text`` with whitespace, invisible characters (and, for numeric
    search, separators) removed, full-width folded, with a map from
    normalised offsets to original ones.

    ``breaks`` holds the normalised offsets that follow a line break or an
    invisible character: digits on either side of one do not make "a longer
    number" (a value at a line end followed by a date on the next line is
    still the value)."""

    def __init__(self, text: str, numeric: bool = False):
        chars: list[str] = []
        index: list[int] = []
        breaks: set[int] = set()
        pending_break = False
        invisible, forms = invisible_chars(), _CHAR_FORMS
        if len(forms) > 100_000:  # bounded: a file of many distinct characters does not grow it
            forms.clear()
        for i, ch in enumerate(text):
            if ch == "\n" or ch in invisible:
                pending_break = True
                continue
            n = forms.get((ch, numeric))
            if n is None:
                n = forms[(ch, numeric)] = _char_form(ch, numeric)
            if not n:
                continue
            if pending_break:
                breaks.add(len(chars))
                pending_break = False
            for c in n:
                chars.append(c)
                index.append(i)
        self.text = "".join(chars)
        self.index = index
        self.breaks = breaks

    def joined(self, k: int) -> bool:
        """Normalised characters ``k - 1`` and ``k`` stand on one line."""
        return 0 < k < len(self.text) and k not in self.breaks

    def find_all(self, needle: str) -> list[tuple[int, int]]:
        """Original (start, end) offsets of every occurrence of ``needle``
        (already normalised the same way).  Hits inside a longer run of
        digits are skipped for numeric needles."""
        out: list[tuple[int, int]] = []
        start = 0
        if not needle:
            return out
        while True:
            k = self.text.find(needle, start)
            if k < 0:
                return out
            end = k + len(needle)
            if not (needle[0].isdigit() and self.joined(k) and self.text[k - 1].isdigit()) and not (
                needle[-1].isdigit() and self.joined(end) and self.text[end].isdigit()
            ):
                out.append((self.index[k], self.index[end - 1] + 1))
            start = k + 1


def find_value(text: str, value: str) -> list[tuple[int, int]]:
    numeric = is_numeric_like(value)
    return NormalizedText(text, numeric).find_all(normalize_value(value, numeric))


CJK = r"\u4e00-\u9fff"
CJK_RE = re.compile(f"[{CJK}]")


def label_regex(label: str, on_visible_text: bool = False) -> str:
    """'姓名' -> '姓[\\s…]*名': labels are often spaced out in forms, or
    have invisible characters between their characters.  For text that went
    through :func:`visible_text` (invisible characters already spaces) the
    gap is plain whitespace, which compiles far faster."""
    gap = r"\s*" if on_visible_text else f"[{invisible_class()}]*"
    return gap.join(re.escape(ch) for ch in label if not ch.isspace())
