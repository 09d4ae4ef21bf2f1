"""The research preset (GB/T 37964 style): generalise indirect identifiers.

On top of everything the review policy hides:

- **ages** to bands (``32岁`` → ``30-34岁``; months/days → ``<1岁``);
- **dates** shifted by one secret offset per case, so every interval in the
  case is kept (``date_mode: shift``), or reduced to year-month
  (``date_mode: year_month``).  The offset is an HMAC-SM3 of the case id
  under the storage key: stable across exports of the case, unknowable
  without the key, never 0;
- **addresses** to province level (``江苏省南京市…`` → ``江苏省``);
- **rare free-text items** (职业, 民族, 籍贯 … with an uncommon value) are
  flagged for manual review, not changed.

Settings live in ``core/rules/policies/research.yaml``.  Values found here
are sensitive; flags carry masked values only.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Optional

from core.masking import mask
from core.models import Category, Finding

PROVINCES = [
    "北京市",
    "天津市",
    "上海市",
    "重庆市",
    "河北省",
    "山西省",
    "辽宁省",
    "吉林省",
    "黑龙江省",
    "江苏省",
    "浙江省",
    "安徽省",
    "福建省",
    "江西省",
    "山东省",
    "河南省",
    "湖北省",
    "湖南省",
    "广东省",
    "海南省",
    "四川省",
    "贵州省",
    "云南省",
    "陕西省",
    "甘肃省",
    "青海省",
    "台湾省",
    "内蒙古自治区",
    "广西壮族自治区",
    "西藏自治区",
    "宁夏回族自治区",
    "新疆维吾尔自治区",
    "香港特别行政区",
    "澳门特别行政区",
]
SHORT = {
    p: re.sub(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$", "", p) for p in PROVINCES
}

DATE_RE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?P<s1>[-/.年])\s*(?P<m>\d{1,2})\s*(?P<s2>[-/.月])\s*(?P<d>\d{1,2})(?P<s3>\s*日)?(?!\d)"
)
YEAR_MONTH_RE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>\d{1,2})\s*月(?!\s*\d)")
AGE_YEARS_RE = re.compile(
    r"(?<![\d.])(?P<n>\d{1,3})\s*(?:周岁|岁)(?:\s*\d{1,2}\s*个?月)?(?:\s*\d{1,2}\s*天)?"
)
AGE_CUED_RE = re.compile(
    r"(?:年龄|日龄|月龄)\s*[:：]?\s*(?P<v>(?:\d{1,3}\s*(?:周岁|岁))?\s*(?:\d{1,2}\s*个?月)?\s*(?:\d{1,3}\s*(?:天|日|小时|h))?)"
)


def fold(text: str) -> str:
    """Full-width → half-width (NFKC) where that keeps one character per
    character, so offsets stay valid (OCR often reads ２０２５－０３－０２)."""
    out = []
    for c in text or "":
        n = unicodedata.normalize("NFKC", c)
        out.append(n if len(n) == 1 else c)
    return "".join(out)


def _band(years: float, bands: list) -> str:
    for lo, hi, label in bands:
        if lo <= years < hi:
            return str(label)
    return str(bands[-1][2]) if bands else ""


def age_years(text: str) -> Optional[float]:
    """Age in years from 32岁 / 1岁2个月 / 3个月 / 5天 / 12小时; None if none."""
    t = re.sub(r"\s+", "", fold(text))
    m = re.search(r"(\d{1,3})(?:周岁|岁)", t)
    if m:
        return float(m.group(1))
    m = re.search(r"(\d{1,2})个?月", t)
    if m:
        return int(m.group(1)) / 12.0
    if re.search(r"\d+(?:天|日|小时|h)", t):
        return 0.0
    if re.fullmatch(r"\d{1,3}", t):
        return float(t)
    return None


def address_province(text: str) -> str:
    t = re.sub(r"\s+", "", fold(text))
    for full in PROVINCES:
        if t.startswith(full) or t.startswith(SHORT[full]):
            return full
    for full in PROVINCES:  # "户籍：江苏南京…" or a city-first address
        if full in t or SHORT[full] in t[:6]:
            return full
    return ""


@dataclass
class ResearchTransformer:
    offset_days: int = 0
    date_mode: str = "shift"
    bands: list = field(default_factory=list)
    rare_fields: list = field(default_factory=list)
    _texts_of: object = field(default=None, repr=False)
    _texts: list = field(default_factory=list, repr=False)

    @classmethod
    def for_case(cls, meta=None, policy=None, case_key: str = "") -> "ResearchTransformer":
        opts = dict(getattr(policy, "options", None) or {})
        if not opts:
            from core.policy import load_policy

            opts = dict(load_policy("research").options)
        key = case_key or getattr(meta, "case_id", "") or getattr(meta, "patient_id", "") or ""
        max_days = int(opts.get("date_shift_max_days", 180))
        return cls(
            offset_days=case_offset_days(key, max_days),
            date_mode=str(opts.get("date_mode", "shift")),
            bands=list(opts.get("age_bands") or []),
            rare_fields=list(opts.get("rare_fields") or []),
        )

    # ---- value transforms --------------------------------------------
    def age(self, text: str) -> str:
        years = age_years(text)
        return _band(years, self.bands) if years is not None else "年龄"

    def date(self, text: str) -> str:
        text = fold(text)
        m = DATE_RE.search(text)
        if m:
            y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
            try:
                day = dt.date(y, mo, d)
            except ValueError:
                return "日期"
            chinese = m["s1"] == "年"
            if self.date_mode == "year_month":
                return f"{y}年{mo}月" if chinese else f"{y}{m['s1']}{mo:02d}"
            new = day + dt.timedelta(days=self.offset_days)
            if chinese:
                return f"{new.year}年{new.month}月{new.day}日"
            sep = m["s1"]
            return f"{new.year}{sep}{new.month:02d}{sep}{new.day:02d}"
        m = YEAR_MONTH_RE.search(text)
        if m:
            y, mo = int(m["y"]), int(m["m"])
            if self.date_mode == "year_month" or not 1 <= mo <= 12:
                return f"{y}年{mo}月"
            new = dt.date(y, mo, 15) + dt.timedelta(days=self.offset_days)
            return f"{new.year}年{new.month}月"
        return "日期"

    def address(self, text: str) -> str:
        return address_province(text) or "地址"

    def generalise(self, finding: Finding) -> Optional[str]:
        cat = finding.category
        if cat == Category.AGE:
            return self.age(finding.text)
        if cat == Category.DATE:
            return self.date(finding.text)
        if cat == Category.ADDRESS:
            return self.address(finding.text)
        return None

    def labels(self, findings: Iterable[Finding]) -> dict[str, str]:
        out = {}
        for f in findings:
            if f.text:
                value = self.generalise(f)
                if value:
                    out[f.id] = value
        return out

    # ---- finding indirect identifiers in a document -------------------
    def page_texts(self, doc) -> list:
        """Text layer plus OCR of the regions that need it (scans, image
        inserts; ``core.ocr.page.ocr_page_text``, cached), one PageText per page."""
        if self._texts_of is doc:
            return self._texts
        from core.ocr.page import ocr_page_text
        from core.pdf.text import reading_text

        texts = [reading_text(page, ocr_page_text(page)) for page in doc]
        self._texts_of, self._texts = doc, texts
        return texts

    def indirect_findings(self, doc, existing: Iterable[Finding] = ()) -> list[Finding]:
        """DATE and AGE findings in ``doc`` (text layer and OCR of scanned
        regions), except where ``existing`` findings already are."""
        covered: dict[int, list] = {}
        for f in existing:
            covered.setdefault(f.page_index, []).extend(f.rects)
        out = []
        for page, pt in zip(doc, self.page_texts(doc)):
            for category, start, end in _indirect_spans(pt.text):
                rects = pt.rects_for(start, end)
                if not rects or any(_overlaps(r, c) for r in rects for c in covered.get(page.number, [])):
                    continue
                out.append(
                    Finding(
                        page.number,
                        category,
                        rects,
                        "research_" + category.value,
                        1.0,
                        pt.text[start:end],
                        pt.source_for(start, end),
                    )
                )
        return out

    def flags(self, doc) -> list[dict]:
        """Rare free-text items for manual review: page, field, masked value, rects."""
        out = []
        for page, pt in zip(doc, self.page_texts(doc)):
            for spec in self.rare_fields:
                label = spec["label"]
                common = {str(c) for c in spec.get("common") or []}
                for m in re.finditer(
                    re.escape(label) + r"\s*[:：]\s*(?P<v>[^\s:：,，;；]{1,20})", fold(pt.text)
                ):
                    value = m["v"]
                    if value in common:
                        continue
                    out.append(
                        {
                            "page_index": page.number,
                            "field": label,
                            "masked": mask(value),
                            "rects": pt.rects_for(m.start("v"), m.end("v")),
                            "reason": "rare_value",
                        }
                    )
        return out


def _indirect_spans(text: str) -> list[tuple[Category, int, int]]:
    text = fold(text)
    spans: list[tuple[Category, int, int]] = []
    for m in DATE_RE.finditer(text):
        spans.append((Category.DATE, m.start(), m.end()))
    for m in YEAR_MONTH_RE.finditer(text):
        spans.append((Category.DATE, m.start(), m.end()))
    for m in AGE_CUED_RE.finditer(text):
        if m["v"].strip():
            spans.append((Category.AGE, m.start("v"), m.start("v") + len(m["v"].rstrip())))
    for m in AGE_YEARS_RE.finditer(text):
        spans.append((Category.AGE, m.start(), m.end()))
    # drop spans inside an earlier one
    spans.sort(key=lambda s: (s[1], -(s[2] - s[1])))
    kept: list[tuple[Category, int, int]] = []
    for s in spans:
        if kept and s[1] < kept[-1][2]:
            continue
        kept.append(s)
    return kept


def _overlaps(a, b) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and min(a[3], b[3]) - max(a[1], b[1]) > 0.5


def case_offset_days(case_key: str, max_days: int = 180) -> int:
    """Secret, stable, non-zero offset in [-max_days, max_days] for a case."""
    from cryptography.hazmat.primitives import hashes, hmac

    from core.crypto import storage_key

    h = hmac.HMAC(storage_key(), hashes.SM3())
    h.update(("date-shift|" + (case_key or "")).encode("utf-8"))
    n = int.from_bytes(h.finalize()[:8], "big")
    span = max(1, int(max_days))
    offset = n % (2 * span) - span  # [-span, span-1]
    return offset if offset < 0 else offset + 1  # never 0
