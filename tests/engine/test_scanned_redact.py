"""Scanned (image-only) pages: OCR finds the identifiers, the pixels under
them are removed, clinical text stays."""

from __future__ import annotations

import json

import pymupdf
import pytest

from tests.engine.pdfs import dark_fraction, rasterize, text_page
from tests.engine.test_cli_redact import run_cli

LINES = [
    "住院病案首页",
    "姓名：王小红    性别：女    年龄：28岁",
    "住院号：20230456   身份证号：320106199501011237",
    "联系电话：13912345678",
    "入院诊断：妊娠期高血压",
    "今日李建国主任医师查房，血压135/85mmHg。",
]


@pytest.fixture(scope="module")
def scanned_record(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scan")
    born = pymupdf.open()
    text_page(born, LINES, size=12)
    boxes = {
        w: born[0].search_for(w)
        for w in ("王小红", "320106199501011237", "13912345678", "李建国", "妊娠期高血压")
    }
    scan = rasterize(born, dpi=150)
    src = tmp / "scan.pdf"
    scan.save(src)
    meta = tmp / "case.json"
    meta.write_text(json.dumps({"patient_name": "王小红"}, ensure_ascii=False))
    out, report = tmp / "out.pdf", tmp / "report.json"
    r = run_cli("redact", str(src), "-o", str(out), "--meta", str(meta), "--report", str(report))
    return r, out, report, boxes, src


def test_scanned_page_identifiers_removed_from_pixels(scanned_record):
    r, out, report, boxes, src = scanned_record
    assert r.returncode == 0, r.stderr
    rep = json.loads(report.read_text(encoding="utf-8"))
    assert rep["scanned_pages"] == [1]
    page = pymupdf.open(out)[0]
    original = pymupdf.open(src)[0]
    for word in ("王小红", "320106199501011237", "13912345678", "李建国"):
        for rect in boxes[word]:
            inner = pymupdf.Rect(rect.x0 + 1, rect.y0 + 2, rect.x1 - 1, rect.y1 - 2)
            assert dark_fraction(original, inner) < 0.5  # printed text, not a block
            assert dark_fraction(page, inner) > 0.9, f"{word[0]}… not covered"


def test_scanned_page_clinical_text_untouched(scanned_record):
    r, out, report, boxes, src = scanned_record
    page, original = pymupdf.open(out)[0], pymupdf.open(src)[0]
    rect = boxes["妊娠期高血压"][0]
    a = page.get_pixmap(dpi=100, clip=rect, colorspace=pymupdf.csGRAY).samples
    b = original.get_pixmap(dpi=100, clip=rect, colorspace=pymupdf.csGRAY).samples
    assert a == b


def test_scanned_output_reocr_finds_no_identifier(scanned_record):
    from core.ocr.page import ocr_page_chars

    r, out, report, boxes, src = scanned_record
    page = pymupdf.open(out)[0]
    text = "".join(c.c for line in ocr_page_chars(page, dpi=150) for c in line)
    assert "320106199501011237" not in text and "13912345678" not in text and "王小红" not in text
    assert "高血压" in text
