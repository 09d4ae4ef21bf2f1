"""Duplicate pages (issue 13): a repeated page is flagged at processing time, a page of the same
form with other values is not, and decisions of one copy can be copied to the other."""

import json

import pytest

from core.archive import FolderArchive
from core.cases import duplicates, review
from core.cases.processing import run_detect, run_import
from core.store import duplicates as dup_store
from core.store import findings as finding_store
from core.store import jobs as job_store
from dup_pdfs import duplicate_case_pdf, scan_pair_pdf

PREPARER = {"username": "prep1", "role": "preparer"}


@pytest.fixture
def case(db, tmp_path):
    folder = tmp_path / "arch_dup" / "CDUP"
    folder.mkdir(parents=True)
    (folder / "d01.pdf").write_bytes(duplicate_case_pdf())
    (folder / "d02.pdf").write_bytes(scan_pair_pdf())
    meta = {
        "case_id": "CDUP",
        "patient_name": "李秀英",
        "inpatient_no": "ZY20250301",
        "department": "产科",
        "admission_date": "2025-03-01",
        "discharge_date": "2025-03-10",
        "review_type": "孕产妇危重症评审",
    }
    docs = [
        {"doc_id": "d01", "type": "病程记录", "title": "病程记录", "date": "2025-03-02", "file": "d01.pdf"},
        {
            "doc_id": "d02",
            "type": "病程记录",
            "title": "病程记录（扫描）",
            "date": "2025-03-03",
            "file": "d02.pdf",
        },
    ]
    (folder / "manifest.json").write_text(
        json.dumps({"case": meta, "documents": docs}, ensure_ascii=False), "utf-8"
    )
    assert run_import(db, job_store.create(db, "CDUP", "import"), FolderArchive(folder.parent), "CDUP")
    assert run_detect(db, job_store.create(db, "CDUP", "detect"), "CDUP")
    return "CDUP"


def _by_place(db, case_id):
    return {(p["doc_id"], p["page_index"]): p["id"] for p in review.pages(db, case_id)}


def test_repeated_pages_are_flagged_and_same_form_other_day_is_not(db, case):
    ids = _by_place(db, case)
    found = {(r["page_id"], r["dup_of"]): r["method"] for r in dup_store.for_case(db, case)}
    assert found == {
        (ids[("d01", 2)], ids[("d01", 0)]): "image",  # the scan (grey, noisy, shifted) of a born-digital page
        (ids[("d01", 3)], ids[("d01", 0)]): "text",  # the same born-digital page twice
        (ids[("d02", 2)], ids[("d02", 0)]): "image",  # the same paper scanned twice
    }
    # the next day's note on the same form (other date and values, same body) is never a duplicate
    for page in (ids[("d01", 1)], ids[("d02", 1)]):
        assert dup_store.for_page(db, page) == []
    assert {d["other"] for d in duplicates.duplicates_of(db, ids[("d01", 0)])} == {
        ids[("d01", 2)],
        ids[("d01", 3)],
    }
    sig = dup_store.signature(db, ids[("d01", 0)])
    assert len(sig["dhash"]) == 64 and 0 < sig["content_box"][0] < sig["content_box"][2] <= 1


def test_factory_pages_that_differ_only_in_page_number_are_not_duplicates(db, archive_root):
    run_import(db, job_store.create(db, "C2024001", "import"), FolderArchive(archive_root), "C2024001")
    run_detect(db, job_store.create(db, "C2024001", "detect"), "C2024001")
    assert len(review.pages(db, "C2024001")) >= 4
    assert dup_store.for_case(db, "C2024001") == []


def test_decisions_of_one_copy_are_applied_to_the_other(db, case):
    ids = _by_place(db, case)
    first, copy, scan = ids[("d01", 0)], ids[("d01", 3)], ids[("d01", 2)]
    src = review.findings_view(db, first)
    assert src, "detection found boxes on the note"
    rejected = src[0]
    review.decide(db, PREPARER, rejected["id"], False)
    manual = review.add_box(db, PREPARER, first, (300, 700, 420, 730), "manual", "手写签名")
    counts = duplicates.apply_decisions(db, PREPARER, first, copy)
    assert counts["decided"] >= 1 and counts["added"] >= 1
    dst = review.findings_view(db, copy)
    twin = [
        f
        for f in dst
        if f["category"] == rejected["category"]
        and max(abs(a - b) for a, b in zip(f["rects_px"][0], rejected["rects_px"][0])) < 2
    ]
    assert twin and twin[0]["status"] == "rejected"
    added = [f for f in dst if f["source"] == "manual"]
    assert (
        len(added) == 1 and max(abs(a - b) for a, b in zip(added[0]["rects_px"][0], (300, 700, 420, 730))) < 2
    )
    # onto the shifted scan the manual box lands shifted with the content (9, 6 px at 150 dpi = 6, 4 px here)
    duplicates.apply_decisions(db, PREPARER, first, scan)
    on_scan = [f for f in review.findings_view(db, scan) if f["source"] == "manual"]
    assert len(on_scan) == 1
    x0, y0 = on_scan[0]["rects_px"][0][:2]
    assert abs(x0 - 306) < 3 and abs(y0 - 704) < 3
    edits = db.execute("SELECT COUNT(*) FROM edits WHERE page_id IN (?, ?)", [copy, scan]).fetchone()[0]
    assert edits >= 3 and finding_store.get(db, manual)["status"] == "accepted"


def test_pages_that_are_not_duplicates_refuse_copying(db, case):
    ids = _by_place(db, case)
    with pytest.raises(ValueError):
        duplicates.apply_decisions(db, PREPARER, ids[("d01", 0)], ids[("d01", 1)])
