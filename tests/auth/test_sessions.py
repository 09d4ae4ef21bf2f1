"""Server-side login sessions (core.security.sessions) and the cookie route of a real
Streamlit server (ui.session_routes served by st.App from app.py)."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from core.security import auth, sessions
from core.store import sessions as session_store

ROOT = Path(__file__).resolve().parents[2]


def test_handoff_code_gives_the_signed_cookie_once(db):
    session_id, code = sessions.start(db, "prep1", now=1000.0)
    value = sessions.claim(db, code, now=1001.0)
    assert value and sessions.unsign(value)
    assert sessions.claim(db, code, now=1002.0) is None  # single use
    state = sessions.resume(db, value, now=1003.0)
    assert state.status == sessions.LIVE and state.session_id == session_id and state.username == "prep1"


def test_stale_or_unknown_handoff_code_is_refused(db):
    _sid, code = sessions.start(db, "prep1", now=1000.0)
    assert sessions.claim(db, code, now=1000.0 + sessions.HANDOFF_SECONDS + 1) is None
    assert sessions.claim(db, "not-a-code", now=1001.0) is None


def test_forged_or_altered_cookie_is_refused(db):
    _sid, code = sessions.start(db, "prep1", now=1000.0)
    value = sessions.claim(db, code, now=1001.0)
    token, _, mac = value.rpartition(".")
    assert sessions.resume(db, token + "." + "0" * len(mac), now=1002.0).status == sessions.MISSING
    assert sessions.resume(db, token, now=1002.0).status == sessions.MISSING
    assert sessions.resume(db, sessions.sign("made-up-token"), now=1002.0).status == sessions.MISSING


def test_token_is_only_stored_hashed(db, tmp_path):
    _sid, code = sessions.start(db, "prep1", now=1000.0)
    token = sessions.unsign(sessions.claim(db, code, now=1001.0))
    db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("deid.sqlite*"))
    assert token.encode() not in raw and code.encode() not in raw
    row = db.conn.execute("SELECT token_sealed FROM session_handoffs").fetchone()
    assert row[0] is None  # the sealed token is erased once claimed


def test_idle_timeout_from_settings_revokes(db):
    auth.set_setting(db, "session_idle_minutes", "5", actor="adm1")
    session_id, _code = sessions.start(db, "prep1", now=1000.0)
    assert sessions.check(db, session_id, now=1000.0 + 4 * 60).status == sessions.LIVE
    # activity moved last_seen: 4 more minutes are still fine
    assert sessions.check(db, session_id, now=1000.0 + 8 * 60).status == sessions.LIVE
    assert sessions.check(db, session_id, now=1000.0 + 14 * 60).status == sessions.IDLE
    assert sessions.check(db, session_id, now=1000.0 + 14 * 60 + 1).status == sessions.REVOKED


def test_logout_revokes_for_every_tab(db):
    session_id, code = sessions.start(db, "prep1", now=1000.0)
    value = sessions.claim(db, code, now=1001.0)
    sessions.end(db, session_id, "logout", now=1002.0)
    assert sessions.resume(db, value, now=1003.0).status == sessions.REVOKED
    assert session_store.session_by_id(db, session_id)["revoked_reason"] == "logout"


@pytest.fixture
def server(tmp_path):
    from tools.bench.server import streamlit_app

    env = {**os.environ, "DEID_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    env.pop("DEID_DB", None)  # same data dir and key file as the test's store
    with streamlit_app(env, tmp_path / "server.log") as base:
        yield base


def _post(url: str, body: bytes = b"", headers: dict | None = None):
    req = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        return urllib.request.urlopen(req, timeout=10)
    except urllib.error.HTTPError as err:
        return err


def test_claim_route_sets_httponly_strict_cookie(server, db):
    _sid, code = sessions.start(db, "prep1")
    assert _post(server + "/_deid/session/claim", b"wrong").status == 403
    assert (
        _post(server + "/_deid/session/claim", code.encode(), {"Origin": "http://evil.example"}).status == 403
    )
    resp = _post(server + "/_deid/session/claim", code.encode())
    assert resp.status == 204
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith(sessions.COOKIE_NAME + "=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    value = cookie.split(";")[0].split("=", 1)[1].strip('"')
    assert sessions.resume(db, value).status == sessions.LIVE
    assert _post(server + "/_deid/session/claim", code.encode()).status == 403  # used
    out = _post(server + "/_deid/session/logout", headers={"Cookie": f"{sessions.COOKIE_NAME}={value}"})
    assert out.status == 204 and "Max-Age=0" in out.headers["Set-Cookie"]
    assert sessions.resume(db, value).status == sessions.REVOKED


def _login_apptest(username: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages/帮助.py"), default_timeout=30).run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input("Review-Pass-2024")
    at.button[0].click().run()
    return at


def test_login_form_opens_a_server_session_and_logout_revokes_it(db):
    auth.create_user(db, "prep1", "preparer", "Review-Pass-2024", must_change=False)
    at = _login_apptest("prep1")
    session_id = at.session_state["auth_session_id"]
    assert sessions.check(db, session_id).status == sessions.LIVE
    assert at.session_state["auth_cookie_handoff"]  # the browser is asked to fetch its cookie
    at.button(key="logout_button").click().run()
    assert sessions.check(db, session_id).status == sessions.REVOKED
    assert any(b.label == "登录" for b in at.button)


def test_session_revoked_elsewhere_ends_this_tab(db):
    auth.create_user(db, "prep1", "preparer", "Review-Pass-2024", must_change=False)
    at = _login_apptest("prep1")
    sessions.end_all(db, "prep1", "password_reset")
    at.run()
    assert any(b.label == "登录" for b in at.button)
    assert "已在其他窗口退出登录" in "".join(i.value for i in at.info)
