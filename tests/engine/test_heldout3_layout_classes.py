"""Classes of misses seen on the third held-out set of print layouts (corpus (j)), on PDFs Chromium prints
here: a certificate's label cells stacked over two lines ("工作<br/>单位") beside a value cell that starts with
``&nbsp;``, and the clerk of a certificate or register who signs as 经办人."""

from __future__ import annotations

import pymupdf
import pytest

from core.detect.base import AnalysisContext, PageInput
from core.detect.registry import load_default_recognizers
from core.models import CaseMeta
from core.pdf.text import extract_page_text
from tests.printed import printed_pdf

_DOCS: list[pymupdf.Document] = []  # a page needs its document alive

CARD_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body{font-family:'WenQuanYi Zen Hei';font-size:12px} table{border-collapse:collapse;width:255px}
td{border:1px solid #000;font-size:12px}
</style></head><body><table>
<tr><td width="46" height="37" align="center">持证人<br/>姓名</td><td>&nbsp;栾沐妍</td></tr>
<tr><td height="37" align="center">出生<br/>年月</td><td>&nbsp;1985-03-02</td></tr>
<tr><td height="37" align="center">工作<br/>单位</td><td>&nbsp;齐齐哈尔第二机床厂</td></tr>
<tr><td height="37" align="center">发证<br/>机构</td><td>&nbsp;</td></tr>
<tr><td height="37" align="center">经办人</td><td>&nbsp;隋朵</td></tr>
<tr><td height="37" align="center">婚姻<br/>状况</td><td>&nbsp;已婚</td></tr>
</table>
<p style="text-align:right;width:255px">经办人：臧梓萱&nbsp;</p>
</body></html>"""


@pytest.fixture(scope="module")
def card_page(tmp_path_factory):
    """The first face of a 生育服务证 as its print view lays it out: narrow label cells, values after &nbsp;."""
    doc = printed_pdf(CARD_PAGE, tmp_path_factory.mktemp("card"))
    _DOCS.append(doc)
    return doc[0]


def _found(page: pymupdf.Page) -> dict[str, str]:
    rec = load_default_recognizers(["label_fields"])[0]
    pin = PageInput(page.number, page, extract_page_text(page))
    return {f.text: f.category.value for f in rec.analyze(pin, AnalysisContext(meta=CaseMeta.from_dict({})))}


def test_a_value_beside_a_label_stacked_over_two_lines_is_found(card_page):
    found = _found(card_page)
    assert found.get("齐齐哈尔第二机床厂") == "workplace", found
    assert found.get("栾沐妍") == "patient_name", found


def test_the_next_rows_label_is_no_value_of_a_stacked_label(card_page):
    found = _found(card_page)
    for label in ("出生", "年月", "发证", "机构", "婚姻", "状况", "已婚"):
        assert label not in found, found


def test_the_clerk_of_a_certificate_is_staff_in_a_cell_and_after_a_colon(card_page):
    found = _found(card_page)
    assert found.get("隋朵") == "staff_name", found
    assert found.get("臧梓萱") == "staff_name", found


def _text_page(lines: list[tuple[float, float, str]]) -> pymupdf.Page:
    from tests.engine.pdfs import FONT

    doc = pymupdf.open()
    _DOCS.append(doc)
    page = doc.new_page(width=595, height=842)
    page.insert_font(fontname="wqy", fontfile=FONT)
    for x, y, text in lines:
        page.insert_text((x, y), text, fontname="wqy", fontsize=9)
    return page


def _names(page: pymupdf.Page) -> set[str]:
    rec = load_default_recognizers(["person_names"])[0]
    pin = PageInput(page.number, page, extract_page_text(page))
    return {f.text for f in rec.analyze(pin, AnalysisContext(meta=CaseMeta.from_dict({})))}


def test_the_tail_of_an_eponym_read_apart_from_its_head_is_no_name_but_a_name_before_other_words_is():
    """OCR of a narrow column reads "斯基" and "征未引出" below "墨菲氏征", the head "阴性，巴宾" elsewhere on the
    page: 斯基征 is the sign."""
    page = _text_page(
        [
            (40, 100, "病理征阴性，墨菲氏征"),
            (40, 130, "斯基"),
            (40, 160, "征未引出。"),
            (300, 400, "阴性，巴宾"),
            (40, 190, "今日金森主任医师查房，同意目前诊断。"),
        ]
    )
    names = _names(page)
    assert "斯基" not in names, names
    assert "金森" in names, names


def test_a_clinical_word_under_a_person_label_in_a_narrow_column_is_no_name():
    """A 保健手册 cell of prose wrapped one word a line: "孕妇" above "平素" above "月经"; a name under the same
    label in the same layout is still found."""
    prose = _text_page([(545, 212, "孕妇"), (545, 224, "平素"), (545, 236, "月经"), (545, 248, "规律")])
    assert not set(_found(prose)) & {"平素", "月经", "规律"}, _found(prose)
    named = _text_page([(545, 212, "孕妇"), (545, 224, "栾沐妍")])
    assert _found(named).get("栾沐妍") == "patient_name", _found(named)


def test_an_address_that_wraps_inside_its_cell_is_found_whole():
    """ "…57号26" at the end of one line of a narrow cell, "栋877室" at the start of the next: one address."""
    page = _text_page([(60, 100, "户口地址 齐齐哈尔市和平区朝阳北街57号26"), (100, 111, "栋877室")])
    rec = load_default_recognizers(["address"])[0]
    pin = PageInput(page.number, page, extract_page_text(page))
    found = [f.text for f in rec.analyze(pin, AnalysisContext(meta=CaseMeta.from_dict({})))]
    assert any(t.replace("\n", "").endswith("57号26栋877室") for t in found), found


def test_a_verb_of_reported_speech_is_no_part_of_a_name_nor_a_fields_value():
    """ "患者栾悦锦诉胸闷": the name ends before 诉; "患者" ending one line of prose above "诉胸闷较前好转" is
    no label with its value."""
    named = _text_page([(40, 100, "主治医师查房：患者栾悦锦诉继续目前治疗方案，密切观察病情变化。")])
    assert "栾悦锦" in _names(named) and not any("诉" in n for n in _names(named)), _names(named)
    prose = _text_page([(500, 100, "患者"), (500, 111, "诉胸"), (500, 122, "闷较")])
    assert not any(t.startswith("诉") for t in _found(prose)), _found(prose)


def test_a_label_that_wraps_mid_word_gives_no_one_character_name():
    """ "配偶姓" over "名" in a narrow cell, the name in the next cell: 姓 starts 姓名, the name is 綦豫鑫."""
    page = _text_page([(187, 103, "配偶姓"), (193, 114, "名"), (215, 108.5, "綦豫鑫")])
    found = _found(page)
    assert "姓" not in found, found
    assert found.get("綦豫鑫") == "relative_name", found


CHILDREN_TABLE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body{font-family:'WenQuanYi Zen Hei';font-size:12px} table{border-collapse:collapse;width:300px}
td{border:1px solid #000;font-size:12px}
</style></head><body><table>
<tr><td width="36" align="center">子女姓名</td><td width="14" align="center">性别</td>
<td width="60" align="center">出生年月</td><td width="30" align="center">政策内外</td>
<td align="center">出生证号</td></tr>
<tr><td>&nbsp;隋萌笛</td><td>&nbsp;男</td><td>&nbsp;2024-01-18</td><td>&nbsp;</td><td>&nbsp;Q819874498</td></tr>
<tr><td>&nbsp;隋诺沐</td><td>&nbsp;女</td><td>&nbsp;2024-01-16</td><td>&nbsp;</td><td>&nbsp;R694624816</td></tr>
</table></body></html>"""


def test_a_column_header_wrapped_in_its_narrow_cell_reads_whole_and_finds_the_names_below(tmp_path):
    """子女姓 / 名 centred in a narrow header cell beside 性 / 别: the extractor sets 子女姓 and 性 on one line
    across the cell's rule; read cell by cell, each wrapped cell is one line, and the names below are found."""
    doc = printed_pdf(CHILDREN_TABLE, tmp_path)
    _DOCS.append(doc)
    lines = [l.strip() for l in extract_page_text(doc[0]).text.split("\n")]
    assert "子女姓名" in lines and "性别" in lines and "隋萌笛" in lines, lines
    found = _found(doc[0])
    assert found.get("隋萌笛") == "relative_name", found
    assert found.get("隋诺沐") == "relative_name", found
