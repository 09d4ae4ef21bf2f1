"""Label -> value on OCR'd forms and tables: long values over OCR's spaces,
values under their label judged by box centres, and field labels that are
never person names (issue 10)."""

from __future__ import annotations

from core.detect.base import AnalysisContext, PageInput
from core.detect.registry import load_default_recognizers
from core.models import CaseMeta, Char, PageText, Source
from tests.engine.test_recognizers import found


def _cells(*cells, y: float = 100.0, size: float = 8.0, source=Source.OCR):
    """One line of characters; ``cells`` are (text, x) pairs, characters one
    ``size`` apart, a space character between cells as OCR inserts it."""
    out = []
    for text, x in cells:
        if out:
            prev = out[-1].rect
            out.append(Char(" ", (prev[2], y, x, y + size * 1.1), source))
        out += [
            Char(c, (x + i * size, y, x + (i + 1) * size, y + size * 1.1), source) for i, c in enumerate(text)
        ]
    return out


def _analyze(name: str, *lines, scanned: bool = True):
    rec = load_default_recognizers([name])[0]
    page = PageInput(0, None, PageText.from_lines(0, 595, 842, list(lines)), is_scanned=scanned)
    return [
        (f.category.value, f.text) for f in rec.analyze(page, AnalysisContext(meta=CaseMeta.from_dict({})))
    ]


def test_an_address_broken_by_ocr_spaces_runs_to_the_next_label():
    # OCR put spaces where the recogniser's columns wobbled: gaps of half a glyph
    line = _cells(
        ("现住址：江苏省南京市", 40), ("鼓楼区中山路", 124), ("12号", 176), ("电话：13912345678", 230)
    )
    hits = _analyze("label_fields", line)
    assert ("address", "江苏省南京市 鼓楼区中山路 12号") in hits, hits
    assert ("phone", "13912345678") in hits


def test_an_address_ends_at_a_cell_wide_blank():
    # the next cell (no label in it) stands two glyphs and more away: it is not the address
    line = _cells(("住址：南京市鼓楼区", 40), ("中山路12号", 120), ("孕周 38+2", 220))
    hits = _analyze("label_fields", line)
    assert ("address", "南京市鼓楼区 中山路12号") in hits, hits
    assert not any("38+2" in t for _, t in hits)


def test_a_value_under_its_label_is_the_piece_of_the_row_below_centred_under_it():
    # a header row of cells, and the row below read as one line (a text layer joins cells);
    # OCR boxes of table rows overlap a little, so "below" is judged by centres
    header = _cells(("手术日期", 40), ("手术名称", 120), ("麻醉医师", 220), ("备注", 300), y=100.0)
    row = _cells(("2025-05-31", 40), ("腹腔镜胆囊切除术", 110), ("皇甫建红", 222), ("无", 305), y=108.0)
    hits = _analyze("label_fields", header, row)
    assert ("doctor_name", "皇甫建红") in hits, hits
    assert not any(t.startswith("2025") or "切除" in t for _, t in hits), hits


def test_a_value_centred_under_a_wider_label():
    header = _cells(("主任（副主任）医师", 40), y=100.0)
    value = _cells(("安晨", 64), y=106.0)  # centred, not left-aligned; OCR boxes of the rows overlap
    assert ("doctor_name", "安晨") in _analyze("label_fields", header, value)


def test_field_labels_are_never_person_names():
    for line in ["主刀医师", "主刀医师 欧阳明辉", "术者 周海涛"]:
        hits = found("person_names", line)
        assert not any(t in ("主刀", "术者", "主刀医师") for _, t in hits), (line, hits)
    assert ("person_name", "欧阳明辉") in found("person_names", "主刀医师 欧阳明辉") or (
        "doctor_name",
        "欧阳明辉",
    ) in found("label_fields", "主刀医师：欧阳明辉")


def test_a_header_cell_whose_right_neighbour_is_another_header_takes_the_cell_below():
    # 术者 | 一助 header cells, each its own OCR line; the names below (the first read with a
    # surname OCR got wrong: no name check can vouch for it, the label does)
    header = [_cells(("术者", 40), y=100.0), _cells(("一助", 72), y=100.0)]
    below = [_cells(("榆昊梓", 36), y=107.0), _cells(("何海德", 68), y=107.0)]
    hits = _analyze("label_fields", *header, *below)
    assert ("doctor_name", "榆昊梓") in hits and ("doctor_name", "何海德") in hits, hits


def test_a_tall_header_box_takes_the_cell_below_not_a_label_further_along_the_row():
    # OCR drew 术者's box over part of its cell's borders (taller than the glyphs); along its
    # row, 麻醉医师 (read as 魔醉医师) stands beyond other header cells: it is no value of 术者
    tall = [Char(c, (40 + 8 * i, 96.0, 48 + 8 * i, 116.0), Source.OCR) for i, c in enumerate("术者")]
    between = _cells(("Ⅱ助", 90), y=102.0)
    far = [Char(c, (200 + 8 * i, 97.0, 208 + 8 * i, 110.0), Source.OCR) for i, c in enumerate("魔醉医师")]
    value = _cells(("和明晓", 38), y=112.0)  # its box overlaps the bottom of 术者's
    hits = _analyze("label_fields", tall, between, far, value)
    assert ("doctor_name", "和明晓") in hits, hits
    assert not any("魔" in t for _, t in hits), hits


def test_text_overflowing_from_the_cell_on_the_left_is_no_value_of_the_header_above():
    # a born-digital row: the procedure name overflows its cell and runs into the name under 术者
    header = [
        _cells(("术者", 258), y=53.0, size=7.0, source=Source.TEXT),
        _cells(("I助", 284), y=53.0, size=7.0, source=Source.TEXT),
    ]
    row = _cells(("经皮冠状动脉支架植入术卫芳兰", 186), y=64.0, size=7.0, source=Source.TEXT)
    hits = _analyze("label_fields", *header, row, scanned=False)
    assert not any(t.startswith("经皮") for _, t in hits), hits


def test_a_header_row_cell_or_the_next_label_is_no_name_of_an_empty_field():
    # 医嘱单 header: 医师签名 | 执行时间 | 执行者签名, each its own OCR line; the cells
    # right of 医师签名 hold header words, not a name ("执行" cut before 时间)
    header = [_cells((w, x), y=100.0) for w, x in (("医师签名", 40), ("执行时间", 120), ("执行者签名", 200))]
    hits = _analyze("label_fields", *header)
    assert not any(t.startswith("执行") for _, t in hits), hits
    # an empty 监护医师：, then the next field's label on the line below: no name "报告"
    empty = _cells(("监护医师：", 40), y=100.0)
    below = _cells(("报告时间：2021-02-05", 40), y=112.0)
    assert not any("报告" in t for _, t in _analyze("label_fields", empty, below))
    # an empty 报告医师：, the next field "审核：解江" below it: 审核 is a label, not a name
    empty = _cells(("报告医师：", 40), y=100.0)
    below = _cells(("审核：解江", 40), y=112.0)
    assert not any("审核" in t for _, t in _analyze("label_fields", empty, below))
    # a name under the header is still taken
    header = _cells(("医师签名", 40), y=100.0)
    value = _cells(("皇甫平祥", 40), y=112.0)
    assert ("doctor_name", "皇甫平祥") in _analyze("label_fields", header, value)


def test_speech_after_a_role_label_is_no_name():
    # 死亡病例讨论记录: "赵晶妍主任医师：同意上述意见。" is what the doctor said
    assert not found("label_fields", "赵晶妍主任医师：同意上述意见。本例提示需加强沟通。")
    # a name that opens the sentence after a person's label is still taken
    assert ("patient_name", "王芳因") in found("label_fields", "患者：王芳因发热入院")
    assert ("staff_name", "方晓") in found("label_fields", "记录者：方晓住院医师")


def test_a_name_field_ocr_read_as_one_character_is_the_name_cut_short():
    # the recogniser dropped the rare surname (訾玥 read as 玥); the box it gave covers the whole line
    hits = _analyze(
        "label_fields", _cells(("户主姓名：", 40), ("玥", 100)), _cells(("与户主关系：配偶", 40), y=120.0)
    )
    assert ("relative_name", "玥") in hits or ("patient_name", "玥") in hits, hits


def test_a_one_character_field_value_in_the_text_layer_or_a_checkbox_is_no_name():
    layer = _analyze(
        "label_fields", _cells(("户主姓名：", 40), ("玥", 100), source=Source.TEXT), scanned=False
    )
    box = _analyze("label_fields", _cells(("户主姓名：", 40), ("口", 100)))
    assert not any(t in ("玥", "口") for _, t in layer + box), (layer, box)


def test_a_surname_ocr_misread_as_no_surname_stays_with_the_name_before_a_title():
    # 鞠巍宸 read as 翰巍宸: 翰 is no surname, 巍 a rare one; the name is the three characters
    ocr = _analyze("person_names", _cells(("注意监测血压。今日翰巍宸主治医师查房：复查肝功能", 40)))
    layer = _analyze(
        "person_names", _cells(("注意监测血压。今日翰巍宸主治医师查房：复查肝功能", 40), source=Source.TEXT)
    )
    assert any(t == "翰巍宸" for _, t in ocr), ocr
    assert not any(t == "翰巍宸" for _, t in layer), layer


def test_an_empty_blank_on_a_row_of_form_labels_takes_nothing_from_the_table_below():
    # "孕妇姓名：　年龄：　高危因素：" left blank above a table whose header starts with 孕周
    form = _cells(("孕妇姓名：", 28), ("年龄：", 190), ("高危因素：", 273), y=55.0, source=Source.TEXT)
    header = _cells(("孕周", 47), ("必查项目", 81), ("完成情况", 153), y=72.0, source=Source.TEXT)
    row = _cells(("12周", 47), ("血常规", 81), ("已完成", 153), y=89.0, source=Source.TEXT)
    hits = _analyze("label_fields", form, header, row, scanned=False)
    assert not any(t in ("孕周", "12周", "必查项目") for _, t in hits), hits


def test_a_name_blank_alone_on_its_row_still_takes_the_cell_below():
    label = _cells(("姓名：", 40), y=55.0, source=Source.TEXT)
    value = _cells(("章晓燕", 40), y=70.0, source=Source.TEXT)
    assert ("patient_name", "章晓燕") in _analyze("label_fields", label, value, scanned=False)


def test_the_next_rows_clinical_label_is_no_workplace_of_an_empty_blank():
    # 工作单 / 位 wrapped in a narrow label cell, read as one line; its value cell to the right is empty
    label = [Char(c, (141 + 8 * i, 62.0, 149 + 8 * i, 70.8), Source.TEXT) for i, c in enumerate("工作单")]
    label.append(Char("位", (149, 71.0, 157, 79.8), Source.TEXT))
    below = _cells(("月经史", 141), y=88.0, source=Source.TEXT)
    its_value = _cells(("初潮 13岁 周期 28天", 169), y=88.0, source=Source.TEXT)
    hits = _analyze("label_fields", label, below, its_value, scanned=False)
    assert not any(cat == "workplace" and "月经" in t for cat, t in hits), hits


def test_a_presentation_before_a_signature_title_is_no_name():
    line = _cells(("诊断处理：孕39+2周G2P1头位待产医师签名：", 40), source=Source.TEXT)
    hits = _analyze("person_names", line, scanned=False)
    assert not any("待产" in t for _, t in hits), hits


def test_an_id_number_printed_one_digit_per_box_read_as_circled_digits_is_one_long_number():
    # OCR reads a boxed 4 as ④ and drops digits of a boxed row: the whole run is still one long number
    label = _cells(("编号：37683301090642874", 29), ("身份证号：", 300), y=110.0)
    value = _cells(("④0049540④25④28", 30), ("性别：女", 330), y=125.0)
    hits = _analyze("record_number", label, value)
    assert ("record_number", "④0049540④25④28") in hits, hits
