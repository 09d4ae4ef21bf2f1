"""Name and place forms beyond the two-to-four-character Han name: minority names joined by a middle dot, names
letter-spaced in a form, names in pinyin, 产妇/孕妇 as labels, 单位 as a workplace label (not a unit), postcodes;
eponyms with a fracture or operation are clinical words."""

from __future__ import annotations

import pymupdf
import pytest

from core.engine import analyze_document
from tests.engine.pdfs import rasterize, text_page


def _found(line: str, scanned: bool = False) -> list[tuple[str, str]]:
    doc = pymupdf.open()
    text_page(doc, [line], size=12)
    doc = pymupdf.open(stream=doc.tobytes(), filetype="pdf")
    if scanned:
        doc = rasterize(doc, dpi=200)
    return [
        (f.category.value, f.text.replace(" ", "")) for f in analyze_document(doc, {}, ocr=scanned).findings
    ]


@pytest.mark.parametrize(
    "line, category, value",
    [
        ("姓名：阿依古丽·买买提  性别：女", "patient_name", "阿依古丽·买买提"),
        ("患者热依拉·艾则孜，女，28岁，因停经39周入院", "patient_name", "热依拉·艾则孜"),
        ("阿依古丽·买买提主任医师查房", "doctor_name", "阿依古丽·买买提"),
        ("其丈夫买买提·吐尔逊陪同", "relative_name", "买买提·吐尔逊"),
        ("姓名：王 小 明  性别：女", "patient_name", "王小明"),
        ("产妇：上官婉儿，G1P0", "patient_name", "上官婉儿"),
        ("姓名(拼音)：WANG XIAOMING", "patient_name", "WANGXIAOMING"),
        ("Patient: Zhang Wei  Age: 28", "patient_name", "ZhangWei"),
        ("单位：中国石化南京分公司", "workplace", "中国石化南京分公司"),
        ("陪护人员司增勤，男，45岁，与患者系邻居", "person_name", "司增勤"),  # described by sex and age
        ("病情已向何次琴女士交代", "person_name", "何次琴"),  # an honorific after the name
        ("已电话通知贺建先生来院", "person_name", "贺建"),
    ],
)
def test_name_form_is_found_whole(line, category, value):
    assert (category, value) in _found(line)


@pytest.mark.parametrize(
    "line, code",
    [
        ("现住址：江苏省南京市鼓楼区中山路321号  邮编：210008", "210008"),
        ("户口地址：安徽省合肥市蜀山区 邮编 230031", "230031"),
        ("邮政编码：210008", "210008"),
    ],
)
def test_postcode_is_hidden_with_the_address(line, code):
    """A postcode narrows the place to a district: hidden as an address, alone or with the address before it."""
    assert any(category == "address" and code in value for category, value in _found(line))


@pytest.mark.parametrize(
    "line, value",
    [
        ("地址/电话：太原市城关区长江西路109号27栋935室/13884977744", "935室/13884977744"),
        ("住址、邮编：南京市鼓楼区中山北路 321 号 210008", "321号210008"),
        ("地址：长江西路 109 号 3 单元 502 室", "长江西路109号3单元502室"),
    ],
)
def test_address_after_joined_labels_and_ocr_gaps_is_hidden_whole(line, value):
    """Two labels before one colon share the value; a space OCR reads into a house number does not end it."""
    assert any(category == "address" and value in v for category, v in _found(line))


def test_house_number_read_with_ocr_gaps_is_an_address_without_a_label():
    found = _found("患者家住太原市城关区长江西路109 号27 栋935 室，步行来院")
    assert any(category == "address" and v.endswith("27栋935室") for category, v in found)


def test_dotted_name_is_found_on_a_scan():
    assert any(v == "阿依古丽·买买提" for _, v in _found("姓名：阿依古丽·买买提  性别：女", scanned=True))


@pytest.mark.parametrize(
    "line", ["产妇一般情况可，宫缩规律", "单位：mmol/L", "史密斯骨折术后第3天", "结果 单位 参考范围"]
)
def test_clinical_line_keeps_its_words(line):
    assert _found(line) == []
