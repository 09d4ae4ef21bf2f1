"""Classes of unlabelled places found in narrative text: hospitals with
Chinese-numeral designations and campuses in brackets, residential compounds
with a building number, and workplaces between a cue and a work word."""

from __future__ import annotations

import pytest

from tests.engine.test_recognizers import found


@pytest.mark.parametrize(
    "line, name",
    [
        ("转入中国人民解放军联勤保障部队第九〇八医院产科", "中国人民解放军联勤保障部队第九〇八医院"),
        ("浙江大学医学院附属妇产科医院（钱江院区）门诊病历", "浙江大学医学院附属妇产科医院（钱江院区）"),
        ("复旦大学附属中山医院徐汇院区", "复旦大学附属中山医院徐汇院区"),
        ("外院（衢州市柯城区人民医院）B超提示胎儿偏小", "衢州市柯城区人民医院"),
        ("孕妇系温州医科大学附属第二医院护士", "温州医科大学附属第二医院"),
    ],
)
def test_hospital_names_whole_and_nothing_more(line, name):
    assert found("institutions", line) == [("institution", name)]


@pytest.mark.parametrize(
    "line, address",
    [
        ("患者家住南昌市青山湖区幸福小区5幢，步行来院。", "南昌市青山湖区幸福小区5幢"),
        (
            "江西省南昌市青山湖区珠江路216号阳光花园27栋4单元1804室",
            "江西省南昌市青山湖区珠江路216号阳光花园27栋4单元1804室",
        ),
        ("家住阳光花园27栋，离医院近。", "阳光花园27栋"),
        ("住在翠苑小区B座1203室", "翠苑小区B座1203室"),
        ("现住青年路102号绿地新城16栋1单元", "青年路102号绿地新城16栋1单元"),
    ],
)
def test_residential_compounds_with_their_building(line, address):
    assert ("address", address) in found("address", line), line


def test_a_compound_word_without_a_building_is_not_an_address():
    for line in ["小区居民健康体检", "花园式病房环境良好", "患者3天前于公园散步时跌倒"]:
        assert found("address", line) == [], line


@pytest.mark.parametrize(
    "line, workplaces",
    [
        ("患者在宁波市鄞州区人民政府办公室工作，平素体健。", ["宁波市鄞州区人民政府办公室"]),
        ("其丈夫系徐州市瑞丰建设工程有限公司职工，体健。", ["徐州市瑞丰建设工程有限公司"]),
        ("母亲为南昌市青云谱区实验小学教师", ["南昌市青云谱区实验小学"]),
        ("患者在华瑞电子有限公司工作期间于东湖区第一中学任教", ["华瑞电子有限公司", "东湖区第一中学"]),
        ("就职于中国农业银行赣州分行，从事柜员工作", []),  # no work word within reach: not taken
    ],
)
def test_workplaces_between_a_cue_and_a_work_word(line, workplaces):
    assert [t for c, t in found("workplaces", line) if c == "workplace"] == workplaces


def test_generic_and_clinical_places_are_not_workplaces():
    for line in [
        "患者在公司体检时发现血糖升高。",
        "孕妇于我院产科住院治疗，现病情平稳。",
        "患者在家务农，否认毒物接触史。",
        "在当地学校读书，成绩一般。",
        "在一家公司上班，无毒物接触史。",
        "培训种子教师（中小学心理辅导老师）",
    ]:
        assert found("workplaces", line) == [], line


@pytest.mark.parametrize(
    "line, name",
    [
        ("北京协和医院妇产科", "北京协和医院"),  # 和 is a boundary word, but part of 协和
        ("广州市妇女儿童医疗中心产科", "广州市妇女儿童医疗中心"),
        ("转华西附二院进一步治疗", "华西附二院"),
        ("建议转郑大一附院", "郑大一附院"),
        ("患儿曾从赣州市人民医院转回", "赣州市人民医院"),
    ],
)
def test_hospital_short_forms_and_words_inside_names(line, name):
    assert found("institutions", line) == [("institution", name)]


def test_counted_hospitals_name_none():
    for line in ["全国20家医院参与研究", "北美洲多家医疗中心的数据"]:
        assert found("institutions", line) == [], line


@pytest.mark.parametrize(
    "line, url",
    [
        ("网址：www.ndyfy.com", "www.ndyfy.com"),
        ("医院官网 http://www.jxsfybjy.com/ 欢迎访问", "http://www.jxsfybjy.com/"),
        ("预约：https://yy.example-hosp.cn:8443/app?id=12", "https://yy.example-hosp.cn:8443/app?id=12"),
    ],
)
def test_web_addresses(line, url):
    assert found("web_address", line) == [("web_address", url)]


def test_decimals_and_emails_are_no_web_address():
    for line in ["Hb 9.8 g/dL，PLT 156", "邮箱：zhangli@163.com", "版本 v2.3.1"]:
        assert found("web_address", line) == [], line
