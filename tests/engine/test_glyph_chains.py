"""Glyphs set one by one at a constant pitch read as one word: a value
letter-spaced across a cell, or stacked one glyph under another (竖排).
Each glyph is its own text object, as some report generators write them."""

from __future__ import annotations

import pymupdf

from core.pdf.text import text_lines
from tests.engine.pdfs import FONT
from tests.engine.test_hostile_constructs import assert_nowhere, redact

NAME, PHONE = "司马文静", "13912345678"
CLINICAL = "诊断：妊娠期高血压"


def _page() -> tuple[pymupdf.Document, pymupdf.Page]:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_font(fontname="wqy", fontfile=FONT)
    page.insert_text((50, 80), CLINICAL, fontname="wqy", fontsize=11)
    return doc, page


def _one_by_one(page, text: str, x: float, y: float, dx: float, dy: float, order=None) -> None:
    idx = list(range(len(text)))
    for i in order(idx) if order else idx:
        page.insert_text((x + i * dx, y + i * dy), text[i], fontname="wqy", fontsize=11)


def _texts(page) -> list[str]:
    return ["".join(c.c for c in line) for line in text_lines(page)]


def test_letter_spaced_and_stacked_glyphs_read_as_words():
    _, page = _page()
    _one_by_one(page, "联系电话：" + PHONE, 50, 140, 16, 0, order=lambda i: i[::-1])
    _one_by_one(page, "家属" + NAME, 500, 200, 0, 13)
    texts = _texts(page)
    assert "联系电话：" + PHONE in [t.replace(" ", "") for t in texts]  # one line (spaced or not)
    assert "家属" + NAME in texts
    assert CLINICAL in texts


def test_a_column_of_one_digit_cells_stays_cells():
    _, page = _page()
    for row in range(12):  # rows closer than the glyph boxes' line height: as tight as a stack
        page.insert_text((300, 200 + row * 12), str(row % 10), fontname="helv", fontsize=8)
    assert sum(1 for t in _texts(page) if len(t) == 1 and t.isdigit()) == 12


def test_table_rows_and_columns_of_single_glyphs_stay_apart():
    _, page = _page()
    for row in range(9):  # a 序号 column: one digit per row, rows 18 pt apart
        page.insert_text((40, 200 + row * 18), str(row + 1), fontname="wqy", fontsize=10)
    for k, mark in enumerate("↑↓↑"):  # marks in cells of different widths
        page.insert_text((120 + k * 90, 400), mark, fontname="wqy", fontsize=10)
    texts = _texts(page)
    assert [str(d) for d in range(1, 10)] == [t for t in texts if t.isdigit()]
    assert "↑↓↑" not in texts


def test_stacked_name_and_spaced_phone_are_redacted_clinical_kept(tmp_path):
    doc, page = _page()
    _one_by_one(page, "联系电话：" + PHONE, 50, 140, 16, 0)
    _one_by_one(page, "家属" + NAME, 500, 200, 0, 13)
    r, out, report = redact(tmp_path, doc)
    assert r.returncode == 0, r.stderr
    kept = "".join(ch for ch in pymupdf.open(out)[0].get_text() if not ch.isspace())
    assert not any(d in kept for d in PHONE) and not any(c in kept for c in NAME)
    assert CLINICAL in kept and "联系电话：" in kept
    assert_nowhere(out, PHONE, NAME)


def _with_raw_text(page, content: bytes) -> None:
    page.insert_text((10, 10), " ", fontname="helv", fontsize=1)  # the Helv resource
    xref = page.get_contents()[-1]
    page.parent.update_stream(xref, page.parent.xref_stream(xref) + b"\n" + content + b"\n")


def test_groups_kerned_apart_and_letter_spacing_are_read_whole(tmp_path):
    doc, page = _page()
    _with_raw_text(
        page,
        b"BT /helv 11 Tf 50 160 Td [(Mobile: 139) -900 (1234) -900 (5678)] TJ ET\n"
        b"BT /helv 11 Tf 50 200 Td [(ID: 3201) -1200 (0619) -1200 (9501) -1200 (0112) -1200 (37)] TJ ET\n"
        b"BT /helv 11 Tf 8 Tc 50 240 Td (Tel 13812345678) Tj ET",
    )
    assert "Mobile: 139 1234 5678" in _texts(page)
    r, out, report = redact(tmp_path, doc)
    assert r.returncode == 0, r.stderr
    assert {"phone", "id_number"} <= {f["category"] for f in report["findings"]}
    kept = "".join(ch for ch in pymupdf.open(out)[0].get_text() if not ch.isspace())
    assert not any(d in kept for d in "0123456789") and CLINICAL in kept
    assert_nowhere(out, "13912345678", "320106199501011237", "13812345678")


def test_numbers_in_neighbouring_table_cells_stay_numbers_of_their_own():
    _, page = _page()
    for k, value in enumerate(["120", "80", "72", "20", "365"]):  # a vital-signs row, cells 30 pt apart
        page.insert_text((50 + k * 30, 300), value, fontname="wqy", fontsize=10)
    from tests.engine.test_recognizers import found

    row = next(t for t in _texts(page) if t.startswith("120"))
    assert row == "120 80 72 20 365"
    assert found("record_number", row) == [] and found("phone", row) == []


def test_a_row_of_one_digit_cells_forms_no_number():
    from tests.engine.test_recognizers import found

    _, page = _page()
    for k, digit in enumerate("29141777631706690743"):  # one digit per cell, 15 pt apart, no label
        page.insert_text((40 + 15 * k, 300), digit, fontname="helv", fontsize=8)
    row = next(t for t in _texts(page) if t.startswith("2"))
    assert found("record_number", row) == [] and found("id_number", row) == []
