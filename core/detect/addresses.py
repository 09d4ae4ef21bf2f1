"""Addresses in free text: a chain of administrative-division names
(``core/rules/data/*.csv``) followed by a street-level part, or a road +
house number on its own."""

from __future__ import annotations

import csv
import re
from functools import lru_cache

from core.detect.base import AnalysisContext, PageInput, Recognizer, finding_from_span
from core.detect.registry import register
from core.models import Category, Finding
from core.detect.normalize import literal_alternation
from core.rules import RULES_DIR, load_rules

ROAD = re.compile(
    r"[\u4e00-\u9fff]{2,8}(?:路|街|大道|大街|巷|弄|胡同) ?\d+ ?号(?:院)?(?: ?\d+ ?(?:栋|幢|号楼))?(?: ?\d+ ?单元)?"
    r"(?: ?\d+ ?(?:室|号))?"  # one space may stand where OCR saw a wide gap
)


@lru_cache(maxsize=1)
def division_regex() -> re.Pattern:
    names: set[str] = set()
    for fname in ("provinces.csv", "cities.csv", "areas.csv"):
        with open(RULES_DIR / "data" / fname, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                n = row["name"].strip()
                if n and n not in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
                    names.add(n)
    return re.compile(f"(?:{literal_alternation(names)})+")


@lru_cache(maxsize=1)
def street_tail() -> re.Pattern:
    return re.compile(load_rules("patterns")["address"]["street_tail"])


@lru_cache(maxsize=1)
def building_tail() -> re.Pattern:
    """A compound's name (optional) and the building, unit and flat after a street-level part."""
    cfg = load_rules("patterns")["address"]
    return re.compile(f"(?:{cfg['compound']})?{cfg['building']}")


@lru_cache(maxsize=1)
def compound_address() -> tuple[re.Pattern, re.Pattern]:
    """A residential compound with a building number and no division before it (家住阳光花园27栋), and the
    cue words its match may start with."""
    cfg = load_rules("patterns")["address"]
    numbered = r"(?= ?[0-9A-Za-z]{1,4} ?(?:栋|幢|号楼|座)| ?\d{1,3} ?单元)"
    return re.compile(f"{cfg['compound']}{numbered}{cfg['building']}"), re.compile(
        literal_alternation(cfg["compound_cues"])
    )


def _with_building(text: str, end: int) -> int:
    """End of an address at ``end`` once a compound name and building after it are added."""
    m = building_tail().match(text, end)
    return m.end() if m else end


def _after_cues(text: str, start: int, end: int, cues: re.Pattern, min_len: int = 1) -> int:
    """Where a compound's or road's name starts: after the last cue word (of at least ``min_len``
    characters) inside the match."""
    cut = start
    for m in cues.finditer(text, start, end):
        if m.end() - m.start() >= min_len:
            cut = max(cut, m.end())
    return cut


@lru_cache(maxsize=1)
def form_unit() -> re.Pattern:
    return re.compile(load_rules("patterns")["address"]["form_unit"])


# The word (2+ characters) in the blank before a unit; the blank's underline may read as "_".
FORM_PIECE = re.compile(r"([^\s_＿：:，,。；;、/（()）]{2,12})[\s_＿]*$")
FORM_CHAIN_GAP = 20  # characters at most between two units of one address line


def form_blank_spans(text: str) -> list[tuple[int, int]]:
    """The values written into the blanks of a form's address line, one span per blank: the word right
    before each printed unit of a chain of two or more units."""
    units = list(form_unit().finditer(text))
    chains, chain = [], units[:1]
    for prev, unit in zip(units, units[1:]):
        if unit.start() - prev.end() <= FORM_CHAIN_GAP:
            chain.append(unit)
        else:
            chains.append(chain)
            chain = [unit]
    chains.append(chain)
    spans = []
    for chain in (c for c in chains if len(c) >= 2):
        start = max(0, chain[0].start() - FORM_CHAIN_GAP)
        for unit in chain:
            piece = FORM_PIECE.search(text, start, unit.start())
            if piece:
                spans.append(piece.span(1))
            start = unit.end()
    return spans


@register
class AddressRecognizer(Recognizer):
    name = "address"
    order = 42

    def analyze(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        text = page.text.text
        spans: list[tuple[int, int, float]] = []
        for m in division_regex().finditer(text):
            tail = street_tail().match(text, m.end())
            if tail and tail.end() > m.end():
                spans.append((m.start(), _with_building(text, tail.end()), 0.9))
            elif _division_count(m.group(0)) >= 2 and not _followed_by_institution(text, m.end()):
                spans.append((m.start(), m.end(), 0.6))
        for s, e in form_blank_spans(text):
            spans.append((s, e, 0.85))
        compound, cues = compound_address()
        for m in ROAD.finditer(text):
            start = _after_cues(text, m.start(), m.end(), cues, min_len=2)  # 于家堡路 keeps its 于
            if not any(s <= start < e for s, e, _ in spans):
                spans.append((start, _with_building(text, m.end()), 0.8))
        for m in compound.finditer(text):
            start = _after_cues(text, m.start(), m.end(), cues)
            if not any(s <= start < e for s, e, _ in spans):
                spans.append((start, m.end(), 0.8))
        out = []
        for s, e, conf in spans:
            f = finding_from_span(page, s, e, Category.ADDRESS, self.name, conf)
            if f:
                out.append(f)
        return out


def _division_count(chain: str) -> int:
    return len(re.findall(r"省|自治区|市|州|盟|县|区|旗", chain))


def _followed_by_institution(text: str, pos: int) -> bool:
    return bool(re.match(r"[\u4e00-\u9fff]{0,10}(?:医院|卫生院|保健院|中心|诊所)", text[pos : pos + 14]))
