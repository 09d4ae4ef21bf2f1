"""Clinical words that look like person names but never are (eponyms such
as 墨菲氏征, phrases such as 平素月经, brands such as "(金山专用)").  Data:
``core/rules/medical_terms.yaml``."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from core.detect.normalize import literal_alternation
from core.rules import load_rules


@lru_cache(maxsize=1)
def _term_regexes() -> tuple[re.Pattern, re.Pattern, re.Pattern | None]:
    cfg = load_rules("medical_terms")
    stems = literal_alternation(w for w in cfg["eponyms"] if len(w) > 1)
    singles = "".join(re.escape(s) for s in cfg["eponyms"] if len(s) == 1)
    suffixes = literal_alternation(cfg["eponym_suffixes"])
    phrases = literal_alternation(cfg["phrases"])
    tails = literal_alternation(_stem_tails(cfg["eponyms"]))
    tail_suffixes = literal_alternation(cfg["eponym_tail_suffixes"])
    # any one character + 氏 + an eponym suffix (瑞氏反应, 布氏杆菌); listed stems also with 氏 alone; the tail
    # of a long stem before a sign's suffix (斯基征: its head 巴宾 read on another line)
    terms = re.compile(
        f"(?:{stems})(?:{suffixes})|[{singles}]氏(?:{suffixes})?|[\u4e00-\u9fff]氏(?:{suffixes})|{phrases}"
        f"|(?:{tails})(?:{tail_suffixes})"
    )
    followers = re.compile(literal_alternation(cfg["not_name_followers"]))
    units = literal_alternation(cfg.get("measurement_units") or [])
    measured = re.compile(rf"[:：]?[<>≤≥约]?\d+(?:[.．]\d+)?(?:{units})(?![A-Za-z])") if units else None
    return terms, followers, measured


def _stem_tails(stems: list[str]) -> list[str]:
    """The last two or more characters of every eponym stem of three or more Chinese characters (巴宾斯基 ->
    宾斯基, 斯基)."""
    cjk = [w for w in stems if len(w) >= 3 and all("\u4e00" <= c <= "\u9fff" for c in w)]
    return sorted({w[k:] for w in cjk for k in range(1, len(w) - 1)})


def _squeezed(text: str) -> tuple[str, list[int]]:
    """``text`` without whitespace and invisible (Cf) characters, and the
    offset in ``text`` of each kept character: a term broken over a line
    ("墨菲\n氏征") or split by a zero-width space is still one term."""
    keep = [i for i, c in enumerate(text) if not c.isspace() and unicodedata.category(c) != "Cf"]
    return "".join(text[i] for i in keep), keep


def term_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) in ``text`` of every clinical term, also across line breaks."""
    flat, where = _squeezed(text)
    return [(where[m.start()], where[m.end() - 1] + 1) for m in _term_regexes()[0].finditer(flat)]


def is_clinical_term(word: str) -> bool:
    """``word`` is one clinical term or phrase as a whole (月经, 墨菲氏征): no person's name."""
    return bool(_term_regexes()[0].fullmatch(_squeezed(word)[0]))


def is_clinical_word(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """``text[start:end]`` (a name candidate) begins inside a clinical term
    ("平素月", "日闫春" in 今日闫春), or is followed, also across a line
    break, by a word that makes it a brand or an eponym.  A term further
    inside ("王明确") does not count."""
    if any(s <= start < e for s, e in spans):
        return True
    flat, where = _squeezed(text[end : end + 16])
    return bool(_term_regexes()[1].match(flat))


def followed_by_measure(text: str, end: int) -> bool:
    """A number with a unit follows ``text[:end]`` ("宫高 32cm"): the word before it is what was measured.
    For candidates without a cue only: "患者龚丽 160cm" is still a patient."""
    measured = _term_regexes()[2]
    flat, _ = _squeezed(text[end : end + 16].split("\n", 1)[0])  # on the same line: not the next cell's value
    return measured is not None and bool(measured.match(flat))
