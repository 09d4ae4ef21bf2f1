"""Issue 12: masks keep at most the first character of a name and the last 4 digits of a number
(before: 8 of 11 phone digits and 8 of 18 ID digits were kept)."""

from __future__ import annotations

import json
import re

import pytest

from core.masking import mask
from tests.engine.test_cli_redact import record_pdf, run_cli  # noqa: F401  (fixture)


def _visible(masked: str) -> str:
    return masked.replace("*", "")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("13912345678", "*******5678"),
        ("320106199501011237", "**************1237"),
        ("32010619950101123X", "**************123X"),
        ("025-83106666", "********6666"),
        ("张三丰", "张**"),
        ("欧阳娜娜", "欧***"),
        ("刘洋", "刘*"),
        ("江苏省南京市玄武区幸福路12号3栋", "江" + "*" * 16),
        ("王", "*"),
    ],
)
def test_masks_keep_first_character_or_last_four(value, expected):
    assert mask(value) == expected


@pytest.mark.parametrize(
    "value", ["20230456", "ZY20250909", "12345", "138 1234 5678", "6222 0212 3456 7890 123"]
)
def test_numbers_never_show_more_than_their_last_four(value):
    compact = value.replace(" ", "")
    shown = _visible(mask(value))
    assert len(shown) <= 4 and compact.endswith(shown)
    assert len(shown) < len(compact) / 2


def test_cli_report_masks(record_pdf, tmp_path):  # noqa: F811
    src, meta = record_pdf
    out, report = tmp_path / "out.pdf", tmp_path / "report.json"
    r = run_cli("redact", str(src), "-o", str(out), "--meta", str(meta), "--report", str(report), "--no-ocr")
    assert r.returncode == 0, r.stderr
    findings = json.loads(report.read_text(encoding="utf-8"))["findings"]
    masks = {f["masked"] for f in findings}
    assert "**************1237" in masks and "*******5678" in masks
    for masked in masks:
        shown = _visible(masked)
        digits = re.sub(r"\D", "", shown)
        assert len(digits) <= 4, masked
        if not digits:
            assert len(shown) <= 1, masked  # a name or other text: at most its first character
