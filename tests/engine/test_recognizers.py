"""Each text recognizer alone, on small pages built in memory."""

from __future__ import annotations

import pymupdf
import pytest

from core.detect.base import AnalysisContext, PageInput
from core.detect.registry import load_default_recognizers
from core.detect.seeding import seeds_from_meta
from core.engine import analyze_document
from core.models import CaseMeta, Char, PageText
from tests.engine.pdfs import text_page


def page_of(*lines: str) -> PageInput:
    rows = [
        [Char(c, (i * 10.0, k * 20.0, i * 10.0 + 10, k * 20.0 + 12)) for i, c in enumerate(line)]
        for k, line in enumerate(lines)
    ]
    return PageInput(0, None, PageText.from_lines(0, 600, 800, rows))  # type: ignore[arg-type]


def found(name: str, *lines: str, meta: dict | None = None) -> list[tuple[str, str]]:
    rec = load_default_recognizers([name])[0]
    ctx = AnalysisContext(meta=CaseMeta.from_dict(meta))
    seeds_from_meta(ctx.meta, ctx)
    return [(f.category.value, f.text) for f in rec.analyze(page_of(*lines), ctx)]


def test_case_seed_tolerates_spaces_fullwidth_and_ocr_confusions():
    meta = {
        "patient_name": "王小红",
        "inpatient_no": "20230456",
        "id_number": "320106199501011237",
        "family": [{"relation": "丈夫", "name": "张伟"}],
        "phone": "13912345678",
        "department": "产科",
    }
    hits = found(
        "case_seed",
        "患者王 小 红，住院号２０２３０４５６",
        "身份证 32O1O6199501011237",
        "丈夫张伟 电话139-1234-5678",
        "产科",
        meta=meta,
    )
    cats = [c for c, _ in hits]
    assert cats.count("patient_name") == 1 and "record_number" in cats and "id_number" in cats
    assert ("relative_name", "张伟") in hits and "phone" in cats
    assert not any(t == "产科" for _, t in hits)  # department is kept


@pytest.mark.parametrize(
    "line,category,value",
    [
        ("姓名：王小红  性别：女", "patient_name", "王小红"),
        ("姓 名  李四", "patient_name", "李四"),
        ("住院号：ZY20230456 床号：12", "record_number", "ZY20230456"),
        ("联系人：张伟  关系：丈夫", "relative_name", "张伟"),
        ("监护人工作单位：南京某某科技有限公司", "workplace", "南京某某科技有限公司"),
        ("主治医师：刘洋", "doctor_name", "刘洋"),
        ("护士签名：陈静", "nurse_name", "陈静"),
        ("住址：江苏省南京市玄武区幸福路12号", "address", "江苏省南京市玄武区幸福路12号"),
    ],
)
def test_label_fields_same_line(line, category, value):
    assert (category, value) in found("label_fields", line)


def test_label_fields_next_cell_next_line_and_column():
    rows = [
        [Char(c, (x + i * 10.0, y, x + i * 10.0 + 10, y + 12)) for i, c in enumerate(t)]
        for t, x, y in [
            ("姓名", 0, 0),
            ("王小红", 100, 0),
            ("护士签名", 300, 0),
            ("陈静", 300, 20),
            ("刘洋", 300, 40),
            ("主要", 300, 60),
            ("身份证号", 0, 100),
            ("320106199501011237", 0, 120),
        ]
    ]
    page = PageInput(0, None, PageText.from_lines(0, 600, 800, rows))  # type: ignore[arg-type]
    rec = load_default_recognizers(["label_fields"])[0]
    hits = {(f.category.value, f.text) for f in rec.analyze(page, AnalysisContext())}
    assert {
        ("patient_name", "王小红"),
        ("nurse_name", "陈静"),
        ("nurse_name", "刘洋"),
        ("id_number", "320106199501011237"),
    } <= hits
    assert not any(t == "主要" for _, t in hits)


def test_label_fields_ignore_prose_and_non_values():
    assert found("label_fields", "向家属交代病情，家属表示理解") == []
    assert found("label_fields", "姓名：不详") == []
    assert found("label_fields", "单位  参考范围") == []


def test_id_numbers_validated_by_check_digit():
    hits = found("id_number", "身份证 320106199501011237 错误 320106199501011238 旧证 320106950101123")
    conf = {t: c for c, t in hits}
    assert "320106199501011237" in conf and "320106950101123" in conf
    assert found("id_number", "检验编号 123456789012345678") == []  # no valid birth date


def test_phones_mobile_and_landline_not_lab_values():
    hits = [t for _, t in found("phone", "电话 13912345678，座机 025-83106666", "白细胞 12.5 血小板 213")]
    assert hits == ["13912345678", "025-83106666"]


def test_record_numbers_skip_dates():
    assert [t for _, t in found("record_number", "条码 2023045612 时间 20240215")] == ["2023045612"]


def test_person_names_from_cues_and_roles():
    hits = found(
        "person_names",
        "今日李建国主任医师查房，患者王小红一般情况可。",
        "其丈夫张伟签字同意，王护士执行医嘱。",
    )
    assert ("doctor_name", "李建国") in hits and ("patient_name", "王小红") in hits
    assert ("relative_name", "张伟") in hits and ("nurse_name", "王") in hits


def test_person_names_not_in_clinical_prose():
    assert found("person_names", "患者神志清，精神差，遵医嘱予心电监护，上级医师查房后同意") == []


def test_institutions_trimmed_and_generic_kept():
    hits = [
        t
        for _, t in found(
            "institutions",
            "患者于今日转入省妇幼保健院，曾在南京市第一人民医院就诊。",
            "我院产科会诊，建议上级医院治疗",
        )
    ]
    assert hits == ["省妇幼保健院", "南京市第一人民医院"]


def test_addresses_with_divisions_or_road_numbers():
    hits = [t for _, t in found("address", "现住江苏省南京市鼓楼区中山路321号，户籍幸福路12号3栋")]
    assert "江苏省南京市鼓楼区中山路321号" in hits and any("幸福路12号" in h for h in hits)


def test_repeated_headers_and_propagation_cover_every_page():
    doc = pymupdf.open()
    for i in range(3):
        lines = ["南京市第一人民医院  电话：025-83106666", "病程记录"]
        lines += ["姓名：王小红"] if i == 0 else ["今日王小红复查血常规。"]
        text_page(doc, lines, top=30)
    a = analyze_document(doc, {}, ocr=False, workers=1)
    per_page = {i: {f.category.value for f in a.findings if f.page_index == i} for i in range(3)}
    for i in range(3):
        assert {"institution", "phone", "patient_name"} <= per_page[i]
