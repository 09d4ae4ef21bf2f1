"""Issue 12, logins: atomic failure counter, one failure message, per-client throttle,
long passwords, setup token only from the server's command line.  Real SQLite files."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.security import audit, auth
from core.security.auth import AuthError, PasswordRuleError
from core.store.db import open_db

T0 = 1_800_000_000.0
ROOT = Path(__file__).resolve().parents[2]
LONG_ASCII = "Aa1!" * 19  # 76 bytes
LONG_CHINESE = "病历匿名化导出系统管理员密码很长的一段中文字啊啊Aa1"  # 24 Chinese × 3 + 3 = 75 bytes


def test_twelve_parallel_wrong_logins_lock_the_account(tmp_path, monkeypatch):
    """Before: each attempt read failed_count = 0 and wrote 1 -> no lock.  Now each counts."""
    monkeypatch.setenv("DEID_BCRYPT_ROUNDS", "9")  # a real bcrypt cost, so the checks overlap
    path = tmp_path / "data" / "deid.sqlite"
    db = open_db(path)
    auth.create_user(db, "nurse1", "preparer", "Right-Pass-2024", must_change=False)
    barrier = threading.Barrier(12)
    errors = []

    def guess(i):
        conn = open_db(path)  # one connection per client, like one per browser session
        barrier.wait()
        try:
            auth.authenticate(conn, "nurse1", f"Wrong-Pass-{i:04d}", now=T0)
        except AuthError as exc:
            errors.append(exc.message_zh)
        finally:
            conn.conn.close()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 12
    locked_until = db.conn.execute("SELECT locked_until FROM users WHERE username = 'nurse1'").fetchone()[0]
    assert locked_until and locked_until > T0
    with pytest.raises(AuthError):
        auth.authenticate(db, "nurse1", "Right-Pass-2024", now=T0 + 60)  # locked: even the right one
    assert audit.count(db, action="auth.locked") >= 1


def test_one_failure_message_and_bcrypt_for_every_kind_of_failure(db, users, monkeypatch):
    auth.set_disabled(db, "prep2", True, actor="adm1")
    for i in range(5):
        with pytest.raises(AuthError):
            auth.authenticate(db, "sup2", "Wrong-Pass-123", now=T0 + i)
    checks = []
    real = auth.check_hash
    monkeypatch.setattr(auth, "check_hash", lambda pw, h: checks.append(h) or real(pw, h))
    messages = {}
    for kind, name, pw in (
        ("unknown", "nobody", "Whatever-Pass-1"),
        ("disabled", "prep2", users["prep2"]["password"]),
        ("locked", "sup2", users["sup2"]["password"]),
        ("wrong", "sup1", "Wrong-Pass-123"),
    ):
        with pytest.raises(AuthError) as info:
            auth.authenticate(db, name, pw, now=T0 + 10)
        messages[kind] = info.value.message_zh
    assert len(set(messages.values())) == 1, messages
    assert len(checks) == 4  # bcrypt ran for each (no early answer for disabled/locked/unknown)
    reasons = [r["detail"] for r in audit.rows(db, action="auth.login_failed")[:4]]
    for reason in (
        "unknown_user",
        "disabled",
        "locked",
        "bad_password",
    ):  # the reason stays in the audit trail
        assert any(reason in d for d in reasons)


def test_per_client_throttle(db, users):
    for i in range(auth.CLIENT_MAX_FAILED):
        with pytest.raises(AuthError):
            auth.authenticate(db, f"guess{i}", "Wrong-Pass-123", now=T0 + i, client="10.0.0.9")
    with pytest.raises(AuthError, match="过于频繁"):
        auth.authenticate(db, "prep1", users["prep1"]["password"], now=T0 + 30, client="10.0.0.9")
    assert auth.authenticate(db, "prep1", users["prep1"]["password"], now=T0 + 31, client="10.0.0.10")
    later = T0 + auth.CLIENT_WINDOW_SECONDS + 1
    assert auth.authenticate(db, "prep1", users["prep1"]["password"], now=later, client="10.0.0.9")
    stored = " ".join(str(r) for r in db.conn.execute("SELECT * FROM login_throttle").fetchall())
    assert "10.0.0.9" not in stored  # the throttle keys by a digest, not the address
    assert audit.count(db, action="auth.throttled") == 1


@pytest.mark.parametrize("password", [LONG_ASCII, LONG_CHINESE])
def test_passwords_over_72_bytes_are_refused_with_a_message(db, users, password):
    assert len(password.encode("utf-8")) > 72
    with pytest.raises(PasswordRuleError, match="72 字节"):
        auth.create_user(db, "longpw", "preparer", password)
    with pytest.raises(PasswordRuleError, match="72 字节"):
        auth.change_password(db, "prep1", users["prep1"]["password"], password)
    with pytest.raises(PasswordRuleError, match="72 字节"):
        auth.reset_password(db, "prep1", actor="adm1", new_password=password)
    with pytest.raises(AuthError, match="72 字节"):  # a clear message, not bcrypt's ValueError
        auth.authenticate(db, "prep1", password)
    with pytest.raises(AuthError, match="72 字节"):
        auth.change_password(db, "prep1", password, "Brand-New-Pass-7")


def test_first_start_token_is_not_replaced_by_the_app(db):
    cli_token = auth.issue_setup_token(db)  # what `python -m core.cli user setup-token` does
    assert auth.first_setup_token(db) is None  # the page never voids it
    assert auth.create_first_admin(db, cli_token, "boss", "Admin-Pass-2024")


def _app(path: str) -> AppTest:
    return AppTest.from_file(str(ROOT / path), default_timeout=30)


def _texts(at) -> str:
    parts = [
        e.value for e in (*at.title, *at.markdown, *at.caption, *at.success, *at.error, *at.warning, *at.info)
    ]
    return "\n".join(str(p) for p in parts)


def test_first_start_page_cannot_regenerate_the_token(db):
    cli_token = auth.issue_setup_token(db)
    at = _app("pages/审计日志.py").run()
    assert "首次启动" in _texts(at)
    assert not [b for b in at.button if b.label == "重新生成令牌"]
    assert "python -m core.cli user setup-token" in _texts(at)
    at.text_input(key="setup_token").input(cli_token)
    at.text_input(key="setup_username").input("boss")
    at.text_input(key="setup_password").input("Admin-Pass-2024")
    at.text_input(key="setup_password2").input("Admin-Pass-2024")
    at.button[0].click().run()
    assert auth.get_user(db, "boss")["role"] == "admin"


def test_login_page_long_password_shows_the_message(db, users):
    at = _app("pages/审计日志.py").run()
    at.text_input(key="login_username").input("aud1")
    at.text_input(key="login_password").input(LONG_ASCII)
    at.button[0].click().run()
    assert not at.exception
    assert "72 字节" in _texts(at)
