"""Research preset: age bands, per-case date shift keeping intervals or
year-month, address to province, rare free-text flags."""

from __future__ import annotations

import datetime as dt
import re

import pymupdf
import pytest

from core.export.options import ExportDocument, ExportOptions
from core.export.pipeline import export_case
from core.models import Finding
from core.policy import load_policy
from core.policy.research import ResearchTransformer, address_province, case_offset_days
from tests.export import helpers


@pytest.fixture
def transformer():
    return ResearchTransformer.for_case(None, load_policy("research"), case_key="C-001")


def _d(s):
    return dt.date.fromisoformat(s)


def _shifted_from(text: str, original: str) -> dt.date:
    """The one bracketed ISO date in ``text``: moved off ``original`` by 1..180 days (the policy's
    window), worked out from the output alone rather than by the transformer under test."""
    dates = {_d(m) for m in re.findall(r"\[(\d{4}-\d{2}-\d{2})\]", text)}
    assert len(dates) == 1, dates
    (shifted,) = dates
    assert 0 < abs((shifted - _d(original)).days) <= 180
    return shifted


def test_age_bands(transformer):
    assert transformer.age("32岁") == "30-34岁"
    assert transformer.age("1岁2个月") == "1-4岁"
    assert transformer.age("3个月") == "<1岁"
    assert transformer.age("5天") == "<1岁"
    assert transformer.age("86岁") == "≥80岁"


def test_date_shift_is_secret_per_case_and_keeps_intervals(transformer):
    off = transformer.offset_days
    assert off != 0 and -180 <= off <= 180
    assert case_offset_days("C-001") == off  # stable for the case
    assert len({case_offset_days(f"C-{i:03d}") for i in range(20)}) > 5  # differs between cases
    a, b = transformer.date("2025-03-02"), transformer.date("2025-03-09 14:30")
    assert (_d(b) - _d(a)).days == 7  # interval kept
    assert (_d(a) - _d("2025-03-02")).days == off
    chinese = transformer.date("2025年3月2日")
    assert chinese == f"{_d(a).year}年{_d(a).month}月{_d(a).day}日"


def test_year_month_mode(transformer):
    transformer.date_mode = "year_month"
    assert transformer.date("2025-03-02") == "2025-03"
    assert transformer.date("2025年3月2日") == "2025年3月"


def test_address_to_province():
    assert address_province("江苏省南京市鼓楼区中山路321号") == "江苏省"
    assert address_province("广西南宁市青秀区") == "广西壮族自治区"
    assert address_province("北京市朝阳区") == "北京市"


def test_research_export_generalises_and_flags():
    pdf = helpers.admission_pdf()
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    page = doc[0]
    findings = helpers.findings_for(pdf)
    # an address finding (as the address recognizer would report it)
    page.insert_text((60, 400), "现住址：江苏省南京市鼓楼区中山路321号", fontname="china-s", fontsize=11)
    pdf = doc.tobytes()
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    addr = doc[0].search_for("江苏省南京市鼓楼区中山路321号")[0]
    findings.append(Finding(0, "address", [tuple(addr)], "test", 1.0, "江苏省南京市鼓楼区中山路321号"))
    result = export_case(
        [ExportDocument("d01", "入院记录", pdf, findings)],
        helpers.META,
        ExportOptions(policy="research", cover=False, page_numbers=False),
        extra_identifiers=[v for _, v, _ in helpers.IDENTIFIERS],
    )
    out = pymupdf.open(stream=result.pdf, filetype="pdf")
    text = out[0].get_text()
    assert "2025-03-02" not in text
    _shifted_from(text, "2025-03-02")
    assert "[30-34岁]" in text and "32岁" not in text
    assert "[江苏省]" in text and "中山路" not in text
    assert "[患者]" in text  # direct identifiers still hidden, with labels
    assert result.manifest["policy"] == "research"
    assert any(f["field"] == "职业" for f in result.flags)  # 教师 is a rare value: flagged
    assert all("教师" not in str(f) for f in result.flags)  # masked


def test_research_generalises_dates_on_scanned_pages_too():
    scan = helpers.scanned_pdf("检验日期 2025-03-02  年龄：32岁")
    result = export_case(
        [ExportDocument("d01", "辅助检查报告", scan, [])],
        helpers.META,
        ExportOptions(policy="research", cover=False, page_numbers=False, verify_ocr="none"),
    )
    out = pymupdf.open(stream=result.pdf, filetype="pdf")
    text = out[0].get_text()
    _shifted_from(text, "2025-03-02")
    assert "[30-34岁]" in text
    from core.export.ocr import ocr_text

    assert "2025-03-02" not in ocr_text(out[0]).replace(" ", "")  # the pixels are gone too
