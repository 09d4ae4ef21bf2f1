"""Demo archive layout and the evaluation scorer."""

from __future__ import annotations

import json

import pymupdf
import pytest

from core.models import Finding
from tools.synth.corpus import build_record, make_record
from tools.synth.demo_archive import build_case, main, plan_cases
from tools.synth.evaluate import coverage, evaluate, format_report, score_record, union_area
from tools.synth.truth import RecordTruth

CASE_KEYS = (
    "case_id patient_id patient_name sex age id_number inpatient_no institution department "
    "admission_date discharge_date main_diagnosis main_operation review_type"
).split()


def test_plan_covers_departments_years_reviews_and_sizes():
    plans = plan_cases(8, seed=2024)
    assert len(plans) == 8
    assert {p.admission.year for p in plans} == {2024, 2025}
    assert sum(p.pages >= 250 for p in plans) == 1
    assert all(30 <= p.pages <= 300 for p in plans)
    assert any(p.scanned == 1.0 for p in plans) and any(0 < p.scanned < 1 for p in plans)
    assert len({p.case_id for p in plans}) == 8


def test_case_folder_manifest_is_valid_and_readable(tmp_path):
    plan = plan_cases(8, seed=2024)[0]
    plan.pages = 30
    summary = build_case(plan, tmp_path)
    folder = tmp_path / plan.case_id
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    case = manifest["case"]
    for key in CASE_KEYS:
        assert case.get(key), key
    assert case["review_type"] in ("儿童死亡评审", "孕产妇危重症评审")
    assert all(f["relation"] and f["name"] for f in case["family"])
    total = 0
    for d in manifest["documents"]:
        assert set(d) == {"doc_id", "type", "title", "date", "file"}
        doc = pymupdf.open(folder / d["file"])
        total += doc.page_count
    assert total == summary["pages"] == 30
    types = [d["type"] for d in manifest["documents"]]
    assert types[0] == "住院病案首页" and "病程记录" in types
    # the folder name and file names carry no identifier
    assert case["patient_name"] not in plan.case_id
    truth = RecordTruth.load(tmp_path / "_truth" / f"{plan.case_id}.truth.json")
    assert truth.n_pages == 30 and [d.file for d in truth.documents] == [
        d["file"] for d in manifest["documents"]
    ]


def test_folder_archive_reader_accepts_demo_case(tmp_path):
    from core.archive import folder as archive

    plan = plan_cases(8, seed=7)[3]
    plan.pages = 30
    build_case(plan, tmp_path)
    src = archive.FolderArchive(tmp_path)
    cases = src.list_cases()
    assert [c.case_id for c in cases] == [plan.case_id] and not src.problems
    m = src.read_manifest(plan.case_id)
    assert (
        pymupdf.open(stream=src.open_document(plan.case_id, m.documents[0]), filetype="pdf").page_count >= 1
    )


def test_cli_rejects_zero_cases(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--cases", "0"]) == 2


def test_union_area_and_coverage():
    assert union_area([(0, 0, 10, 10), (5, 0, 15, 10)]) == pytest.approx(150)
    assert union_area([(0, 0, 10, 10), (0, 0, 10, 10)]) == pytest.approx(100)
    assert coverage((0, 0, 10, 10), [(0, 0, 5, 10), (5, 0, 9.5, 10)]) == pytest.approx(0.95)
    assert coverage((0, 0, 10, 10), [(20, 20, 30, 30)]) == 0


def test_evaluate_perfect_partial_and_stray(tmp_path):
    truth = make_record(tmp_path / "r.pdf", pages=3, seed=5)

    def perfect(pdf_path, meta):
        return [Finding(t.page_index, t.category, [t.rect], "truth") for t in truth.identifiers]

    res = evaluate(perfect, [truth])
    assert res["overall"]["recall"] == 1.0
    assert res["over_redaction"]["stray_findings"] == 0
    names = [t for t in truth.identifiers if t.category == "patient_name"]

    def half(pdf_path, meta):
        out = []
        for t in truth.identifiers:
            x0, y0, x1, y1 = t.rect
            if t.category == "patient_name":  # covers only the left half: not found
                out.append(Finding(t.page_index, t.category, [(x0, y0, (x0 + x1) / 2, y1)], "half"))
            else:
                out.append(Finding(t.page_index, t.category, [t.rect], "truth"))
        out.append(Finding(0, "person_name", [(1, 1, 3, 3)], "noise"))  # overlaps nothing
        line = truth.clinical[0]
        out.append(Finding(line.page_index, "manual", [line.rect], "overreach"))
        return out

    res = evaluate(half, [truth])
    assert res["recall"]["patient_name"]["found"] == 0 and res["recall"]["patient_name"]["total"] == len(
        names
    )
    assert res["recall"]["doctor_name"]["recall"] == 1.0
    ov = res["over_redaction"]
    assert ov["stray_by_detector"].get("noise") == 1
    assert ov["clinical_lines_hit"] >= 1 and ov["clinical_area_covered"] > 0
    report = format_report(res)
    assert "patient_name" in report and "stray" in report
    for t in names:
        assert t.text not in report  # missed values are masked


def test_score_record_counts_scanned_separately():
    doc, truth = build_record(pages=3, seed=8, scanned=True)
    r = score_record(truth, [])
    assert all(v["born_digital"][0] == 0 and v["scanned"][0] > 0 for v in r["recall"].values())
