import json

import pytest

from core.archive import CaseFilter, FolderArchive
from core.errors import InputError
from core.cases.processing import run_import
from core.store import cases as case_store
from core.store import documents as doc_store
from core.store import files
from core.store import jobs as job_store
from factory import make_case


def test_list_cases_filters(archive_root):
    arch = FolderArchive(archive_root)
    assert [c.case_id for c in arch.list_cases()] == ["C2024001", "C2025002", "C2025003"]
    assert [c.case_id for c in arch.list_cases(CaseFilter(department="新生儿科"))] == ["C2025002"]
    assert [c.case_id for c in arch.list_cases(CaseFilter(review_type="儿童死亡评审"))] == [
        "C2025002",
        "C2025003",
    ]
    dated = arch.list_cases(CaseFilter(discharge_from="2025-01-01", discharge_to="2025-06-30"))
    assert [c.case_id for c in dated] == ["C2025002"]
    assert [c.case_id for c in arch.list_cases(CaseFilter(case_number="003"))] == ["C2025003"]


def test_bad_manifest_is_reported_not_fatal(archive_root):
    (archive_root / "C2025003" / "manifest.json").write_text("{not json", encoding="utf-8")
    arch = FolderArchive(archive_root)
    assert [c.case_id for c in arch.list_cases()] == ["C2024001", "C2025002"]
    assert len(arch.problems) == 1 and "C2025003" in arch.problems[0] and "JSON" in arch.problems[0]
    with pytest.raises(InputError) as err:
        arch.read_manifest("C2025003")
    assert "清单无效" in err.value.message_zh and "not valid JSON" in err.value.message_en


@pytest.mark.parametrize(
    "payload, en",
    [
        ({"documents": []}, "missing 'case'"),
        ({"case": {"case_id": "X"}, "documents": []}, "non-empty list"),
        ({"case": {"case_id": "X"}, "documents": [{"doc_id": "d1"}]}, "lacks doc_id or file"),
        ({"case": {"case_id": "X"}, "documents": [{"doc_id": "d1", "file": "../x.pdf"}]}, "escapes"),
        ({"case": {}, "documents": [{"doc_id": "d1", "file": "a.pdf"}]}, "case_id"),
    ],
)
def test_manifest_validation_messages(tmp_path, payload, en):
    (tmp_path / "K").mkdir()
    (tmp_path / "K" / "manifest.json").write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(InputError) as err:
        FolderArchive(tmp_path).read_manifest("K")
    assert en in err.value.message_en and err.value.message_zh


def test_import_stores_encrypted_copies_in_catalog_order(db, archive_root):
    arch = FolderArchive(archive_root)
    job = job_store.create(db, "C2025002", "import")
    assert run_import(db, job, arch, "C2025002", actor="tester")
    case = case_store.get_case(db, "C2025002")
    assert case["status"] == "待处理" and case["page_count"] == 3 and case["department"] == "新生儿科"
    # the archive record is sealed, not plain
    assert "赵小宝".encode() not in case["meta_sealed"]
    assert case_store.case_meta(db, "C2025002").patient_name == "赵小宝"
    docs = doc_store.list_documents(db, "C2025002")
    assert [d["type"] for d in docs] == ["住院病案首页", "病程记录", "死亡记录"]
    for d in docs:
        raw = files.absolute(d["stored_path"]).read_bytes()
        assert not raw.startswith(b"%PDF") and b"%PDF" not in raw[:64]
        assert doc_store.pdf_bytes(db, d["id"]).startswith(b"%PDF")
        assert "C2025002" not in d["stored_path"]
    assert job_store.get(db, job)["status"] == "done"
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log").fetchall()]
    assert "case.import" in actions


def test_missing_file_fails_cleanly_and_keeps_stored_case(db, archive_root):
    arch = FolderArchive(archive_root)
    assert run_import(db, job_store.create(db, "C2024001", "import"), arch, "C2024001")
    before = [(d["doc_id"], d["source_sha256"]) for d in doc_store.list_documents(db, "C2024001")]
    (archive_root / "C2024001" / "d02.pdf").unlink()
    job = job_store.create(db, "C2024001", "import")
    assert not run_import(db, job, arch, "C2024001")
    row = job_store.get(db, job)
    assert row["status"] == "failed"
    assert "d02" in row["error"] and "缺少文档" in row["error"] and "missing the file" in row["error"]
    after = [(d["doc_id"], d["source_sha256"]) for d in doc_store.list_documents(db, "C2024001")]
    assert after == before
    for d in doc_store.list_documents(db, "C2024001"):
        assert doc_store.pdf_bytes(db, d["id"]).startswith(b"%PDF")


def test_corrupt_pdf_rejected_before_anything_stored(db, tmp_path):
    root = tmp_path / "arch2"
    make_case(root, "C9")
    (root / "C9" / "d02.pdf").write_bytes(b"%PDF-1.7 broken")
    job = job_store.create(db, "C9", "import")
    assert not run_import(db, job, FolderArchive(root), "C9")
    assert "d02" in job_store.get(db, job)["error"]
    assert case_store.get_case(db, "C9") is None


def test_store_lists_and_filters_cases(db, archive_root):
    arch = FolderArchive(archive_root)
    for key in ("C2024001", "C2025003"):
        run_import(db, job_store.create(db, key, "import"), arch, key)
    assert [c["id"] for c in case_store.list_cases(db, CaseFilter(department="儿科"))] == ["C2025003"]
    assert case_store.list_cases(db, status="待处理")
    assert case_store.list_cases(db, status="待审核") == []
    assert all("meta_sealed" not in c for c in case_store.list_cases(db))
