"""Consistent role labels across pages and documents of a case."""

from __future__ import annotations

import re

import pymupdf

from core.export.options import ExportOptions
from core.export.pipeline import export_case
from core.models import CaseMeta, Finding
from core.policy.labels import LabelBook, assign_labels, normalise_name
from tests.export import helpers


def _f(page, category, text, hint="", x=0.0):
    return Finding(page, category, [(x, 10, x + 30, 22)], "test", text=text, role_hint=hint)


def test_same_person_same_label_across_pages_and_roles():
    meta = CaseMeta(patient_name="王小红", institution="南京市妇幼保健院")
    doc1 = [
        _f(0, "patient_name", "王小红"),
        _f(0, "relative_name", "李建国", "丈夫", 40),
        _f(0, "doctor_name", "张伟明 主治医师", "", 80),
        _f(0, "nurse_name", "赵敏", "", 120),
        _f(1, "person_name", "张 伟 明"),
        _f(1, "institution", "南京市妇幼保健院"),
        _f(1, "institution", "江苏省人民医院", "", 40),
    ]
    doc2 = [
        _f(0, "doctor_name", "刘洋"),
        _f(0, "person_name", "王小红", "", 40),
        _f(0, "doctor_name", "张伟明", "", 80),
        _f(2, "institution", "南京市妇幼保健院（本院）"),
        _f(2, "relative_name", "某甲", "", 40),
        _f(2, "relative_name", "某乙", "", 80),
    ]
    book = LabelBook.for_case(meta)
    book.observe(doc1)
    book.observe(doc2)
    l1 = assign_labels(doc1, book=book)
    l2 = assign_labels(doc2, book=book)
    by_text = {}
    for findings, labels in ((doc1, l1), (doc2, l2)):
        for f in findings:
            by_text.setdefault(
                normalise_name(f.text) if f.category.is_person else f.text.replace("（本院）", ""), set()
            ).add(labels[f.id])
    assert all(len(v) == 1 for v in by_text.values()), by_text
    assert by_text["王小红"] == {"患者"}  # tagged person_name in doc 2: still the patient
    assert by_text["李建国"] == {"患者丈夫"}
    assert by_text["张伟明"] == {"医师A"}  # title suffix and spaces normalised away
    assert by_text["赵敏"] == {"护士B"}
    assert by_text["刘洋"] == {"医师C"}  # staff letters are shared: a letter never names two people
    assert by_text["南京市妇幼保健院"] == {"医院A"}
    assert by_text["江苏省人民医院"] == {"外院B"}
    assert by_text["某甲"] == {"家属1"} and by_text["某乙"] == {"家属2"}
    # nothing in the legend reveals a name
    assert all(not any(n in label for n in ("王", "李", "张", "赵", "刘")) for label, _ in book.legend())


def test_labels_in_exported_pdf_agree_across_documents():
    result = export_case(
        helpers.case_documents(),
        helpers.META,
        ExportOptions(style="label", cover=False),
        extra_identifiers=[v for _, v, _ in helpers.IDENTIFIERS],
    )
    doc = pymupdf.open(stream=result.pdf, filetype="pdf")
    texts = [p.get_text() for p in doc]
    everything = "\n".join(texts)
    for _, value, _ in helpers.IDENTIFIERS:
        assert value not in everything
    # admission note is first (catalog order), progress note last
    assert texts[0].count("[医师A]") == 1 and "[医师B]" in texts[0]
    assert "[医师A]" in texts[1] and "[外院B]" in texts[1] and "[护士C]" in texts[1]
    assert (
        "[医师A]" in texts[2] and "[医师B]" in texts[2] and "[护士C]" in texts[2] and "[患者丈夫]" in texts[2]
    )
    labels = set(re.findall(r"\[[^\]]+\]", everything))
    assert labels >= {"[患者]", "[患者丈夫]", "[医师A]", "[医师B]", "[护士C]", "[医院A]", "[外院B]"}
    # the doctor who is A in document 1 is A in document 2: check by position of the line that names him
    page2 = doc[2]
    hit = page2.search_for("上级医师")[0]
    right = page2.get_text(clip=pymupdf.Rect(hit.x1, hit.y0 - 2, hit.x1 + 80, hit.y1 + 2))
    assert "医师A" in right


def test_a_name_found_without_a_cue_keeps_the_relation_the_case_seeds_give_it():
    """The archive record names the mother; a page that mentions her without any cue
    (person_name) still labels her as the mother, not as an unknown person (issue 13)."""
    from core.detect.base import Seed

    book = LabelBook.for_case(CaseMeta(patient_name="王小红"))
    book.hint(
        [
            Seed("陈玉兰", "relative_name", "case_meta:mother", "母亲"),
            Seed("王小红", "patient_name", "case_meta"),
        ]
    )
    doc = [_f(0, "person_name", "陈玉兰"), _f(0, "person_name", "周桂芳", "", 40)]
    labels = assign_labels(doc, book=book)
    assert labels[doc[0].id] == "患者母亲"
    assert labels[doc[1].id].startswith("人员")  # nobody said who she is
