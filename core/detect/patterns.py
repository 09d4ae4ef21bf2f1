"""Pattern recognizers with validation: ID-card numbers (check digit),
phones, e-mail, long record numbers, street addresses.  Regexes are data
(``core/rules/patterns.yaml``)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Optional
from functools import lru_cache

from core.detect.base import AnalysisContext, PageInput, Recognizer, finding_from_span
from core.detect.normalize import half_width, normalize_value, visible_text
from core.detect.registry import register
from core.models import Category, Finding
from core.rules import load_rules

EXTENSION = re.compile(r"转|分机")
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def _valid_date(y: int, m: int, d: int) -> bool:
    try:
        dt.date(y, m, d)
        return 1880 <= y <= dt.date.today().year
    except ValueError:
        return False


def id18_is_valid(value: str) -> bool:
    v = normalize_value(value, numeric=True)
    if not re.fullmatch(r"\d{17}[\dX]", v):
        return False
    return _valid_date(int(v[6:10]), int(v[10:12]), int(v[12:14])) and id_check_digit(v[:17]) == v[17]


def id_confidence(value: str) -> float:
    """1.0 valid 18-digit; 0.9 valid 15-digit; 0.75 right shape, bad check
    digit or OCR-confused letters but a plausible birth date; else 0."""
    v = normalize_value(value, numeric=True)
    if len(v) == 18 and id18_is_valid(v):
        return 1.0
    if len(v) == 15 and v.isdigit() and _valid_date(1900 + int(v[6:8]), int(v[8:10]), int(v[10:12])):
        return 0.9
    if (
        len(v) == 18
        and re.fullmatch(r"\d{17}[\dX]", v)
        and _valid_date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    ):
        return 0.75
    return 0.0


@lru_cache(maxsize=1)
def _patterns() -> dict:
    return load_rules("patterns")


def _is_date_number(digits: str) -> bool:
    if len(digits) == 8 and digits.isdigit():
        return _valid_date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    if len(digits) in (12, 14) and digits.isdigit():  # yyyymmddHHMM(SS)
        return _valid_date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    return False


def is_tick_sequence(digits: str, min_terms: int = 4) -> bool:
    """True when ``digits`` reads as the tick labels of a chart axis run together (OCR drops the gaps of
    "2 6 10 14 18 22" on a temperature chart): at least ``min_terms`` numbers of 1-3 digits, no leading
    zero, rising by one small or round step (≤ 6, or a multiple of 5).  A step of 1 counts only between
    numbers of two or more digits (35 36 37 38); "12345678" stays a number."""
    for first in range(1, 4):
        for second in range(1, 4):
            a, b = digits[:first], digits[first : first + second]
            if not b or a.startswith("0") or b.startswith("0") or int(b) <= int(a):
                continue
            step, pos, prev, terms = int(b) - int(a), first + second, int(b), 2
            if (step == 1 and prev < 10) or not (step <= 6 or step % 5 == 0):
                continue  # an axis steps by a small or a round amount (4 hours, 20 beats)
            while pos < len(digits) and digits.startswith(str(prev + step), pos):
                prev += step
                pos += len(str(prev))
                terms += 1
            if pos == len(digits) and terms >= min_terms:
                return True
    return False


GROUPED_MIN_DIGITS = 12  # a dash-grouped number this long is an identifier (health file, card), not a date


class _RegexRecognizer(Recognizer):
    """Runs compiled regexes over the page text; subclasses validate."""

    category: Category = Category.RECORD_NUMBER
    order = 40
    reads_groups = False  # also read letter-spaced runs and digit groups without their spaces

    def regexes(self) -> list[re.Pattern]:
        raise NotImplementedError

    def confidence(self, value: str) -> float:
        return 1.0

    def analyze(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        out: list[Finding] = []
        seen: set[tuple[int, int]] = set()
        text = half_width(visible_text(page.text.text))  # same length: offsets hold
        sources: list[tuple[str, Optional[list[int]]]] = [(text, None)]
        if self.reads_groups:  # validated patterns only: a row of one-digit table cells forms no number
            sources += [despaced(text), despaced(text, GROUP_SPACE)]
        for source, place in sources:
            for rx in self.regexes():
                for m in rx.finditer(source):
                    s, e = (
                        (m.start(), m.end()) if place is None else (place[m.start()], place[m.end() - 1] + 1)
                    )
                    if any(s < e2 and s2 < e for s2, e2 in seen):
                        continue
                    conf = self.confidence(m.group(0))
                    if conf <= 0:
                        continue
                    f = finding_from_span(page, s, e, self.category, self.name, conf)
                    if f:
                        seen.add((s, e))
                        out.append(f)
        return out


# Four or more single letters or digits, one space between each: a letter-spaced value as the extractor
# or OCR writes it ("1 3 9 1 2 3 4 5 6 7 8").
SPACED_RUN = re.compile(r"(?<![0-9A-Za-z])(?:[0-9A-Za-z] ){3,}[0-9A-Za-z](?![0-9A-Za-z])")


# One space between two groups of a number (3601 0219 8002 2475 9X, 139 1234 5678).  Not a line break:
# OCR lines of a vital-signs table (22:04 / 140 / 37 / 146) would read as one phone number.
GROUP_SPACE = re.compile(r"(?<=[0-9]) (?=[0-9Xx])")


def despaced(text: str, spaces: Optional[re.Pattern] = None) -> tuple[str, list[int]]:
    """``text`` without the spaces inside letter-spaced runs (or those ``spaces``
    matches), and for each of its characters the offset in ``text``."""
    keep = [True] * len(text)
    if spaces is not None:
        for m in spaces.finditer(text):
            keep[m.start()] = False
    else:
        for m in SPACED_RUN.finditer(text):
            for k in range(m.start() + 1, m.end(), 2):
                keep[k] = False
    where = [k for k, kept in enumerate(keep) if kept]
    return "".join(text[k] for k in where), where


@register
class IdNumberRecognizer(_RegexRecognizer):
    name = "id_number"
    category = Category.ID_NUMBER
    reads_groups = True  # the check digit and the birth date validate what the groups form

    def regexes(self):
        p = _patterns()["id_number"]
        return [re.compile(p["id18"]), re.compile(p["id15"]), re.compile(p["id18_fuzzy"])]

    def confidence(self, value):
        return id_confidence(value)


@register
class PhoneRecognizer(_RegexRecognizer):
    name = "phone"
    category = Category.PHONE
    reads_groups = True

    def regexes(self):
        p = _patterns()["phone"]
        return [re.compile(p["mobile"]), re.compile(p["landline_with_area"])]

    def confidence(self, value):
        digits = re.sub(r"\D", "", EXTENSION.split(value)[0])
        if digits.startswith("0") and not 10 <= len(digits) <= 16:  # area code + number (+ "-123" extension)
            return 0.0
        return 0.95


@register
class EmailRecognizer(_RegexRecognizer):
    name = "email"
    category = Category.EMAIL

    def regexes(self):
        return [re.compile(_patterns()["email"])]


@register
class WebAddressRecognizer(_RegexRecognizer):
    name = "web_address"
    category = Category.WEB_ADDRESS

    def regexes(self):
        return [re.compile(_patterns()["web_address"])]


@register
class RecordNumberRecognizer(_RegexRecognizer):
    """Unlabeled long numbers (8+ digits, or 12+ in dash-joined groups) that are not dates or ID numbers."""

    name = "record_number"
    category = Category.RECORD_NUMBER
    order = 45

    def regexes(self):
        p = _patterns()["record_number"]
        return [re.compile(p["long_number"]), re.compile(p["grouped_number"]), re.compile(p["bed"])]

    def confidence(self, value):
        digits = re.sub(r"\D", "", value)
        if len(digits) <= 3:
            return 0.8  # a bed number before 床 (the only short match)
        if "-" in value and len(digits) < GROUPED_MIN_DIGITS:
            return 0.0  # a date (2024-03-05), a range, a short code
        if _is_date_number(digits) or id_confidence(value) > 0 or is_tick_sequence(digits):
            return 0.0
        if digits.startswith("1") and len(digits) == 11:
            return 0.0  # a phone, reported by the phone recognizer
        return 0.7
