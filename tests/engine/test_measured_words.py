"""A word followed on its line by a measured quantity is what was measured, not a person (宫高 32cm is the
fundal height); a name with a cue before it stays a name whatever follows."""

from __future__ import annotations

import pymupdf
import pytest

from core.engine import analyze_document
from tests.engine.pdfs import text_page

PERSON = {"person_name", "patient_name", "doctor_name", "nurse_name", "relative_name"}


def _names(line: str) -> list[str]:
    doc = pymupdf.open()
    text_page(doc, [line])
    doc = pymupdf.open(stream=doc.tobytes(), filetype="pdf")
    return [f.text for f in analyze_document(doc, {}, ocr=False).findings if f.category.value in PERSON]


@pytest.mark.parametrize(
    "line", ["宫高 32cm，腹围 98cm，胎方位LOA", "宫高\u200b33 cm", "胎心 140次/分，规律", "曲线 上升 12mmHg"]
)
def test_measured_word_is_not_a_name(line):
    assert _names(line) == []


def test_cued_name_before_a_measure_is_still_found():
    assert "龚丽" in _names("患者龚丽 160cm，体重 65kg")
