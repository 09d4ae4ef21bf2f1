"""Two-person rule on a real store (issue 12): a case in 待审核 is read-only,
approval is a compare-and-set on the fingerprint the supervisor saw, submission
needs the review done (or an audited override), the supervisor's view lists the
preparer's changes, and a re-import/re-detection voids the approval."""

from __future__ import annotations

import sqlite3

import pymupdf
import pytest

from core.security import audit, auth
from core.cases import review, workflow
from core.archive import FolderArchive
from core.cases.processing import run_detect, run_import
from core.store import documents as doc_store
from core.store import findings as finding_store
from core.store import jobs as job_store
from core.store import reviews as review_store
from core.models import Finding
from core.cases.workflow import ApprovalConflict, CaseReadOnly, SubmissionIncomplete, WorkflowError
from factory import make_case, review_everything

CASE = "C2025101"


@pytest.fixture
def people(db, monkeypatch):
    monkeypatch.setenv("DEID_BCRYPT_ROUNDS", "4")
    made = {}
    for name, role in (("prep1", "preparer"), ("sup1", "supervisor"), ("sup2", "supervisor")):
        made[name], _ = auth.create_user(db, name, role, "Str0ng-Passw0rd!", must_change=False)
    return made


@pytest.fixture
def detected(db, tmp_path, people):
    """A real imported and detected case: two documents of one page each."""
    root = tmp_path / "archive"
    make_case(root, CASE, docs=(("d01", "入院记录", 1), ("d02", "病程记录", 1)))
    assert run_import(db, job_store.create(db, CASE, "import"), FolderArchive(root), CASE)
    assert run_detect(db, job_store.create(db, CASE, "detect"), CASE)
    assert workflow.status_of(db, CASE) == "preparing"
    return root


def _pages(db):
    return review.pages(db, CASE)


def _auto_finding(db, page_id):
    return next(r for r in finding_store.for_page(db, page_id) if r["source"] != "manual")


def _submitted(db, people):
    review_everything(db, people["prep1"], CASE)
    assert workflow.submit(db, CASE, people["prep1"]) == "in_review"


def _approved(db, people):
    _submitted(db, people)
    shown = review.approval_review(db, people["sup1"], CASE)["plan_hash"]
    return workflow.approve(db, CASE, people["sup1"], shown)


# ---- read-only while 待审核 --------------------------------------------------------


def test_case_in_review_is_read_only_for_every_change(db, people, detected):
    _submitted(db, people)
    prep = people["prep1"]
    page = _pages(db)[0]
    auto = _auto_finding(db, page["id"])
    before = workflow.case_plan_hash(db, CASE)
    attempts = [
        lambda: review.add_box(db, prep, page["id"], (40, 40, 160, 80)),
        lambda: review.move_box(db, prep, auto["id"], (10, 10, 90, 40)),
        lambda: review.decide(db, prep, auto["id"], False),
        lambda: review.set_category(db, prep, auto["id"], "manual"),
        lambda: review.delete_box(db, prep, auto["id"]),
        lambda: review.hide_everywhere(db, prep, auto["id"]),
        lambda: review.accept_page(db, prep, page["id"]),
        lambda: review.set_document_included(db, prep, page["document_id"], False),
    ]
    for attempt in attempts:
        with pytest.raises(CaseReadOnly, match="待审核"):
            attempt()
    # the store itself refuses, whatever code path writes (a second tab, a script)
    with pytest.raises(sqlite3.IntegrityError, match="read-only"):
        finding_store.add_finding(
            db,
            CASE,
            page["id"],
            Finding(0, "manual", [(1, 1, 20, 20)], "manual", source="manual"),
            status="accepted",
            actor="prep1",
        )
    with pytest.raises(sqlite3.IntegrityError):
        finding_store.update(db, auto["id"], status="rejected")
    with pytest.raises(sqlite3.IntegrityError):
        doc_store.set_included(db, page["document_id"], False)
    assert workflow.case_plan_hash(db, CASE) == before and workflow.status_of(db, CASE) == "in_review"
    # once returned, the preparer may change it again
    workflow.return_case(db, CASE, people["sup1"], "第1页请再核对")
    assert review.add_box(db, prep, page["id"], (40, 40, 160, 80)) > 0


# ---- approval is a compare-and-set -----------------------------------------------


def test_approval_refused_with_the_diff_when_the_plan_changed_since_it_was_shown(db, people, detected):
    _submitted(db, people)
    shown = review.approval_review(db, people["sup1"], CASE)["plan_hash"]  # sup1's page shows this
    # meanwhile: sup2 returns the case, the preparer adds a box and resubmits
    workflow.return_case(db, CASE, people["sup2"], "补充遮盖")
    page = _pages(db)[1]
    review.add_box(db, people["prep1"], page["id"], (40, 40, 160, 80))
    assert workflow.submit(db, CASE, people["prep1"]) == "in_review"
    with pytest.raises(ApprovalConflict) as err:
        workflow.approve(db, CASE, people["sup1"], shown)
    diff = err.value.diff
    assert [(b["doc_id"], b["page_index"], b["category"], b["source"]) for b in diff["boxes_added"]] == [
        (page["doc_id"], page["page_index"], "manual", "manual")
    ]
    assert diff["boxes_removed"] == [] and not diff["unknown_before"]
    assert f"{page['doc_id']} 第 1 页新增 1 个框" in err.value.message_zh
    assert workflow.status_of(db, CASE) == "in_review" and workflow.active_approval(db, CASE) is None
    refused = audit.rows(db, action="case.approve_refused")[0]
    assert refused["actor"] == "sup1" and '"boxes_added":1' in refused["detail"]
    # a fingerprint nobody was ever shown is refused too
    with pytest.raises(ApprovalConflict, match="不是本病例"):
        workflow.approve(db, CASE, people["sup1"], "0" * 64)
    # after seeing the change, the new fingerprint approves
    now = review.approval_review(db, people["sup1"], CASE)["plan_hash"]
    assert workflow.approve(db, CASE, people["sup1"], now)["plan_hash"] == now


# ---- submission needs the review done ----------------------------------------------


def test_submission_needs_every_page_viewed_and_no_open_box_or_an_override(db, people, detected):
    prep = people["prep1"]
    review.open_page(db, prep, _pages(db)[0]["id"])
    progress = review_store.review_progress(db, CASE)
    assert progress["pages"] == 2 and progress["unviewed"] == 1 and progress["open_boxes"] > 0
    with pytest.raises(SubmissionIncomplete, match="1 页未查看") as err:
        workflow.submit(db, CASE, prep)
    assert err.value.progress["open_boxes"] == progress["open_boxes"]
    with pytest.raises(SubmissionIncomplete):
        workflow.submit(db, CASE, prep, override_reason="   ")
    assert workflow.status_of(db, CASE) == "preparing"
    reason = "第2页为空白页，家属签名已人工遮盖"
    assert workflow.submit(db, CASE, prep, override_reason=reason) == "in_review"
    sub = review_store.last_submission(db, CASE)
    assert (
        sub["override"] == 1
        and sub["override_reason"] == reason
        and sub["open_boxes"] == progress["open_boxes"]
    )
    raw = db.conn.execute("SELECT override_reason_sealed FROM submissions").fetchone()[0]
    assert reason.encode() not in raw
    row = audit.rows(db, action="case.submit")[0]
    assert (
        '"override":true' in row["detail"]
        and '"pages_unviewed":1' in row["detail"]
        and reason not in row["detail"]
    )
    assert audit.verify_chain(db)[0]


def test_complete_review_submits_without_override(db, people, detected):
    _submitted(db, people)
    sub = review_store.last_submission(db, CASE)
    assert sub["override"] == 0 and sub["pages_viewed"] == 2 and sub["open_boxes"] == 0
    assert '"override":false' in audit.rows(db, action="case.submit")[0]["detail"]


# ---- what the supervisor sees and opens ---------------------------------------------


def test_supervisor_sees_manual_moved_and_rejected_boxes_with_thumbnails(db, people, detected):
    prep = people["prep1"]
    first, second = _pages(db)
    autos = [r for r in finding_store.for_page(db, first["id"]) if r["source"] != "manual"]
    assert len(autos) >= 2
    review.add_box(db, prep, second["id"], (50, 50, 200, 90), reason="家属手写签名")
    review.move_box(db, prep, autos[0]["id"], (30, 30, 180, 70))
    review.decide(db, prep, autos[1]["id"], False)
    _submitted(db, people)
    seen = review.approval_review(db, people["sup1"], CASE)
    by_kind = {c["kind"]: c for c in seen["changes"]}
    assert seen["counts"] == {"manual": 1, "moved": 1, "rejected": 1}
    assert by_kind["manual"]["doc_id"] == second["doc_id"] and by_kind["manual"]["page_index"] == 0
    assert by_kind["moved"]["finding_id"] == autos[0]["id"] and by_kind["moved"]["before"]
    assert by_kind["rejected"]["finding_id"] == autos[1]["id"] and by_kind["rejected"]["masked"]
    for change in seen["changes"]:
        png = review.change_thumbnail_png(db, people["sup1"], change)
        thumb = pymupdf.Pixmap(png)
        assert png.startswith(b"\x89PNG") and 10 < thumb.width <= 320
    assert seen["plan_hash"] == workflow.case_plan_hash(db, CASE)


def test_approval_records_the_pages_the_supervisor_opened(db, people, detected):
    _submitted(db, people)
    first = _pages(db)[0]
    review.open_page(db, people["sup1"], first["id"])
    review.open_page(db, people["sup1"], first["id"])
    seen = review.approval_review(db, people["sup1"], CASE)
    assert seen["pages_opened"] == [[first["doc_id"], 0]] and seen["pages"] == 2
    appr = workflow.approve(db, CASE, people["sup1"], seen["plan_hash"])
    import json

    assert json.loads(appr["pages_opened"]) == [[first["doc_id"], 0]] and appr["pages_total"] == 2
    assert appr["submission_id"] == review_store.last_submission(db, CASE)["id"]
    detail = audit.rows(db, action="case.approve")[0]["detail"]
    assert '"pages_opened":1' in detail and '"pages":2' in detail


# ---- the fingerprint covers the source files; re-import / re-detect voids ----------


def test_fingerprint_covers_each_documents_digest_and_page_count(db, people, detected):
    before = workflow.case_plan_hash(db, CASE)
    doc = doc_store.get_document(db, CASE, "d01")
    db.conn.execute("UPDATE documents SET source_sha256 = ? WHERE id = ?", ["0" * 64, doc["id"]])
    assert workflow.case_plan_hash(db, CASE) != before
    db.conn.execute(
        "UPDATE documents SET source_sha256 = ?, page_count = 7 WHERE id = ?",
        [doc["source_sha256"], doc["id"]],
    )
    assert workflow.case_plan_hash(db, CASE) != before
    db.conn.execute("UPDATE documents SET page_count = ? WHERE id = ?", [doc["page_count"], doc["id"]])
    assert workflow.case_plan_hash(db, CASE) == before


@pytest.mark.parametrize("state", ["in_review", "approved", "exported"])
def test_reimport_of_a_changed_document_voids_the_approval(db, people, detected, state):
    if state == "in_review":
        _submitted(db, people)
    else:
        appr = _approved(db, people)
        if state == "exported":
            workflow.mark_exported(db, CASE, people["sup1"], appr["id"])
    # the archive's admission record changed: now three pages, one nobody reviewed
    make_case(detected, CASE, docs=(("d01", "入院记录", 3), ("d02", "病程记录", 1)))
    assert run_import(db, job_store.create(db, CASE, "import"), FolderArchive(detected), CASE)
    assert workflow.status_of(db, CASE) == "preparing"
    assert workflow.active_approval(db, CASE) is None
    with pytest.raises(WorkflowError):
        workflow.assert_exportable(db, CASE)
    voided = audit.rows(db, action="case.approval_voided")[0]
    assert f'"from":"{state}"' in voided["detail"] and '"cause":"reimported"' in voided["detail"]
    if state != "in_review":
        assert workflow.approval(db, appr["id"])["superseded_reason"] == "reimported"
    assert review_store.review_progress(db, CASE)["pages"] == 4


def test_redetection_of_an_approved_case_voids_the_approval(db, people, detected):
    appr = _approved(db, people)
    assert run_detect(db, job_store.create(db, CASE, "detect"), CASE)
    assert workflow.status_of(db, CASE) == "preparing" and workflow.active_approval(db, CASE) is None
    assert workflow.approval(db, appr["id"])["superseded_reason"] == "redetected"
    assert '"cause":"redetected"' in audit.rows(db, action="case.approval_voided")[0]["detail"]
