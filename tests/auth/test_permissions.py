"""Each role's access to each core action: the permission table and the functions that use it."""

from __future__ import annotations

import pytest

from core.security import audit, auth
from core.cases import workflow
from core.errors import PermissionDenied
from core.rules import load_rules
from core.security.handles import case_handle

ROLES = ("preparer", "supervisor", "auditor", "admin")
TABLE = load_rules("permissions")["actions"]

EXPECTED = {
    "case.view": {"preparer", "supervisor"},
    "page.view": {"preparer", "supervisor"},
    "case.import": {"preparer"},
    "case.edit": {"preparer"},
    "box.add": {"preparer"},
    "case.submit": {"preparer"},
    "case.approve": {"supervisor"},
    "case.return": {"supervisor"},
    "case.export": {"preparer", "supervisor"},
    "patient_code.lookup": {"admin"},
    "audit.view": {"supervisor", "auditor"},
    "audit.export_csv": {"supervisor", "auditor"},
    "user.manage": {"admin"},
    "settings.edit": {"admin"},
}


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(role, action):
    user = {"username": "u", "role": role, "disabled": 0}
    assert auth.authorize(user, action) is (role in EXPECTED[action])


def test_auditor_is_read_only():
    writes = [a for a, roles in TABLE.items() if "auditor" in roles]
    assert all(a.startswith("audit.") for a in writes)


def test_unknown_action_and_anonymous_are_denied():
    assert not auth.authorize({"username": "u", "role": "admin", "disabled": 0}, "no.such.action")
    assert not auth.authorize(None, "case.view")
    with pytest.raises(PermissionDenied):
        auth.require(None, "case.view")


def test_refusal_is_audited(db, users):
    with pytest.raises(PermissionDenied):
        auth.require(users["aud1"], "case.edit", db, case_id="C1")
    row = audit.rows(db, action="permission.denied")[0]
    assert row["actor"] == "aud1" and row["case_id"] == case_handle("C1")


def test_requires_decorator(db, users):
    @auth.requires("case.edit")
    def move_box(db, case_id, user, rect):
        return rect

    assert move_box(db, "C1", users["prep1"], [1, 2, 3, 4]) == [1, 2, 3, 4]
    with pytest.raises(PermissionDenied):
        move_box(db, "C1", user=users["sup1"], rect=[1, 2, 3, 4])
    assert audit.count(db, action="permission.denied", case_id="C1") == 1


@pytest.mark.parametrize("role", ROLES)
def test_workflow_functions_check_roles(db, users, make_case, role):
    make_case("W1")
    workflow.start_detection(db, "W1")
    workflow.detection_done(db, "W1")
    who = {"preparer": "prep1", "supervisor": "sup1", "auditor": "aud1", "admin": "adm1"}[role]
    user = users[who]
    if role == "preparer":
        assert workflow.submit(db, "W1", user) == "in_review"
    else:
        with pytest.raises(PermissionDenied):
            workflow.submit(db, "W1", user)
        workflow.submit(db, "W1", users["prep1"])
    if role == "supervisor":
        assert workflow.approve(db, "W1", user, workflow.case_plan_hash(db, "W1"))["approved_by"] == "sup1"
    else:
        with pytest.raises(PermissionDenied):
            workflow.approve(db, "W1", user, workflow.case_plan_hash(db, "W1"))
        with pytest.raises(PermissionDenied):
            workflow.return_case(db, "W1", user, "理由")
