"""Classes of text identifiers missed on records from other generators and
real EMR layouts (issue 10), and clinical words taken for names."""

from __future__ import annotations

import pytest

from core.detect.base import AnalysisContext
from core.detect.registry import load_default_recognizers
from core.models import CaseMeta
from core.detect.propagation import PropagationRecognizer
from tests.engine.test_recognizers import found, page_of


def test_bed_number_is_any_value_up_to_the_next_label():
    for line, value in [
        ("床号：+2", "+2"),
        ("床位号：加3", "加3"),
        ("床 位 号：32床  姓名：王小红", "32床"),
        ("床号：12-1", "12-1"),
        ("床号 A12", "A12"),
    ]:
        assert ("record_number", value) in found("label_fields", line), line


@pytest.mark.parametrize("gap", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e"])
def test_labels_and_values_through_invisible_characters(gap):
    hits = found(
        "label_fields", f"姓{gap}名{gap}：{gap}王小红", f"床{gap}号：{gap}+2", f"住院号：{gap}ZY2023{gap}0456"
    )
    assert ("patient_name", "王小红") in hits and ("record_number", "+2") in hits
    assert any(c == "record_number" and t.startswith("ZY2023") for c, t in hits)


def test_case_index_value_touching_a_date_across_a_line_break():
    hits = found("case_seed", "住院号：\u200b6359562", "2025-07-15", meta={"inpatient_no": "6359562"})
    assert [t for _, t in hits] == ["6359562"]
    # within one line, a longer number is still another number
    assert found("case_seed", "检验号 163595621", meta={"inpatient_no": "6359562"}) == []


def test_staff_names_in_narrative_whole_and_nothing_more():
    for line, value in [
        ("欧阳明辉主任医师查房", "欧阳明辉"),
        ("2025-07-15 10:00 郝德福查房记录", "郝德福"),
        ("主治医师王伟东查房，同意目前诊断。", "王伟东"),
        ("王伟东主治医师查房", "王伟东"),
        ("今日闫春主治医师查看患者，同意目前处理。", "闫春"),
    ]:
        assert found("person_names", line) == [("doctor_name", value)], line
    for line in ["副主任医师查房后指示：继续观察", "今日查房，患者一般情况可"]:
        assert found("person_names", line) == [], line


def test_a_name_before_a_title_stops_at_the_titles_prefix_and_units_are_no_names():
    for line, value in [("李明副主任查房，同意目前处理", "李明"), ("请王强客座教授会诊", "王强")]:
        assert found("person_names", line) == [("doctor_name", value)], line
    for line in [
        "经质控中心主任审核",
        "请医学院教授会诊",
        "已报医务部主任，院办公室主任到场",
        "产科质量管理委员会副主任意见",
    ]:
        assert found("person_names", line) == [], line


def test_a_person_described_by_sex_or_honorific_is_a_name_whose_role_a_cue_before_gives():
    assert found("person_names", "陪护人员司增勤，男，45岁") == [("person_name", "司增勤")]
    assert found("person_names", "病情已向何次琴女士交代") == [("person_name", "何次琴")]
    assert found("person_names", "患者黄家学，男，45岁，因腹痛入院") == [("patient_name", "黄家学")]


@pytest.mark.parametrize(
    "line,value",
    [
        ("新生儿邱彤之女，出生体重3200g", "邱彤之女"),
        ("毕怡彤之子 男 1天", "毕怡彤之子"),
        ("李娜女婴，Apgar评分9分", "李娜女婴"),
    ],
)
def test_newborn_named_after_the_mother_is_hidden_whole(line, value):
    assert ("patient_name", value) in found("person_names", line)
    assert found("person_names", "子宫之子宫内膜增厚") == []
    assert ("patient_name", "欧阳明辉之女") in found("label_fields", "姓名：欧阳明辉之女")


@pytest.mark.parametrize(
    "line,category", [("医师签名：（刘刚）", "doctor_name"), ("记录者：（刘刚）", "staff_name")]
)
def test_typed_name_in_brackets_after_a_signature_label(line, category):
    assert (category, "（刘刚）") in found("label_fields", line)


def test_a_name_alone_in_brackets_is_covered_with_its_brackets():
    assert ("patient_name", "（吴玉兰）") in found("case_seed", "（吴玉兰）", meta={"patient_name": "吴玉兰"})


def test_phone_formats_without_a_label():
    for value in [
        "(025)83106666",
        "（0571）8888 6666",
        "025-8310 6666",
        "+86 138 0013 8000",
        "138-0013-8000",
        "0571-88886666转123",
    ]:
        assert ("phone", value) in found("phone", f"医院地址：某路1号 {value} 欢迎来院"), value


@pytest.mark.parametrize(
    "line,value",
    [
        ("工作单位：南京医科大学临床医学院", "南京医科大学临床医学院"),
        ("工作单位及地址：东湖区 第一中学  职业：教师", "东湖区 第一中学"),
    ],
)
def test_workplace_value_is_hidden_whole(line, value):
    assert ("workplace", value) in found("label_fields", line)


def test_clinical_words_are_not_names():
    for line in [
        "孕妇平素月经规律，周期28天。",
        "墨菲氏征阴性，巴宾斯基征未引出，克氏征(-)。",
        "肌钙蛋白T(金山专用) 0.01ng/ml",
        "霍纳综合征待排，帕金森病史3年。",
        "患儿可考虑用血浆。",
    ]:
        assert found("person_names", line) == [], line


def test_a_name_is_not_propagated_into_a_clinical_term():
    ctx = AnalysisContext()
    ctx.add_seed("墨菲", "person_name", "found:person_names")
    page = page_of("墨菲氏征阴性。", "墨菲医生查看患者。")
    hits = PropagationRecognizer().analyze_record([page], [], ctx)
    assert [(f.text, f.rects[0][1]) for f in hits] == [("墨菲", 20.0)]


def _ocr_line(text: str, x0: float = 40.0, size: float = 10.0, ink: dict | None = None):
    """OCR characters one em apart; ``ink`` gives narrower ink boxes (x offset, width) per index."""
    from core.models import Char, Source

    chars = []
    for i, c in enumerate(text):
        dx, w = (ink or {}).get(i, (0.0, size))
        chars.append(
            Char(c, (x0 + i * size + dx, 100.0, x0 + i * size + dx + w, 100.0 + size * 1.1), Source.OCR)
        )
    return chars


def test_an_ocr_value_box_leaves_the_label_colon_its_whole_cell():
    from core.detect.base import PageInput, finding_from_span
    from core.models import PageText

    # the colon's ink is a narrow box at the left of its cell; value boxes carry OCR's 0.15-em margin
    chars = _ocr_line("姓名：李小敏", ink={2: (1.5, 2.5), 3: (-1.5, 13.0), 4: (-1.5, 13.0), 5: (-1.5, 13.0)})
    page = PageInput(0, None, PageText.from_lines(0, 595, 842, [chars]), is_scanned=True)
    f = finding_from_span(page, 3, 6, "patient_name", "test")
    colon_cell_end = 40.0 + 3 * 10.0
    assert f.rects[0][0] == chars[3].rect[0] >= colon_cell_end - 1.5  # no padding into the colon's cell
    assert (
        f.rects[0][0] <= chars[3].rect[0] and f.rects[-1][2] >= chars[5].rect[2]
    )  # the value is still covered


def test_a_clinical_term_broken_over_a_line_is_still_a_term():
    from core.detect.terms import is_clinical_word, term_spans

    text = "病理征阴性，墨菲\n氏征阴性，巴宾\u200b斯基征阴性"
    spans = term_spans(text)
    start = text.index("墨菲")
    assert is_clinical_word(text, start, start + 2, spans)
    assert any(s <= text.index("巴宾") < e for s, e in spans)


def test_front_sheet_signature_row_roles_in_table_cells():
    """住院病案首页's signature row (national template): role cells without colons, names in the next cell."""
    from core.detect.base import PageInput
    from core.models import Char, PageText

    cells = [
        ("进修医师", 150),
        ("夏侯浩涛", 190),
        ("实习医师", 285),
        ("\u200b韦华兰", 321),
        ("编码员", 379),
        ("\u200b赵建伟", 408),
    ]
    rows = [
        [Char(c, (x + i * 7.0, 454.0, x + (i + 1) * 7.0, 462.0)) for i, c in enumerate(text)]
        for text, x in cells
    ]
    page = PageInput(0, None, PageText.from_lines(0, 595, 842, rows))
    rec = load_default_recognizers(["label_fields"])[0]
    texts = {f.text for f in rec.analyze(page, AnalysisContext(meta=CaseMeta.from_dict({})))}
    assert {"夏侯浩涛", "韦华兰", "赵建伟"} <= {t.replace("\u200b", "") for t in texts}


def test_a_hospital_name_starts_after_the_verb_that_asks_for_it():
    # "特请…会诊", "必要时请…", "要求转上级医院": the verb is narrative, the hospital starts after it
    assert found("institutions", "必要时请江苏省人民医院会诊") == [("institution", "江苏省人民医院")]
    assert found("institutions", "家属（丈夫符东军）要求转上级医院进一步治疗") == []


def test_a_universitys_affiliated_hospital_is_one_name():
    line = "目前病情危重，特请南京医科大学附属妇产医院会诊。"
    assert found("institutions", line) == [("institution", "南京医科大学附属妇产医院")]
    line = "请上海交通大学医学院附属瑞金医院会诊"
    assert found("institutions", line) == [("institution", "上海交通大学医学院附属瑞金医院")]


@pytest.mark.parametrize(
    "line",
    ["时间 2 610141822 2 610141822", "脉搏 406080100120140", "体温 35363738394041", "24681012"],
)
def test_chart_axis_ticks_run_together_are_no_record_number(line):
    """OCR drops the narrow gaps of a chart's tick row (2 6 10 14 18 22 on a 体温单): numbers rising by one
    small or round step are an axis, not an unlabeled record number."""
    assert found("record_number", line) == []


@pytest.mark.parametrize("value", ["12345678", "38120567", "20230456789", "123456789"])
def test_long_numbers_that_are_no_axis_stay_record_numbers(value):
    assert found("record_number", f"标本 {value} 已送检") == [("record_number", value)]


def test_masked_and_surname_only_names_in_person_fields():
    for line, value in [
        ("姓名：张** 性别：男", "张**"),
        ("姓名：李*明 性别：男", "李*明"),
        ("姓名：王XX 性别：女", "王XX"),
        ("病人姓名：覃 性别：女 年龄：28岁", "覃"),
    ]:
        assert ("patient_name", value) in found("label_fields", line), line
    for line in ["姓名：男", "患者：女，32岁", "姓名： 性别：女", "签名：无"]:
        assert not [h for h in found("label_fields", line) if h[0] == "patient_name"], line


def test_native_place_plates_and_numbers_after_a_province_abbreviation():
    assert ("address", "湖南长沙") in found("label_fields", "籍贯：湖南长沙 民族：汉族")
    assert ("record_number", "赣A12345") in found("label_fields", "车牌号：赣A12345")
    assert ("record_number", "粤B·D12345") in found("label_fields", "车牌号码：粤B·D12345")
    assert ("record_number", "赣A0012345678") in found("label_fields", "医保号：赣A0012345678")
    assert ("record_number", "京0012345") in found("label_fields", "住院号：京0012345")
    # a province word that is no abbreviation before a number stays outside the value
    assert ("record_number", "0012345") in found("label_fields", "住院号：0012345 京")


def test_a_number_letter_spaced_one_character_at_a_time():
    assert ("record_number", "Z Y 2 4 5 6 7 8") in found("label_fields", "住院号：Z Y 2 4 5 6 7 8 性别：男")
    assert ("record_number", "Ｚ Ｙ ２ ４ ５ ６") in found("label_fields", "住院号：Ｚ Ｙ ２ ４ ５ ６")
    # a number and a separate short word after it: the number alone
    assert ("record_number", "ZY2456") in found("label_fields", "住院号：ZY2456 1 床")


@pytest.mark.parametrize("dash", ["\u2011", "\u2012", "\u2015", "\u2212", "\ufe63"])
def test_phone_and_id_numbers_joined_by_any_dash(dash):
    phone = f"139{dash}1234{dash}5678"
    assert ("phone", phone) in found("label_fields", f"电话：{phone}")
    assert ("phone", phone) in found("phone", f"患者丈夫手机{phone}")
    ident = f"430102{dash}19900101{dash}1234"
    assert any(c == "id_number" for c, _ in found("id_number", f"身份证号：{ident}"))


def test_staff_roles_of_forms_lists_and_footers_label_a_name():
    for line, value in [
        ("打印人：甘露 打印时间：2024-03-05 10:12", "甘露"),
        ("经办人：甘露", "甘露"),
        ("送检人：甘露 送检时间：2024-03-05", "甘露"),
        ("巡回：甘露 器械：王芳", "王芳"),
        ("主管医生：甘露", "甘露"),
        ("被告知人：甘露（患者丈夫）", "甘露"),
    ]:
        assert value in {t for _, t in found("label_fields", line)}, line
    assert found("label_fields", "负责人：科主任") == []


def test_a_surname_and_title_after_a_preposition_and_a_title_word_before_a_title():
    assert ("doctor_name", "王") in found("person_names", "由王医生、李护士陪同转运至ICU。")
    assert ("doctor_name", "向东") in found("person_names", "请向东主任会诊")
    assert ("doctor_name", "于明") in found("person_names", "于明医生查房")
    assert ("doctor_name", "治") not in found("person_names", "经治医生于明")


def test_family_words_before_a_name_say_it_is_a_relative():
    for line, value in [
        ("患者爱人李强陪同入院。", "李强"),
        ("其夫张伟诉患者昨日起腹痛。", "张伟"),
        ("孕妇婆婆黄美兰代签知情同意书。", "黄美兰"),
        ("患者姐姐王丽陪同。", "王丽"),
    ]:
        assert ("relative_name", value) in found("person_names", line), line
    for line in ["患者儿子出生后体健。", "其姐姐身体健康，哥哥患高血压。", "舅舅家族史无特殊。"]:
        assert found("person_names", line) == [], line


def test_institution_names_in_english():
    for line, value in [
        ("Xiangya Hospital of Central South University", "Xiangya Hospital of Central South University"),
        ("The Second Xiangya Hospital, Changsha, Hunan", "The Second Xiangya Hospital"),
        (
            "Report: Department of Laboratory Medicine, Peking Union Medical College Hospital",
            "Peking Union Medical College Hospital",
        ),
        ("XIANGYA HOSPITAL CENTRAL SOUTH UNIVERSITY", "XIANGYA HOSPITAL CENTRAL SOUTH UNIVERSITY"),
        ("ECG: Hunan Children's Hospital  Dept. of Cardiology", "Hunan Children's Hospital"),
    ]:
        assert ("institution", value) in found("institutions", line), line
    for line in [
        "Transferred to the local hospital.",
        "General Hospital",
        "The City Hospital",
        "Follow up at the Outpatient Clinic.",
    ]:
        assert found("institutions", line) == [], line
