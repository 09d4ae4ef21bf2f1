"""Classes of misses seen on the second held-out set of print layouts (corpus (i)), on PDFs built here: a
number printed one character per bordered box, a number in dash-joined groups, a second name in one
person field, a label cell below a person label in a key-value grid, a form's tick-box options."""

from __future__ import annotations

import pymupdf
import pytest

from core.detect.base import AnalysisContext, PageInput
from core.detect.registry import load_default_recognizers
from core.models import CaseMeta, Char
from core.pdf.text import extract_page_text, join_boxed_runs, text_lines
from tests.engine.pdfs import FONT
from tests.printed import printed_pdf

_DOCS: list[pymupdf.Document] = []  # a page needs its document alive
ID = "11010519491231002X"  # the GB 11643 example number (check character X)


def _page(texts: list[tuple[float, float, str]], size: float = 9.0) -> pymupdf.Page:
    doc = pymupdf.open()
    _DOCS.append(doc)
    page = doc.new_page(width=595, height=842)
    page.insert_font(fontname="wqy", fontfile=FONT)
    for x, y, text in texts:
        page.insert_text((x, y), text, fontname="wqy", fontsize=size)
    return page


def _found(name: str, page: pymupdf.Page) -> dict[str, str]:
    rec = load_default_recognizers([name])[0]
    pin = PageInput(page.number, page, extract_page_text(page))
    return {f.text: f.category.value for f in rec.analyze(pin, AnalysisContext(meta=CaseMeta.from_dict({})))}


def _lines(page: pymupdf.Page) -> list[str]:
    return ["".join(c.c for c in line) for line in text_lines(page)]


BOXED_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body{font-family:'WenQuanYi Zen Hei';font-size:10.5pt} s{text-decoration:none}
s span{border:1px solid #000;margin:0 1px;padding:0 4px} s span.text,s span.line{border:none;padding:0}
</style></head><body>
<p><s><span class="text"><b>编号：</b></span>{health}</s></p>
<p><s><span class="text">身份证号：</span>{ident}</s></p>
<p>审核者：&nbsp;桂焱 &nbsp;&nbsp; 闻人晗滢</p>
</body></html>"""


@pytest.fixture(scope="module")
def boxed_page(tmp_path_factory):
    """RHIP's report card as Chromium prints it: one bordered box per digit, a dash cell between groups."""
    health = "32010200100200345"
    cells = "".join(
        ('<span class="line">-</span>' if k in (6, 9, 12) else "") + f"<span>{c}</span>"
        for k, c in enumerate(health)
    )
    html = BOXED_PAGE.replace("{health}", cells).replace("{ident}", "".join(f"<span>{c}</span>" for c in ID))
    doc = printed_pdf(html, tmp_path_factory.mktemp("boxed"))
    _DOCS.append(doc)
    return doc[0]


def test_a_number_printed_one_digit_per_box_reads_as_one_line_and_is_found(boxed_page):
    lines = _lines(boxed_page)
    assert any(ID in line for line in lines), lines
    assert any(line.replace(" ", "").startswith("编号：320102-001-002-00345") for line in lines), lines
    assert _found("id_number", boxed_page).get(ID) == "id_number"
    assert "320102 - 001 - 002 - 00345" in _found("record_number", boxed_page)


def _piece(x: float, text: str, y: float = 100.0, w: float = 5.0) -> list[Char]:
    return [Char(c, (x + k * w, y - 9, x + (k + 1) * w, y + 3)) for k, c in enumerate(text)]


def test_a_scale_of_single_digits_and_a_row_of_chart_values_stay_apart():
    scale = [_piece(40 + 12 * k, str(k)) for k in range(10)]
    assert join_boxed_runs(scale) == scale  # 0 1 2 … 9: an axis
    chart = [_piece(40 + 16 * k, v) for k, v in enumerate("80 82 78 90 88 84 86 80 92".split())]
    assert join_boxed_runs(chart) == chart  # two-digit values of a chart row
    boxed = [_piece(40 + 12 * k, c) for k, c in enumerate(ID)]
    assert join_boxed_runs(boxed) == boxed  # no label before it: a row of one-digit cells, left apart
    labelled = [_piece(0, "身份证号："), *[_piece(30 + 12 * k, c) for k, c in enumerate(ID)]]
    assert ["".join(c.c for c in line) for line in join_boxed_runs(labelled)] == ["身份证号：", ID]
    far = [_piece(40 + 40 * k, c) for k, c in enumerate(ID)]  # cells of a wide table, not boxes
    assert join_boxed_runs(far) == far


def test_a_number_in_dash_joined_groups_is_a_record_number_but_a_date_is_not():
    page = _page(
        [
            (40, 100, "健康档案 320102-001-002-00345"),
            (40, 130, "检查日期 2024-03-05 复查 2024-03-05-01"),
            (40, 160, "分级 10-20-30"),
        ]
    )
    found = _found("record_number", page)
    assert found.get("320102-001-002-00345") == "record_number"
    assert not any("2024" in t or "10-20" in t for t in found), found


def test_a_second_name_after_no_break_spaces_is_found(boxed_page):
    found = _found("label_fields", boxed_page)
    assert {"桂焱", "闻人晗滢"} <= set(found), found


def test_a_second_name_in_one_person_field_is_found_too():
    page = _page(
        [
            (40, 100, "审核者： 桂焱    闻人晗滢"),
            (40, 130, "检验者：王伟、李娜"),
            (40, 160, "主治医师：赵明 今日查房，病情平稳"),
        ]
    )
    found = _found("label_fields", page)
    for name in ("桂焱", "闻人晗滢", "王伟", "李娜", "赵明"):
        assert name in found, (name, found)
    assert not any("今日" in t or "病情" in t for t in found), found


def test_a_label_cell_below_a_person_label_of_a_key_value_grid_is_no_name():
    """检 验 者 │ 李海瑜 over 采集时间 │ 2024-04-19: the cell under the label is the next label."""
    page = _page(
        [
            (40, 100, "送检医师"),
            (110, 100, "徐冰"),
            (240, 100, "检验者"),
            (300, 100, "李海瑜"),
            (40, 116, "复核者"),
            (110, 116, "付取"),
            (240, 116, "采集时间"),
            (300, 116, "2024-04-19 10:39"),
        ]
    )
    found = _found("label_fields", page)
    assert {"徐冰", "李海瑜", "付取"} <= set(found), found
    assert not any(t.startswith("采集") for t in found), found


def test_the_options_after_tick_boxes_are_no_person_names():
    page = _page(
        [
            (40, 100, "结核病（□涂阳肺结核 □仅培阳肺结核 □菌阴肺结核 □未痰检肺结核）"),
            (40, 130, "患者职业：□幼托儿童 ☑干部职员 □离退人员 □渔(船)民"),
        ]
    )
    found = _found("person_names", page)
    assert not any(t.startswith(("涂阳", "仅培", "菌阴", "干部", "幼托")) for t in found), found
