"""Classes of misses seen on held-out print layouts of other HIS projects (corpus (h)), on PDFs built
here: an address written into a paper form's blanks, a name printed right after a signature label,
a name's pinyin code, staff titles printed with 医生 instead of 医师."""

from __future__ import annotations

import pymupdf

from core.detect.base import AnalysisContext, PageInput
from core.detect.registry import load_default_recognizers
from core.models import CaseMeta
from core.pdf.text import extract_page_text
from tests.engine.pdfs import FONT


_DOCS: list[pymupdf.Document] = []  # a page needs its document alive


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


def test_an_address_written_into_the_blanks_of_a_form_line_is_found_piece_by_piece():
    """监护人现住地址：__省（区、市）__州（市）__县（市、区）__乡（镇） / __/街道 __村/号: each blank
    holds one piece, printed as its own text run, and the units are the form's own words."""
    page = _page(
        [
            (40, 100, "（1）本省（区、市）已开展筛查的遗传代谢病为：CH、PKU两病"),
            (40, 200, "监护人现住地址：安徽"),
            (150, 200, "省（区、市）合肥"),
            (240, 200, "州（市）蜀山"),
            (320, 200, "县（市、区）城关"),
            (420, 200, "乡（镇）"),
            (40, 220, "长江西路/街道 王庄"),
            (160, 220, "村/号"),
            (220, 220, "监护人联系方式 15179993845"),
        ]
    )
    found = _found("address", page)
    for piece in ("安徽", "合肥", "蜀山", "城关", "长江西路", "王庄"):
        assert found.get(piece) == "address", (piece, found)
    assert not any(t.startswith("本") for t in found)  # one unit in prose is no address line


def test_a_form_line_with_empty_blanks_hides_nothing():
    page = _page(
        [
            (40, 200, "监护人现住地址："),
            (150, 200, "省（区、市）"),
            (240, 200, "州（市）"),
            (320, 200, "县（市、区）"),
        ]
    )
    assert _found("address", page) == {}


def test_a_name_printed_right_after_a_signature_label_is_a_field_value():
    page = _page(
        [(40, 100, "医（护）人员签名于婷海"), (40, 130, "签名日期2024"), (40, 160, "患者签名后请交回护士站")]
    )
    found = _found("label_fields", page)
    assert found.get("于婷海") == "staff_name"
    assert not any("2024" in t or "请交回" in t or t.startswith("后") for t in found)


def test_a_pinyin_code_in_the_cell_right_of_its_label_is_the_patients_name():
    page = _page(
        [(40, 100, "患者姓名"), (130, 100, "施雪桂"), (260, 100, "拼音码"), (340, 100, "SHI XUEGUI")]
    )
    assert _found("label_fields", page).get("SHI XUEGUI") == "patient_name"


def test_staff_titles_count_with_either_word_for_doctor():
    """送检医生 / 看诊医生 are the same fields as 送检医师 / 看诊医师."""
    page = _page(
        [
            (40, 100, "送检医生：夏侯泽"),
            (40, 130, "看诊医生"),
            (130, 130, "陈刚思"),
            (40, 160, "现住地址：合肥市蜀山区长江西路12号"),
        ]
    )
    found = _found("label_fields", page)
    assert found.get("夏侯泽") == "doctor_name" and found.get("陈刚思") == "doctor_name", found
    assert found.get("合肥市蜀山区长江西路12号") == "address", found


def test_a_form_address_line_still_counts_where_ocr_dropped_the_slash_of_its_street_unit():
    page = _page(
        [
            (40, 200, "监护人现住地址：福建"),
            (150, 200, "省(区、市) 杭州"),
            (240, 200, "乡(镇)"),
            (40, 220, "花园路"),
            (90, 220, "街道新河"),
            (160, 220, "村/号"),
        ]
    )
    found = _found("address", page)
    assert all(found.get(p) == "address" for p in ("福建", "杭州", "花园路", "新河")), found
