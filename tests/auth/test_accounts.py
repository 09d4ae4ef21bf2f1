"""Accounts: password rule, bcrypt storage, lockout timing, must-change, disable, first start, demo users."""

from __future__ import annotations

import pytest

from core.security import audit, auth
from core.security.auth import AuthError, PasswordRuleError
from core.errors import DeidError

T0 = 1_800_000_000.0


@pytest.mark.parametrize(
    "password, ok",
    [
        ("Abcdefgh12", True),  # 10 chars, lower+upper+digit
        ("abcdefgh1!", True),  # lower+digit+symbol
        ("Abcdefg12", False),  # 9 chars
        ("abcdefghijk1", False),  # two classes only
        ("ABCDEFGHIJ!", False),  # two classes only
        ("Xprep1-2024", False),  # contains the username
        ("XPREP1-abc2024", False),  # contains the username, other case
    ],
)
def test_password_rule(password, ok):
    assert (auth.password_problems(password, "prep1") == []) is ok


def test_rule_enforced_on_create_and_change(db):
    with pytest.raises(PasswordRuleError):
        auth.create_user(db, "nurse", "preparer", "short1A")
    user, pw = auth.create_user(db, "nurse", "preparer", "Good-Pass-2024")
    with pytest.raises(PasswordRuleError):
        auth.change_password(db, "nurse", pw, "nurse-Pass-2024")  # contains username
    with pytest.raises(PasswordRuleError):
        auth.change_password(db, "nurse", pw, pw)  # same as old


def test_password_stored_as_bcrypt(db):
    _, pw = auth.create_user(db, "carol", "supervisor")
    stored = db.conn.execute("SELECT password_hash FROM users WHERE username='carol'").fetchone()[0]
    assert stored.startswith("$2") and pw not in stored
    assert auth.check_hash(pw, stored)
    assert pw not in " ".join(r["detail"] for r in audit.rows(db))


def test_generated_passwords_meet_the_rule():
    for _ in range(50):
        assert auth.password_problems(auth.generate_password(), "someone") == []


def test_lockout_after_five_failures_for_fifteen_minutes(db, users):
    pw = users["prep1"]["password"]
    for i in range(4):
        with pytest.raises(AuthError, match="用户名或密码错误"):
            auth.authenticate(db, "prep1", "wrong-Password-1", now=T0 + i)
    with pytest.raises(AuthError, match="锁定"):
        auth.authenticate(db, "prep1", "wrong-Password-1", now=T0 + 5)
    # locked: even the right password is refused until 15 minutes have passed
    with pytest.raises(AuthError, match="锁定"):
        auth.authenticate(db, "prep1", pw, now=T0 + 5 + 14 * 60)
    with pytest.raises(AuthError, match="锁定"):
        auth.authenticate(db, "prep1", pw, now=T0 + 5 + 15 * 60 - 1)
    assert auth.authenticate(db, "prep1", pw, now=T0 + 5 + 15 * 60 + 1)["username"] == "prep1"
    actions = [r["action"] for r in audit.rows(db, actor="prep1")]
    assert actions.count("auth.login_failed") == 7 and "auth.locked" in actions and actions[0] == "auth.login"


def test_success_resets_failure_counter(db, users):
    pw = users["sup1"]["password"]
    for i in range(4):
        with pytest.raises(AuthError):
            auth.authenticate(db, "sup1", "nope-Nope-12", now=T0 + i)
    auth.authenticate(db, "sup1", pw, now=T0 + 10)
    for i in range(4):
        with pytest.raises(AuthError, match="用户名或密码错误"):
            auth.authenticate(db, "sup1", "nope-Nope-12", now=T0 + 20 + i)
    assert auth.authenticate(db, "sup1", pw, now=T0 + 30)


def test_unknown_user_is_audited_without_the_typed_name(db):
    with pytest.raises(AuthError, match="用户名或密码错误"):
        auth.authenticate(db, "zhangsanfeng", "whatever-1A")
    row = audit.rows(db, action="auth.login_failed")[0]
    assert row["actor"] == "(unknown)" and "zhangsanfeng" not in row["detail"]


def test_must_change_on_first_login_and_after_reset(db, users):
    user, pw = auth.create_user(db, "newbie", "preparer", actor="adm1")
    assert auth.authenticate(db, "newbie", pw)["must_change"] == 1
    fresh = auth.change_password(db, "newbie", pw, "Brand-New-Pass-7")
    assert fresh["must_change"] == 0
    temp = auth.reset_password(db, "newbie", actor="adm1")
    assert auth.authenticate(db, "newbie", temp)["must_change"] == 1
    with pytest.raises(AuthError):
        auth.authenticate(db, "newbie", "Brand-New-Pass-7")


def test_disabled_user_cannot_log_in_but_records_stay(db, users):
    audit.record(db, "prep2", "case.view", case_id="C1")
    auth.set_disabled(db, "prep2", True, actor="adm1")
    with pytest.raises(AuthError, match="停用"):
        auth.authenticate(db, "prep2", users["prep2"]["password"])
    assert auth.get_user(db, "prep2")["disabled"] == 1
    assert audit.rows(db, actor="prep2", action="case.view")[0]["role"] == "preparer"
    assert not auth.authorize(auth.get_user(db, "prep2"), "case.view")
    auth.set_disabled(db, "prep2", False, actor="adm1")
    assert auth.authenticate(db, "prep2", users["prep2"]["password"])


def test_admin_cannot_disable_self(db, users):
    with pytest.raises(DeidError):
        auth.set_disabled(db, "adm1", True, actor="adm1")


def test_first_admin_needs_the_one_time_token(db):
    assert not auth.has_admin(db)
    token = auth.issue_setup_token(db)
    assert token and token not in str(db.conn.execute("SELECT * FROM setup_tokens").fetchall())
    with pytest.raises(AuthError):
        auth.create_first_admin(db, "wrong-token", "boss", "Admin-Pass-2024")
    admin = auth.create_first_admin(db, token, "boss", "Admin-Pass-2024")
    assert admin["role"] == "admin" and auth.has_admin(db)
    assert auth.issue_setup_token(db) is None
    with pytest.raises(AuthError):
        auth.create_first_admin(db, token, "boss2", "Admin-Pass-2024")  # token used, admin exists


def test_new_token_invalidates_old_one(db):
    first = auth.issue_setup_token(db)
    second = auth.issue_setup_token(db)
    with pytest.raises(AuthError):
        auth.create_first_admin(db, first, "boss", "Admin-Pass-2024")
    assert auth.create_first_admin(db, second, "boss", "Admin-Pass-2024")


def test_demo_users_one_per_role_printed_once(db):
    created = auth.seed_demo_users(db)
    assert sorted(role for _, role, _ in created) == ["admin", "auditor", "preparer", "supervisor"]
    for username, _, pw in created:
        assert auth.authenticate(db, username, pw)["must_change"] == 0
    assert auth.seed_demo_users(db) == []


def test_idle_timeout_setting(db, users):
    assert auth.idle_timeout_seconds(db) == 30 * 60
    auth.set_setting(db, "session_idle_minutes", "5", actor="adm1")
    assert auth.idle_timeout_seconds(db) == 300
    assert audit.rows(db, action="settings.change")[0]["actor"] == "adm1"


def test_client_address_is_recorded_with_login_attempts(db, users):
    with pytest.raises(AuthError):
        auth.authenticate(db, "prep1", "Wrong-Pass-123", client="10.1.2.3")
    auth.authenticate(db, "prep1", users["prep1"]["password"], client="10.1.2.3")
    assert all('"client":"10.1.2.3"' in r["detail"] for r in audit.rows(db, actor="prep1"))
