"""Narrative set as wrapped paragraphs (病程记录, 出院小结): a name, an address or a phone number cut by the
wrap reads whole, and the box over a name in tight lines takes nothing of the lines above and below."""

from __future__ import annotations

import pymupdf
import pytest

from core.engine import analyze_document, redact_to_bytes
from core.pdf.text import extract_page_text
from tests.engine.pdfs import FONT

PARAGRAPHS = [
    "患者于2024年3月5日因停经39周、下腹痛2小时入院，家属由患者丈夫王小红陪同前来，入院后完善相关检查。",
    "入院后请产科欧阳明辉主任医师会诊，意见如下：考虑先兆临产，建议继续观察胎心及宫缩情况，必要时复查。",
    "患者现住址为湖南省长沙市岳麓区麓山路12号3栋402室，联系电话13912345678，既往体健，否认肝炎病史。",
]
CLINICAL = [
    "停经39周",
    "下腹痛2小时入院",
    "先兆临产",
    "建议继续观察胎心及宫缩情况",
    "既往体健",
    "否认肝炎病史",
]


def _record(chars_per_line: int) -> pymupdf.Document:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_font(fontname="wqy", fontfile=FONT)
    for k, text in enumerate(PARAGRAPHS):
        box = pymupdf.Rect(60, 80 + 130 * k, 62 + 10.5 * chars_per_line, 200 + 130 * k)
        assert page.insert_textbox(box, text, fontname="wqy", fontsize=10.5) >= 0
    return doc


@pytest.mark.parametrize("chars_per_line", [17, 19, 20, 23, 26])
def test_identifiers_cut_by_a_wrap_are_found_whole_and_the_prose_around_them_stays(chars_per_line):
    doc = _record(chars_per_line)
    analysis = analyze_document(doc, ocr=False)
    texts = {f.text for f in analysis.findings}
    assert {"王小红", "欧阳明辉", "13912345678", "湖南省长沙市岳麓区麓山路12号3栋402室"} <= texts
    data, report, _ = redact_to_bytes(doc, analysis.findings)
    assert report.ok
    out = "".join(pymupdf.open("pdf", data)[0].get_text().split())
    assert all(words in out for words in CLINICAL), out
    assert "王小红" not in out and "小红" not in out and "麓山路" not in out and "5678" not in out


def test_a_paragraph_reads_as_one_line_and_a_form_stays_in_its_lines():
    text = extract_page_text(_record(19)[0]).text
    assert text.count("\n") == 2 and "丈夫王小红陪同" in text
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_font(fontname="wqy", fontfile=FONT)
    for k, line in enumerate(["姓名：王小红", "性别：女", "年龄：28岁"]):
        page.insert_text((60, 80 + 14 * k), line, fontname="wqy", fontsize=10.5)
    assert extract_page_text(page).text == "姓名：王小红\n性别：女\n年龄：28岁"


def test_a_scanned_paragraph_reads_whole_too():
    from tests.engine.pdfs import rasterize

    texts = {f.text for f in analyze_document(rasterize(_record(17), dpi=200)).findings}
    assert {"王小红", "欧阳明辉", "13912345678", "湖南省长沙市岳麓区麓山路12号3栋402室"} <= texts


def _cell_table(
    rows: list[list[tuple[str, ...]]], widths: list[float], ruled_rows: bool = True
) -> pymupdf.Page:
    """A table drawn with thin rules; each cell holds its lines, one under the other."""
    doc = pymupdf.open()
    _KEEP.append(doc)
    page = doc.new_page()
    page.insert_font(fontname="wqy", fontfile=FONT)
    xs = [60.0]
    for w in widths:
        xs.append(xs[-1] + w)
    y = 80.0
    for row in rows:
        height = 14.0 * max(len(cell) for cell in row) + 6
        for x, cell in zip(xs, row):
            for k, text in enumerate(cell):
                page.insert_text((x + 2, y + 13 + 14 * k), text, fontname="wqy", fontsize=10.5)
        if ruled_rows:
            page.draw_rect(pymupdf.Rect(xs[0], y - 0.25, xs[-1], y + 0.25), color=None, fill=(0, 0, 0))
        y += height
    for x in xs:
        page.draw_rect(pymupdf.Rect(x - 0.25, 80, x + 0.25, y), color=None, fill=(0, 0, 0))
    return page


_KEEP: list = []


def test_a_name_and_an_address_wrapped_in_their_cells_read_whole():
    page = _cell_table(
        [
            [("子女",), ("訾婧",), ("住址",), ("长沙市岳麓区麓山路12号3", "栋402室")],
            [("姓名",), ("婧",), ("电话",), ("13912345678",)],
        ],
        [30, 24, 30, 130],
    )
    text = extract_page_text(page).text
    assert "长沙市岳麓区麓山路12号3栋402室" in text
    # a row's rule stands between 訾婧 and 婧: two rows, not one wrapped value
    assert "訾婧婧" not in text


def test_a_value_wrapped_inside_its_cell_without_row_rules_joins():
    page = _cell_table([[("姓名",), ("欧阳", "明辉")]], [30, 24], ruled_rows=False)
    assert "欧阳明辉" in extract_page_text(page).text


def test_rows_of_a_table_without_row_rules_are_not_joined_as_cell_wraps():
    """Dates that fill a narrow column, one row under the other, with text in the other cells of each row:
    the next row, not the rest of a wrapped value (a name wrapped alone in its cell still joins, above)."""
    fill = pymupdf.Font(fontfile=FONT).text_length("2024-01-03", 10.5)
    rows = [
        [("33.1107",), ("2024-01-03",), ("全子宫切除术",)],
        [("13.6624",), ("2024-01-03",), ("心肺复苏术",)],
    ]
    page = _cell_table(rows, [40, fill + 4, 80], ruled_rows=False)
    text = extract_page_text(page).text.replace(" ", "")
    assert text.count("2024-01-03") == 2 and "2024-01-032024" not in text, text
