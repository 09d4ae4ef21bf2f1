"""Identifiers as Chinese input methods and habits type them: full-width
digits and letters, any dash between phone groups, "No." before a number."""

from __future__ import annotations

import pytest

from tests.engine.test_recognizers import found


@pytest.mark.parametrize(
    "line, value",
    [
        ("ID：３６０１０２１９８００２２４７５９Ｘ", "３６０１０２１９８００２２４７５９Ｘ"),
        ("身份证号码：36010219800224759x", "36010219800224759x"),
        ("证件号 ３６０１０２１９８００２２４７５９x", "３６０１０２１９８００２２４７５９x"),
    ],
)
def test_id_numbers_typed_full_width(line, value):
    assert ("id_number", value) in found("id_number", line)


def test_a_full_width_number_without_a_birth_date_is_no_id():
    assert found("id_number", "批号：３６０１０２１９８０１３４４７５９１") == []  # month 13: no birth date


@pytest.mark.parametrize(
    "line, value",
    [
        ("电话 0791—86888888", "0791—86888888"),
        ("电话：0791－86888888", "0791－86888888"),
        ("手机 139–5731–2468", "139–5731–2468"),
        ("联系电话：１３９１２３４５６７８", "１３９１２３４５６７８"),
    ],
)
def test_phone_groups_joined_by_any_dash(line, value):
    assert ("phone", value) in found("phone", line)


@pytest.mark.parametrize(
    "line, value",
    [("病案号：No.0023451", "No.0023451"), ("住院号：ＺＹ２４７２４２０", "ＺＹ２４７２４２０")],
)
def test_record_numbers_with_no_prefix_or_full_width(line, value):
    assert ("record_number", value) in found("label_fields", line)


def test_clinical_values_with_dashes_are_not_phones():
    for line in ["血压 150—95mmHg", "2024—03—12 入院", "孕38—39周"]:
        assert found("phone", line) == [], line


@pytest.mark.parametrize(
    "line, value",
    [("姓　名：李　娜　　性　别：女", "李　娜"), ("检验者:  孙  楠      审核者:  姚  明", "孙  楠")],
)
def test_names_letter_spaced_with_wide_or_several_spaces(line, value):
    assert value in [t for _, t in found("label_fields", line)]


def test_a_count_of_babies_is_no_newborn_name():
    assert found("person_names", "产妇于10:20顺产一活男婴，Apgar评分9分") == []
    assert ("patient_name", "李娜之女") in found("person_names", "新生儿李娜之女，出生体重3200g")


@pytest.mark.parametrize("line, value", [("产科 12床 住院号", "12"), ("加3床患者夜间血压偏高", "加3")])
def test_bed_numbers_without_their_label(line, value):
    assert ("record_number", value) in found("record_number", line)


def test_bed_words_are_no_bed_numbers():
    for line in ["床旁超声示宫内单活胎", "卧床休息3天", "2床位紧张", "抬高床头30度"]:
        assert found("record_number", line) == [], line


@pytest.mark.parametrize(
    "line, category, value",
    [
        ("MRN: 2023-004512", "record_number", "2023-004512"),
        ("Bed No.: 12", "record_number", "12"),
        ("Specimen No.: 20240312-0088", "record_number", "20240312-0088"),
        ("Reported by: 陈静  Checked by: 赵磊", "doctor_name", "赵磊"),
    ],
)
def test_english_labels_of_bilingual_reports(line, category, value):
    assert (category, value) in found("label_fields", line)


def test_english_words_without_a_colon_are_no_labels():
    assert found("label_fields", "Bed rest was advised, Doctor on call informed") == []


def test_numbers_of_table_cells_on_consecutive_lines_form_no_phone():
    """A number wrapped to the next line is not read across the break (a known limit: the leak gate
    and the reviewer see its parts): OCR lines of one table row follow each other the same way."""
    assert found("phone", "22:04", "140", "37", "146/55") == []
    assert found("phone", "血压120", "80mmHg，心率88", "次/分") == []


@pytest.mark.parametrize("label", ["孕产妇保健手册编号", "孕产妇保健手册号码", "住院编号", "出生医学证明号"])
def test_number_labels_in_each_of_their_forms(label):
    assert ("record_number", "JX2024-00321") in found("label_fields", f"{label}：JX2024-00321")
