"""Issue 12, two-person rule for admins: a supervisor role needs a second admin's confirmation,
approvals by freshly created/reset/re-roled accounts are flagged, admins hold no case role."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.security import audit, audit_report, auth
from core.security.auth import AuthError
from core.errors import DeidError, PermissionDenied

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_admins(db, users):
    adm2, pw = auth.create_user(db, "adm2", "admin", actor="adm1", must_change=False)
    return {**users, "adm2": {**adm2, "password": pw}}


def test_granting_supervisor_needs_a_second_admin(db, two_admins):
    changed = auth.set_role(db, "prep2", "supervisor", actor="adm1")
    assert changed["pending_grant"] and auth.get_user(db, "prep2")["role"] == "preparer"
    grant = changed["pending_grant"]
    with pytest.raises(PermissionDenied):
        auth.confirm_role_grant(db, grant, actor="adm1")  # not the admin who asked
    with pytest.raises(PermissionDenied):
        auth.confirm_role_grant(db, grant, actor="sup1")  # not an admin at all
    assert auth.confirm_role_grant(db, grant, actor="adm2")["role"] == "supervisor"
    assert audit.rows(db, action="user.role_grant_requested")[0]["actor"] == "adm1"
    assert audit.rows(db, action="user.role_grant_confirmed")[0]["actor"] == "adm2"
    assert '"confirmed_by":"adm2"' in audit.rows(db, action="user.role_change")[0]["detail"]
    with pytest.raises(DeidError):
        auth.confirm_role_grant(db, grant, actor="adm2")  # once only


def test_changing_a_supervisor_needs_a_second_admin(db, two_admins):
    changed = auth.set_role(db, "sup1", "auditor", actor="adm1")
    assert changed["pending_grant"] and auth.get_user(db, "sup1")["role"] == "supervisor"
    auth.cancel_role_grant(db, changed["pending_grant"], actor="adm2")
    assert auth.pending_role_grants(db) == [] and auth.get_user(db, "sup1")["role"] == "supervisor"
    assert audit.rows(db, action="user.role_grant_cancelled")


def test_other_role_changes_and_a_sole_admin_act_directly(db, users):
    assert "pending_grant" not in auth.set_role(db, "prep2", "supervisor", actor="adm1")  # one admin only
    assert auth.get_user(db, "prep2")["role"] == "supervisor"
    auth.create_user(db, "adm2", "admin", actor="adm1", must_change=False)
    assert (
        auth.set_role(db, "aud1", "preparer", actor="adm1")["role"] == "preparer"
    )  # not the supervisor role


def test_new_supervisor_account_waits_for_the_second_admin(db, two_admins):
    user, pw = auth.create_user(db, "sup9", "supervisor", actor="adm1", must_change=False)
    assert user["pending_grant"] and user["disabled"] == 1
    with pytest.raises(AuthError):
        auth.authenticate(db, "sup9", pw)
    with pytest.raises(DeidError, match="待另一名管理员确认"):
        auth.set_disabled(db, "sup9", False, actor="adm1")  # no way around the confirmation
    auth.confirm_role_grant(db, user["pending_grant"], actor="adm2")
    assert auth.authenticate(db, "sup9", pw)["role"] == "supervisor"


def test_an_admin_account_never_holds_a_case_role(db, two_admins):
    with pytest.raises(DeidError, match="管理员账号不能同时担任病例角色"):
        auth.set_role(db, "adm2", "supervisor", actor="adm1")
    with pytest.raises(DeidError, match="管理员账号不能同时担任病例角色"):
        auth.set_role(db, "prep1", "admin", actor="adm1")
    with pytest.raises(DeidError, match="自己的角色"):
        auth.set_role(db, "adm1", "auditor", actor="adm1")
    assert "admin" not in auth.case_roles() and {"preparer", "supervisor"} <= auth.case_roles()
    admin = auth.get_user(db, "adm1")
    case_actions = [a for a in auth.permissions()["actions"] if a.startswith(auth.CASE_ACTION_PREFIXES)]
    assert case_actions and not any(auth.authorize(admin, a) for a in case_actions)


def _approval(db, case_id: str, approver: str, at: float) -> None:
    db.conn.execute(
        "INSERT INTO approvals (case_id, plan_hash, prepared_by, approved_by, approved_at) "
        "VALUES (?, ?, 'prep1', ?, ?)",
        [case_id, "0" * 64, approver, at],
    )


def test_approvals_by_accounts_changed_in_the_last_24_hours_are_flagged(db, users):
    now = time.time()
    _approval(db, "OLD", "sup1", now + 2 * 86400)  # account created two days before this approval
    _approval(db, "NEW", "sup1", now + 60)  # created a minute before
    auth.reset_password(db, "sup2", actor="adm1")
    _approval(db, "RESET", "sup2", time.time() + 60)
    flagged = audit_report.approvals_by_fresh_accounts(db)
    assert set(flagged["病例"]) == {"NEW", "RESET"}
    assert set(flagged[flagged["病例"] == "RESET"]["账号变更"]) >= {"重置密码"}
    assert set(flagged["变更人"]) >= {"adm1"}


def test_audit_page_shows_the_fresh_account_flag(db, users):
    _approval(db, "NEW", "sup1", time.time() + 60)
    at = AppTest.from_file(str(ROOT / "pages/审计日志.py"), default_timeout=30)
    at.session_state["auth_user"] = auth.public(users["aud1"])
    at.run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "24 小时内新建、重置或改过角色的账号" in warnings
    tables = [d.value for d in at.dataframe if "审核人" in d.value.columns and "账号变更" in d.value.columns]
    assert tables and list(tables[0]["病例"]) == ["NEW"]


def test_users_page_second_admin_confirms_a_grant(db, two_admins):
    grant = auth.set_role(db, "prep2", "supervisor", actor="adm1")["pending_grant"]
    at = AppTest.from_file(str(ROOT / "pages/用户管理.py"), default_timeout=30)
    at.session_state["auth_user"] = auth.public(two_admins["adm1"])
    at.run()
    assert not at.exception and not [
        b for b in at.button if b.key == f"grant_ok_{grant}"
    ]  # requester: no 确认
    at2 = AppTest.from_file(str(ROOT / "pages/用户管理.py"), default_timeout=30)
    at2.session_state["auth_user"] = auth.public(two_admins["adm2"])
    at2.run()
    at2.button(key=f"grant_ok_{grant}").click().run()
    assert not at2.exception and auth.get_user(db, "prep2")["role"] == "supervisor"
