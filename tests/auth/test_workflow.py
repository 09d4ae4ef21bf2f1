"""Case state machine, four-eyes approval, edits after approval, export gate."""

from __future__ import annotations

import pytest

from core.security import audit
from core.cases import workflow
from core.errors import PermissionDenied
from core.cases.workflow import WorkflowError
from core.security.handles import case_handle

PLAN = "a" * 64


def fp(db, case_id):
    """The fingerprint the supervisor's page shows now."""
    return workflow.case_plan_hash(db, case_id)


@pytest.fixture
def ready(db, make_case):
    """A case detected and waiting for the preparer (待整理)."""
    make_case("K1")
    workflow.start_detection(db, "K1")
    workflow.detection_done(db, "K1")
    return "K1"


def test_new_case_is_pending_and_display_names(db, make_case):
    make_case("K0")
    assert workflow.status_of(db, "K0") == "pending"
    assert [workflow.display_name(c) for c in workflow.states()] == [
        "待处理",
        "检测中",
        "待整理",
        "待审核",
        "已批准",
        "已退回",
        "已导出",
    ]
    assert workflow.code_of("待审核") == "in_review" and workflow.display_name("approved") == "已批准"


def test_status_is_stored_in_the_schemas_form(db, ready):
    """The migrations' cases table stores the Chinese status names (DEFAULT '待处理')."""
    raw = db.conn.execute("SELECT status FROM cases WHERE id = 'K1'").fetchone()[0]
    assert raw == "待整理"
    assert workflow.status_of(db, "K1") == "preparing"


def test_full_path_submit_approve_export(db, users, ready):
    assert workflow.submit(db, ready, users["prep1"]) == "in_review"
    appr = workflow.approve(db, ready, users["sup1"], fp(db, ready), comment="ok")
    PLAN = fp(db, ready)
    assert appr["plan_hash"] == PLAN and appr["prepared_by"] == "prep1" and appr["approved_by"] == "sup1"
    assert workflow.status_of(db, ready) == "approved"
    assert workflow.assert_exportable(db, ready, PLAN)["id"] == appr["id"]
    assert workflow.mark_exported(db, ready, users["prep1"], appr["id"]) == "exported"
    assert workflow.assert_exportable(db, ready)["id"] == appr["id"]  # re-export with the same approval
    events = [e["event"] for e in workflow.history(db, ready)]
    assert events == ["start_detection", "detection_done", "submit", "approve", "export"]
    assert [r["action"] for r in audit.rows(db, case_id=ready)][::-1] == ["case.submit", "case.approve"]


def test_four_eyes_submitter_cannot_approve_even_with_both_roles(db, users, ready):
    workflow.submit(db, ready, users["prep1"])
    as_supervisor = {**users["prep1"], "role": "supervisor"}  # e.g. a role change after submitting
    with pytest.raises(PermissionDenied, match="双人复核"):
        workflow.approve(db, ready, as_supervisor, fp(db, ready))
    with pytest.raises(PermissionDenied):
        workflow.return_case(db, ready, as_supervisor, "no")
    assert workflow.status_of(db, ready) == "in_review"
    assert audit.rows(db, action="permission.denied")[0]["actor"] == "prep1"


def test_return_needs_reason_then_resubmit(db, users, ready):
    workflow.submit(db, ready, users["prep1"])
    with pytest.raises(WorkflowError):
        workflow.return_case(db, ready, users["sup1"], "  ")
    assert workflow.return_case(db, ready, users["sup1"], "第3页签名未遮盖") == "returned"
    with pytest.raises(WorkflowError):
        workflow.assert_exportable(db, ready)
    assert workflow.submit(db, ready, users["prep2"]) == "in_review"
    # prep2 submitted now, prep1 did not: sup2 may approve; prep2 (as supervisor) may not
    with pytest.raises(PermissionDenied):
        workflow.approve(db, ready, {**users["prep2"], "role": "supervisor"}, fp(db, ready))
    assert workflow.approve(db, ready, users["sup2"], fp(db, ready))["prepared_by"] == "prep2"


def test_editor_since_approval_cannot_approve(db, users, ready):
    workflow.submit(db, ready, users["prep1"])
    workflow.on_case_edited(db, ready, "sup1")  # sup1 touched the boxes while in review
    with pytest.raises(PermissionDenied):
        workflow.approve(db, ready, users["sup1"], fp(db, ready))
    assert workflow.approve(db, ready, users["sup2"], fp(db, ready))


@pytest.mark.parametrize("event_status", ["approved", "exported"])
def test_edit_after_approval_returns_case_to_review(db, users, ready, event_status):
    workflow.submit(db, ready, users["prep1"])
    appr = workflow.approve(db, ready, users["sup1"], fp(db, ready))
    if event_status == "exported":
        workflow.mark_exported(db, ready, users["prep1"], appr["id"])
    assert workflow.on_case_edited(db, ready, users["prep1"]) == "in_review"
    assert workflow.active_approval(db, ready) is None
    assert workflow.approval(db, appr["id"])["superseded_reason"] == "edited"
    with pytest.raises(WorkflowError):
        workflow.assert_exportable(db, ready)
    assert audit.rows(db, action="case.reopened")[0]["case_id"] == case_handle(ready)
    second = workflow.approve(db, ready, users["sup2"], fp(db, ready))
    assert workflow.assert_exportable(db, ready)["id"] == second["id"] != appr["id"]


def test_edit_before_approval_keeps_status(db, users, ready):
    assert workflow.on_case_edited(db, ready, users["prep1"]) == "preparing"


def test_plan_changed_after_approval_blocks_export(db, users, ready):
    workflow.submit(db, ready, users["prep1"])
    workflow.approve(db, ready, users["sup1"], fp(db, ready))
    with pytest.raises(WorkflowError, match="方案"):
        workflow.assert_exportable(db, ready, "c" * 64)


@pytest.mark.parametrize(
    "steps, bad",
    [
        ([], "submit"),  # pending: not detected yet
        (["start_detection"], "submit"),  # detecting
        (["start_detection", "detection_done"], "approve"),  # preparing: not submitted
        (["start_detection", "detection_done"], "export"),
        (["start_detection", "detection_done", "submit"], "export"),
        (["start_detection", "detection_done", "submit"], "submit"),
    ],
)
def test_illegal_transitions(db, users, make_case, steps, bad):
    make_case("X1")
    for step in steps:
        if step == "submit":
            workflow.submit(db, "X1", users["prep1"])
        else:
            getattr(workflow, step)(db, "X1")
    before = workflow.status_of(db, "X1")
    with pytest.raises(WorkflowError):
        if bad == "submit":
            workflow.submit(db, "X1", users["prep1"])
        elif bad == "approve":
            workflow.approve(db, "X1", users["sup1"], fp(db, "X1"))
        else:
            workflow.assert_exportable(db, "X1")
    assert workflow.status_of(db, "X1") == before


def test_detection_failure_goes_back_to_pending(db, make_case):
    make_case("F1")
    workflow.start_detection(db, "F1")
    assert workflow.detection_failed(db, "F1", reason="ocr") == "pending"


def test_unknown_case(db, users):
    with pytest.raises(WorkflowError):
        workflow.submit(db, "nope", users["prep1"])


def test_box_editor_recorded_in_edits_table_cannot_approve(db, users, ready):
    import time

    workflow.submit(db, ready, users["prep1"])
    db.conn.execute(
        "INSERT INTO edits (case_id, action, actor, at) VALUES (?, 'add', 'sup1', ?)", [ready, time.time()]
    )
    with pytest.raises(PermissionDenied):
        workflow.approve(db, ready, users["sup1"], fp(db, ready))
    assert workflow.approve(db, ready, users["sup2"], fp(db, ready))
