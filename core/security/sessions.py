"""Server-side login sessions bound to a signed, HttpOnly cookie (issue 13).

A login creates a ``login_sessions`` row; the browser gets the session token
only inside an HttpOnly cookie (``COOKIE_NAME``), signed with an HMAC-SHA256
key derived from the storage key file, so a forged or altered cookie is
refused before any lookup.  At rest only the token's SHA-256 is stored.

The login form runs over Streamlit's websocket, which cannot set cookies, so
the form hands the browser a single-use code (``HANDOFF_SECONDS`` to use it);
the browser posts it to the app's own HTTP route, which answers with the
cookie (``ui.session_routes``).  The code is not the token: it is useless
once claimed, and the token it unlocks is sealed (SM4) until then.

Idle timeout: ``security_settings.session_idle_minutes`` (``core.security.auth``);
a session idle for longer is revoked.  Logout revokes the session for every
tab of that browser.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from core.security import auth as core_auth
from core.crypto import seal, sha256_hex, storage_key, unseal
from core.store import sessions as session_store

COOKIE_NAME = "deid_session"
HANDOFF_SECONDS = 120
TOUCH_SECONDS = 10  # last_seen is written at most this often (one UPDATE per page switch is not needed)
LIVE, IDLE, REVOKED, MISSING = "live", "idle", "revoked", "missing"


@dataclass(frozen=True)
class SessionState:
    status: str
    session_id: int | None = None
    username: str | None = None


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _cookie_key() -> bytes:
    return hashlib.sha256(b"deid-session-cookie|" + storage_key()).digest()


def sign(token: str) -> str:
    return token + "." + hmac.new(_cookie_key(), token.encode("ascii"), hashlib.sha256).hexdigest()


def unsign(cookie_value: str | None) -> str | None:
    """The token inside a cookie value, or None when the signature does not match."""
    if not cookie_value or "." not in cookie_value:
        return None
    token, _, mac = cookie_value.rpartition(".")
    try:
        expected = hmac.new(_cookie_key(), token.encode("ascii"), hashlib.sha256).hexdigest()
    except UnicodeEncodeError:
        return None
    return token if hmac.compare_digest(mac, expected) else None


def start(db, username: str, *, now: float | None = None) -> tuple[int, str]:
    """A new session for ``username`` and the single-use code that gets its cookie."""
    t = _now(now)
    token = secrets.token_urlsafe(32)
    session_id = session_store.insert_session(db, sha256_hex(token.encode()), username, t)
    code = secrets.token_urlsafe(24)
    session_store.insert_handoff(
        db, sha256_hex(code.encode()), session_id, seal(token.encode(), aad=b"session"), t
    )
    session_store.purge_handoffs(db, t - 3600)
    return session_id, code


def claim(db, code: str, *, now: float | None = None) -> str | None:
    """The signed cookie value for a hand-off code (once, while fresh and the session is live)."""
    t = _now(now)
    row = session_store.claim_handoff(db, sha256_hex((code or "").encode()), t - HANDOFF_SECONDS, t)
    if row is None or not row["token_sealed"]:
        return None
    if check(db, row["session_id"], now=t).status != LIVE:
        return None
    return sign(unseal(row["token_sealed"], aad=b"session").decode("ascii"))


def handoff_claimed(db, code: str) -> bool:
    exists, claimed_at = session_store.handoff_claimed_at(db, sha256_hex(code.encode()))
    return not exists or claimed_at is not None


def resume(db, cookie_value: str | None, *, now: float | None = None) -> SessionState:
    """The session a browser cookie stands for (checked like any other)."""
    token = unsign(cookie_value)
    if token is None:
        return SessionState(MISSING)
    row = session_store.session_by_token_hash(db, sha256_hex(token.encode()))
    if row is None:
        return SessionState(MISSING)
    return check(db, row["id"], now=now)


def check(db, session_id: int, *, now: float | None = None) -> SessionState:
    """Live, idle (revoked now) or revoked; a live session's last activity is now."""
    t = _now(now)
    row = session_store.session_by_id(db, session_id)
    if row is None:
        return SessionState(MISSING, session_id)
    if row["revoked_at"] is not None:
        return SessionState(REVOKED, session_id, row["username"])
    if t - row["last_seen"] > core_auth.idle_timeout_seconds(db):
        session_store.revoke_session(db, session_id, "idle", t)
        return SessionState(IDLE, session_id, row["username"])
    if t - row["last_seen"] >= TOUCH_SECONDS:
        session_store.touch_session(db, session_id, t)
    return SessionState(LIVE, session_id, row["username"])


def end(db, session_id: int, reason: str = "logout", *, now: float | None = None) -> None:
    session_store.revoke_session(db, session_id, reason, _now(now))


def end_all(db, username: str, reason: str, *, now: float | None = None) -> int:
    """Revoke every session of a user (disabled account, password reset)."""
    return session_store.revoke_user_sessions(db, username, reason, _now(now))


def session_of_cookie(db, cookie_value: str | None) -> int | None:
    token = unsign(cookie_value)
    row = session_store.session_by_token_hash(db, sha256_hex(token.encode())) if token else None
    return row["id"] if row else None
