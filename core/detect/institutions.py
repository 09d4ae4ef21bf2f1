"""Hospital and clinic names: a run of name characters ending in a suffix
(医院, 妇幼保健院, 卫生院, 社区卫生服务中心, 诊所 …) plus a configurable list
of local hospitals (``core/rules/institutions.yaml``, ``local_hospitals``)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple, Optional

from core.detect.base import AnalysisContext, PageInput, Recognizer, finding_from_span
from core.detect.registry import register
from core.models import Category, Finding
from core.detect.normalize import literal_alternation
from core.rules import load_rules

COUNTED = re.compile(r"\d+家")
NAME_CHARS = r"[\u4e00-\u9fff\u30070-9A-Za-z（）()·]"  # \u3007: 〇 of 第九〇八医院


@lru_cache(maxsize=1)
def _compiled():
    cfg = load_rules("institutions")
    suffixes = sorted(cfg["suffixes"], key=len, reverse=True)
    suffix_re = "|".join(re.escape(s) for s in suffixes)
    # a university's affiliated hospital is one name: 南京医科大学附属妇产医院, 某大学医学院第二附属医院
    affiliated = f"(?:{NAME_CHARS}{{0,4}}?附属{NAME_CHARS}{{0,14}}?(?:{suffix_re}))?"
    rx = re.compile(
        f"{NAME_CHARS}{{1,24}}?(?:{suffix_re}){affiliated}(?:[\u4e00-\u9fff]{{0,6}}(?:分院|院区|门诊部)|[（(][\u4e00-\u9fff]{{1,6}}(?:分院|院区|门诊部)[）)])?"
    )
    boundaries = sorted(cfg["boundaries"], key=len, reverse=True)
    boundary_re = re.compile("|".join(re.escape(b) for b in boundaries))
    local = [h for h in cfg.get("local_hospitals") or [] if h]
    local_re = re.compile(literal_alternation(local)) if local else None
    place_re = re.compile(literal_alternation(cfg["place_words"]))
    return _Rules(
        rx,
        _english(cfg.get("english") or {}),
        boundary_re,
        place_re,
        set(cfg["generic"]),
        cfg["place_words"],
        cfg["min_prefix"],
        local_re,
        suffixes,
        tuple(cfg.get("short_forms") or ()),
    )


class _Rules(NamedTuple):
    rx: re.Pattern
    english: Optional[tuple]  # (regex, generic words) of names in English
    boundary_re: re.Pattern
    place_re: re.Pattern
    generic: set
    place_words: list
    min_prefix: int
    local_re: Optional[re.Pattern]
    suffixes: list
    short_forms: tuple


CAPITALISED = r"(?:[A-Z][A-Za-z'’.\-]*|\d+(?:st|nd|rd|th))"


def _english(cfg: dict) -> Optional[tuple]:
    """(regex, generic words) of institution names in English: capitalised words (links between them)
    ending in a kind, then "of" and the capitalised words of a university or a place."""
    if not cfg.get("kinds"):
        return None
    kinds = "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in sorted(cfg["kinds"], key=len, reverse=True))
    link = "(?:" + literal_alternation(cfg.get("links") or ["of"]) + r")\s+"
    word = rf"{CAPITALISED}\s+(?:{link})*"
    tail = (
        f"(?:\\s+of\\s+(?:the\\s+)?{CAPITALISED}(?:\\s+(?:{link})?{CAPITALISED}){{0,6}}"
        r"|(?<=[A-Z]{4})(?:\s+[A-Z][A-Z'’.\-]+){1,6})?"  # a name in capitals runs on in capitals
    )
    rx = re.compile(f"(?<![A-Za-z])(?P<before>(?:{word}){{1,8}})(?i:{kinds})(?![A-Za-z]){tail}")
    return rx, frozenset(w.casefold() for w in cfg.get("generic_words") or ())


def english_names(text: str, start: int, end: int, english: tuple) -> list[tuple[int, int]]:
    """Spans of institution names in English in ``text[start:end]``: at least one word before the kind
    that is not a generic word."""
    rx, generic = english
    return [
        m.span()
        for m in rx.finditer(text, start, end)
        if any(w.casefold() not in generic for w in re.findall(CAPITALISED, m.group("before")))
    ]


def trim_left(name: str, boundary_re: re.Pattern, place_re: Optional[re.Pattern] = None) -> int:
    """Offset where the institution name really starts inside ``name``: after
    the last boundary word that is not part of a place word (the 和 of 协和,
    和平), and after an opening bracket the name does not close
    (外院（衢州市柯城区人民医院）: the name starts at 衢)."""
    kept = [m.span() for m in place_re.finditer(name)] if place_re is not None else []
    cut = 0
    for m in boundary_re.finditer(name):
        if any(s <= m.start() and m.end() <= e and e - s > m.end() - m.start() for s, e in kept):
            continue
        if m.end() < len(name) - 1:
            cut = max(cut, m.end())
    for m in COUNTED.finditer(name):  # 全国20家医院: a count of hospitals, not one
        cut = max(cut, m.end())
    return max(cut, after_open_bracket(name))


def after_open_bracket(name: str) -> int:
    """Offset after the last opening bracket ``name`` does not close (0: none)."""
    for i in range(len(name) - 1, -1, -1):
        if name[i] in "（(" and not any(c in "）)" for c in name[i + 1 :]) and i + 1 < len(name) - 1:
            return i + 1
    return 0


def looks_like_institution(
    name: str, suffix: str, generic: set, place_words, min_prefix: int, short_forms: tuple = ()
) -> bool:
    prefix = name[: len(name) - len(suffix)]
    if name in generic or not prefix:
        return False
    if suffix in short_forms:
        return True
    if len(prefix) < min_prefix:
        return prefix in ("省", "市", "县", "区")  # "省妇幼保健院": one per province
    return any(w in prefix for w in place_words) or len(prefix) >= 4


@register
class InstitutionRecognizer(Recognizer):
    name = "institutions"
    order = 44

    def analyze(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        r = _compiled()
        text = page.text.text
        out: list[Finding] = []
        for ls, le in page.text.lines():
            for m in r.rx.finditer(text, ls, le):
                raw = m.group(0)
                start = m.start() + trim_left(raw, r.boundary_re, r.place_re)
                name = text[start : m.end()]
                suffix = next((s for s in r.suffixes if s in name), "")
                if not looks_like_institution(
                    name, suffix, r.generic, r.place_words, r.min_prefix, r.short_forms
                ):
                    continue
                f = finding_from_span(page, start, m.end(), Category.INSTITUTION, self.name, 0.9)
                if f:
                    out.append(f)
                    ctx.add_seed(name, Category.INSTITUTION.value, "found:institutions")
            if r.english:
                for s, e in english_names(text, ls, le, r.english):
                    f = finding_from_span(page, s, e, Category.INSTITUTION, self.name, 0.9)
                    if f:
                        out.append(f)
                        ctx.add_seed(text[s:e], Category.INSTITUTION.value, "found:institutions")
            if r.local_re:
                for m in r.local_re.finditer(text, ls, le):
                    f = finding_from_span(page, m.start(), m.end(), Category.INSTITUTION, self.name, 0.95)
                    if f:
                        out.append(f)
        return out
