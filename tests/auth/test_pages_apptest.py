"""AppTest (streamlit.testing.v1) of the login guard, audit, user admin and review pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.security import audit, auth
from core.cases import workflow
from core.security.handles import case_handle

TIMEOUT = 30
ROOT = Path(__file__).resolve().parents[2]


def _app(path: str, user: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    if user is not None:
        at.session_state["auth_user"] = auth.public(user) if "password" in user else user
    return at


def _texts(at) -> str:
    parts = [
        e.value for e in (*at.title, *at.markdown, *at.caption, *at.success, *at.error, *at.warning, *at.info)
    ]
    return "\n".join(str(p) for p in parts)


def test_first_start_shows_setup_form_and_token_creates_admin(db, capfd):
    at = _app("pages/审计日志.py").run()
    assert "首次启动" in _texts(at)
    token = capfd.readouterr().err.split("one-time setup token:")[1].split()[0]
    at.text_input(key="setup_token").input(token)
    at.text_input(key="setup_username").input("boss")
    at.text_input(key="setup_password").input("Admin-Pass-2024")
    at.text_input(key="setup_password2").input("Admin-Pass-2024")
    at.button[0].click().run()  # form submit
    assert auth.get_user(db, "boss")["role"] == "admin"


def test_wrong_setup_token_is_refused(db):
    at = _app("pages/审计日志.py").run()
    at.text_input(key="setup_token").input("guess")
    at.text_input(key="setup_username").input("boss")
    at.text_input(key="setup_password").input("Admin-Pass-2024")
    at.text_input(key="setup_password2").input("Admin-Pass-2024")
    at.button[0].click().run()
    assert "令牌无效" in _texts(at) and not auth.has_admin(db)


def test_login_form_then_audit_page(db, users):
    at = _app("pages/审计日志.py").run()
    assert "登录" in _texts(at) and "哈希链" not in _texts(at)
    at.text_input(key="login_username").input("aud1")
    at.text_input(key="login_password").input(users["aud1"]["password"])
    at.button[0].click().run()
    assert not at.exception
    text = _texts(at)
    assert "审计日志" in text and "哈希链完整" in text
    assert audit.rows(db, actor="aud1", action="auth.login")
    assert audit.rows(db, actor="aud1", action="audit.view")


def test_wrong_password_shows_error_and_is_audited(db, users):
    at = _app("pages/审计日志.py").run()
    at.text_input(key="login_username").input("aud1")
    at.text_input(key="login_password").input("Wrong-Pass-123")
    at.button[0].click().run()
    assert "用户名或密码错误" in _texts(at)
    assert audit.rows(db, actor="aud1", action="auth.login_failed")


@pytest.mark.parametrize(
    "page, allowed",
    [
        ("pages/审计日志.py", {"supervisor", "auditor"}),
        ("pages/用户管理.py", {"admin"}),
        ("pages/审核.py", {"preparer", "supervisor"}),
    ],
)
@pytest.mark.parametrize("who", ["prep1", "sup1", "aud1", "adm1"])
def test_page_access_by_role(db, users, page, allowed, who):
    at = _app(page, users[who]).run()
    assert not at.exception
    refused = "无权访问此页面" in _texts(at)
    assert refused is (users[who]["role"] not in allowed)


def test_must_change_password_blocks_page_until_changed(db, users):
    user, pw = auth.create_user(db, "fresh", "auditor", actor="adm1")
    at = _app("pages/审计日志.py", user).run()
    assert "首次登录" in _texts(at) and "哈希链" not in _texts(at)
    at.text_input(key="forced_pw_old").input(pw)
    at.text_input(key="forced_pw_new").input("Brand-New-Pass-7")
    at.text_input(key="forced_pw_again").input("Brand-New-Pass-7")
    form_buttons = [b for b in at.button if b.label == "保存新密码"]
    form_buttons[-1].click().run()
    assert "哈希链完整" in _texts(at)


def test_idle_timeout_logs_out(db, users):
    at = _app("pages/审计日志.py", users["aud1"])
    at.session_state["auth_last_seen"] = 0.0  # last activity long ago
    at.run()
    assert "会话已超时" in _texts(at)
    assert audit.rows(db, actor="aud1", action="auth.session_timeout")


def test_disabled_user_session_ends(db, users):
    at = _app("pages/审计日志.py", users["aud1"]).run()
    assert "哈希链完整" in _texts(at)
    auth.set_disabled(db, "aud1", True, actor="adm1")
    at.run()
    assert "哈希链" not in _texts(at)


def test_audit_page_shows_broken_chain(db, users, tmp_path):
    import sqlite3

    for i in range(3):
        audit.record(db, "prep1", "case.view", case_id=f"C{i}")
    conn = sqlite3.connect(tmp_path / "data" / "deid.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER audit_log_no_update")
    tampered = conn.execute("SELECT id FROM audit_log WHERE case_id = ?", [case_handle("C1")]).fetchone()[0]
    conn.execute("UPDATE audit_log SET case_id = 'C9' WHERE id = ?", [tampered])
    at = _app("pages/审计日志.py", users["sup1"]).run()
    assert f"第一条异常记录序号 {tampered}" in _texts(at)


def test_audit_filters_and_csv(db, users):
    audit.record(db, "prep1", "export.create", case_id="E1", detail={"sha256": "0" * 64})
    audit.record(db, "sup1", "case.approve", case_id="E1")
    at = _app("pages/审计日志.py", users["aud1"]).run()
    at.multiselect(key="audit_f_user").select("prep1").run()
    frame = at.dataframe[0].value
    assert set(frame["用户"]) == {"prep1"}
    at.text_input(key="audit_f_case").input("E1").run()
    assert list(at.dataframe[0].value["病例"]) == [case_handle("E1")]  # the opaque handle, never the case id
    assert "符合条件的记录：1 条" in _texts(at)


def test_user_admin_creates_user_and_disables(db, users):
    at = _app("pages/用户管理.py", users["adm1"]).run()
    at.text_input(key="ua_username").input("newnurse")
    at.selectbox(key="ua_role").select("preparer")
    [b for b in at.button if b.label == "创建用户"][0].click().run()
    assert auth.get_user(db, "newnurse")["must_change"] == 1
    assert audit.rows(db, action="user.add", actor="adm1")
    at.selectbox(key="uc_user").select("newnurse").run()
    at.button(key="uc_disable").click().run()
    assert auth.get_user(db, "newnurse")["disabled"] == 1
    assert audit.rows(db, action="user.disable", actor="adm1")


def test_review_page_approve_and_four_eyes(db, users, make_case):
    make_case("R1")
    workflow.start_detection(db, "R1")
    workflow.detection_done(db, "R1")
    workflow.submit(db, "R1", users["prep1"])
    # the submitter, even with a supervisor role, cannot approve
    as_sup = {**auth.public(users["prep1"]), "role": "supervisor"}
    db.conn.execute("UPDATE users SET role = 'supervisor' WHERE username = 'prep1'")
    at = _app("pages/审核.py", as_sup).run()
    assert "不能由您审核" in _texts(at)
    [b for b in at.button if b.label == "批准"][0].click().run()
    assert "双人复核" in _texts(at) and workflow.status_of(db, "R1") == "in_review"
    at2 = _app("pages/审核.py", users["sup1"]).run()
    [b for b in at2.button if b.label == "批准"][0].click().run()
    assert workflow.status_of(db, "R1") == "approved"
    assert workflow.active_approval(db, "R1")["approved_by"] == "sup1"


def test_review_page_return_needs_reason(db, users, make_case):
    make_case("R2")
    workflow.start_detection(db, "R2")
    workflow.detection_done(db, "R2")
    workflow.submit(db, "R2", users["prep1"])
    at = _app("pages/审核.py", users["sup1"]).run()
    [b for b in at.button if b.label == "退回"][0].click().run()
    assert "必须填写原因" in _texts(at)
    at.text_area(key="rv_reason_R2").input("第2页漏遮盖")
    [b for b in at.button if b.label == "退回"][0].click().run()
    assert workflow.status_of(db, "R2") == "returned"


def test_preparer_submits_from_review_page(db, users, make_case):
    make_case("S1")
    workflow.start_detection(db, "S1")
    workflow.detection_done(db, "S1")
    at = _app("pages/审核.py", users["prep1"]).run()
    assert not [b for b in at.button if b.label == "批准"]  # preparers never see approve
    [b for b in at.button if b.label == "提交审核"][0].click().run()
    assert workflow.status_of(db, "S1") == "in_review"
    assert "已提交审核" in _texts(at)
    assert "S1" in _texts(at)  # listed as waiting


def test_guard_called_twice_in_one_run_draws_sidebar_once(db, users):
    at = _app("tests/auth/double_guard_app.py", users["aud1"]).run()
    assert not at.exception
    assert at.title[0].value == "double ok"
    assert len([b for b in at.sidebar.button if b.label == "退出登录"]) == 1
    assert not at.run().exception
