"""Server-side login sessions and the review's last page (issue 13).

Tables
- ``login_sessions``: one row per browser login.  Only the SHA-256 of the
  session token is stored; the browser holds the token in a signed HttpOnly
  cookie.  ``last_seen`` drives the idle timeout; ``revoked_at`` ends it.
- ``session_handoffs``: a single-use code (hashed) that lets the browser
  fetch the cookie for a session created by the login form; the token is
  sealed (SM4) until claimed, then the row's token is erased.
- ``review_places``: the last page a user had open in each case.
"""

from __future__ import annotations

VERSION = 112

SCHEMA = """
CREATE TABLE IF NOT EXISTS login_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    revoked_at REAL,
    revoked_reason TEXT
);
CREATE INDEX IF NOT EXISTS login_sessions_user ON login_sessions (username);

CREATE TABLE IF NOT EXISTS session_handoffs (
    code_hash TEXT PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES login_sessions (id),
    token_sealed BLOB,
    created_at REAL NOT NULL,
    claimed_at REAL
);

CREATE TABLE IF NOT EXISTS review_places (
    username TEXT NOT NULL,
    case_id TEXT NOT NULL,
    page_id INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (username, case_id)
);
"""


def apply(db) -> None:
    for stmt in SCHEMA.split(";"):
        if stmt.strip():
            db.execute(stmt)
