"""Case-index seeding: every identifying value of the archive record (and
values other recognizers add to the context) is searched on every page,
tolerant of spaces, full-width digits and OCR confusions."""

from __future__ import annotations

import re

from core.detect.base import AnalysisContext, PageInput, Recognizer, finding_from_span
from core.detect.normalize import NormalizedText, is_numeric_like, normalize_value
from core.detect.registry import register
from core.models import CaseMeta, Category, Finding

# CASE.json key -> category.  Keys not listed here and not in KEEP are
# treated by their shape (see _category_for_extra).
META_FIELDS = {
    "patient_name": Category.PATIENT_NAME,
    "patient_id": Category.RECORD_NUMBER,
    "inpatient_no": Category.RECORD_NUMBER,
    "id_number": Category.ID_NUMBER,
    "institution": Category.INSTITUTION,
}
# Clinical / indirect fields that are kept (never seeded).
KEEP = {
    "sex",
    "age",
    "department",
    "admission_date",
    "discharge_date",
    "main_diagnosis",
    "main_operation",
    "case_id",
    "review_type",
    "documents",
}
EXTRA_HINTS = [
    (re.compile(r"phone|tel|mobile|电话|手机"), Category.PHONE),
    (re.compile(r"address|addr|住址|地址"), Category.ADDRESS),
    (re.compile(r"work|employer|单位"), Category.WORKPLACE),
    (re.compile(r"mail"), Category.EMAIL),
    (re.compile(r"id_?card|id_?number|身份证"), Category.ID_NUMBER),
    (re.compile(r"hospital|institution|医院"), Category.INSTITUTION),
    (re.compile(r"_no$|number|_id$|号"), Category.RECORD_NUMBER),
    (
        re.compile(r"name|mother|father|husband|wife|family|relative|contact|guardian|姓名"),
        Category.RELATIVE_NAME,
    ),
]


def _category_for_extra(key: str) -> Category:
    for pattern, cat in EXTRA_HINTS:
        if pattern.search(key.lower()):
            return cat
    return Category.PERSON_NAME


def seeds_from_meta(meta: CaseMeta, ctx: AnalysisContext) -> None:
    """Add every identifying value of the archive record to ``ctx.seeds``."""
    for key, cat in META_FIELDS.items():
        value = getattr(meta, key, "")
        if value:
            ctx.add_seed(str(value), cat.value, f"case_meta:{key}")
    for key, value in meta.extra.items():
        if key in KEEP:
            continue
        _seed_extra(key, value, ctx, _category_for_extra(key))
    for addr in [s.value for s in ctx.seeds if s.category == Category.ADDRESS.value]:
        tail = _address_tail(addr)
        if tail:
            ctx.add_seed(tail, Category.ADDRESS.value, "case_meta:address_tail")


def _seed_extra(key: str, value, ctx: AnalysisContext, cat: Category, relation: str = "") -> None:
    if isinstance(value, dict):
        relation = str(value.get("relation", relation))
        for k, v in value.items():
            if k != "relation":
                _seed_extra(
                    k, v, ctx, _category_for_extra(k) if k != "name" else Category.RELATIVE_NAME, relation
                )
    elif isinstance(value, (list, tuple)):
        for v in value:
            _seed_extra(key, v, ctx, cat, relation)
    elif value not in (None, ""):
        ctx.add_seed(str(value), cat.value, f"case_meta:{key}", relation)


_DIVISION_TAIL = re.compile(r"^.*?(?:省|自治区|市|州|盟|县|区|旗|镇|乡|街道)(?=[^省市县区镇乡]{4,}$)")


def _address_tail(address: str) -> str:
    """'江苏省南京市鼓楼区幸福路12号' -> '幸福路12号' (also written alone)."""
    tail = _DIVISION_TAIL.sub("", address.strip())
    return tail if tail != address.strip() and len(tail) >= 4 else ""


def min_seed_length(value: str) -> int:
    return 4 if is_numeric_like(value) else 2


@register
class CaseSeedRecognizer(Recognizer):
    name = "case_seed"
    order = 20  # after visual recognizers that decode barcodes (order < 20)

    def analyze(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        return find_seeds(page, ctx.seeds, self.name, 0.98)


def find_seeds(page: PageInput, seeds, detector: str, confidence: float, skip=None) -> list[Finding]:
    """A finding at every occurrence of every seed value on ``page``, but
    those for which ``skip(seed, start, end)`` is true."""
    findings: list[Finding] = []
    views: dict[bool, NormalizedText] = {}
    for seed in seeds:
        numeric = is_numeric_like(seed.value)
        needle = normalize_value(seed.value, numeric)
        if len(needle) < min_seed_length(seed.value):
            continue
        view = views.get(numeric) or views.setdefault(numeric, NormalizedText(page.text.text, numeric))
        for start, end in view.find_all(needle):
            if skip is not None and skip(seed, start, end):
                continue
            f = finding_from_span(page, start, end, seed.category, detector, confidence, seed.role_hint)
            if f:
                findings.append(f)
    return findings
