"""Export of an approved case from the store: CLI, sealed at rest, audited;
patient code → case only for the admin, each lookup audited."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pymupdf
import pytest

from core.security import audit, auth
from core import crypto
from core.cases import workflow
from core.archive import FolderArchive
from core.cli import main
from core.errors import PermissionDenied
from core.export.store import get_export, list_exports, load_export_pdf, lookup_patient_code
from core.cases.processing import run_detect, run_import
from core.store import jobs as job_store
from core.store.db import open_db

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
from factory import make_case, review_everything  # the store's archive factory

CASE = "C2025009"
PATIENT = "孙丽华"
INPATIENT = "ZY20250909"


@pytest.fixture
def approved_case(tmp_path, monkeypatch):
    monkeypatch.setenv("DEID_BCRYPT_ROUNDS", "4")
    db = open_db()
    root = tmp_path / "archive"
    make_case(
        root,
        CASE,
        patient_name=PATIENT,
        inpatient_no=INPATIENT,
        docs=(("d02", "病程记录", 1), ("d01", "入院记录", 1)),
    )
    assert run_import(db, job_store.create(db, CASE, "import"), FolderArchive(root), CASE)
    assert run_detect(db, job_store.create(db, CASE, "detect"), CASE)
    users = {}
    for name, role in (("prep1", "preparer"), ("sup1", "supervisor"), ("admin1", "admin")):
        users[role], _ = auth.create_user(db, name, role, "Str0ng-Passw0rd!", must_change=False)
    review_everything(db, users["preparer"], CASE)
    workflow.submit(db, CASE, users["preparer"])
    workflow.approve(db, CASE, users["supervisor"], workflow.case_plan_hash(db, CASE))
    return db, users


def test_cli_export_of_approved_case(approved_case, tmp_path, capsys):
    db, users = approved_case
    out = tmp_path / "out"
    rc = main(["export", CASE, "--out", str(out), "--user", "sup1", "--watermark"])
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    pdfs = list(out.glob("*.pdf"))
    manifests = list(out.glob("*.manifest.json"))
    assert len(pdfs) == 1 and len(manifests) == 1
    code = json.loads(manifests[0].read_text(encoding="utf-8"))["case_code"]
    assert pdfs[0].name == f"{code}.pdf" and PATIENT not in printed.out
    doc = pymupdf.open(pdfs[0])
    text = "".join(p.get_text() for p in doc)
    assert PATIENT not in text and INPATIENT not in text and "陈志强" not in text
    assert [t for _, t, _ in doc.get_toc()] == ["封面", "入院记录", "病程记录"]
    assert main(["verify", str(pdfs[0]), str(manifests[0])]) == 0
    # stored sealed at rest, row written, audited with digests, case marked exported
    row = list_exports(db, CASE)[0]
    assert row["status"] == "released" and row["verify_ok"] == 1
    stored = Path(get_export(db, row["id"])["stored_path"]).read_bytes()
    assert stored.startswith(crypto.MAGIC) and b"%PDF" not in stored[:64]
    assert load_export_pdf(db, row["id"], users["supervisor"]) == pdfs[0].read_bytes()
    actions = [r["action"] for r in audit.rows(db, case_id=CASE)]
    assert "export.create" in actions and "export.download" in actions
    created = [r for r in audit.rows(db, case_id=CASE) if r["action"] == "export.create"][0]
    assert row["sha256"] in created["detail"] and code not in json.dumps(created, ensure_ascii=False)
    assert workflow.status_of(db, CASE) == "exported"
    assert audit.verify_chain(db)[0]
    # the patient code leads back to the case only for the admin, audited each time
    with pytest.raises(PermissionDenied):
        lookup_patient_code(db, code, users["supervisor"])
    mapping = lookup_patient_code(db, code, users["admin"])
    assert mapping == {"code": code, "case_id": CASE, "export_id": row["id"]}
    assert lookup_patient_code(db, "ZY-0000-0000", users["admin"]) is None
    lookups = [r for r in audit.rows(db) if r["action"] == "patient_code.lookup"]
    assert len(lookups) == 2
    assert any(r["action"] == "permission.denied" for r in audit.rows(db))
    raw = db.conn.execute("SELECT mapping_sealed, code_hmac FROM patient_codes").fetchone()
    assert code.encode() not in raw[0] and CASE.encode() not in raw[0] and code not in raw[1]


def test_export_refused_when_not_approved_or_wrong_role(approved_case, tmp_path):
    db, users = approved_case
    assert (
        main(["export", CASE, "--out", str(tmp_path / "o"), "--user", "admin1"]) == PermissionDenied.exit_code
    )
    from core.store import findings as finding_store
    from core.models import Finding

    page_id = db.conn.execute("SELECT id FROM pages WHERE case_id = ? LIMIT 1", [CASE]).fetchone()[0]
    finding_store.add_finding(
        db,
        CASE,
        page_id,
        Finding(0, "manual", [(10, 10, 50, 20)], "manual", source="manual"),
        status="accepted",
        actor="prep1",
    )
    workflow.on_case_edited(db, CASE, "prep1")  # any edit after approval needs a new approval
    assert main(["export", CASE, "--out", str(tmp_path / "o"), "--user", "sup1"]) == 1
    assert not list((tmp_path / "o").glob("*.pdf"))  # no file, whether or not the folder was made


def test_export_writes_a_signed_audit_checkpoint_outside_the_data_dir(approved_case, tmp_path):
    """Issue 12: each export anchors the audit chain head in a signed file outside the database."""
    from core.security import audit_anchor

    db, _ = approved_case
    assert audit_anchor.latest(db) is None
    assert main(["export", CASE, "--out", str(tmp_path / "out"), "--user", "sup1"]) == 0
    cp = audit_anchor.latest(db, audit.mac_key())
    assert cp is not None and cp.reason == "export" and cp.signed
    created = audit.rows(db, action="export.create")[0]
    assert cp.last_id > created["id"]  # the head it signs includes the export record
    assert not str(cp.path).startswith(str(tmp_path / "data"))
    assert audit_anchor.verify(db).ok
