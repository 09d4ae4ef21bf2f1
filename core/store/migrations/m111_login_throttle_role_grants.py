"""Per-client login throttle and two-admin role grants (issue 12).

- ``login_throttle``: failed logins per client (``client_key`` = SHA-256 of
  the address the UI passes, never the address itself) in a fixed window;
  a client over the limit is refused until ``blocked_until``.
- ``role_grants``: a change to or from the supervisor role requested by one
  admin and confirmed (or cancelled) by another (when more than one admin
  exists).  ``status``: pending | confirmed | cancelled.
"""

from __future__ import annotations

VERSION = 111

SCHEMA = """
CREATE TABLE IF NOT EXISTS login_throttle (
    client_key TEXT PRIMARY KEY,
    window_start REAL NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    blocked_until REAL
);

CREATE TABLE IF NOT EXISTS role_grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    from_role TEXT,
    to_role TEXT NOT NULL,
    new_account INTEGER NOT NULL DEFAULT 0,
    requested_by TEXT NOT NULL,
    requested_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'cancelled')),
    decided_by TEXT,
    decided_at REAL
);
CREATE INDEX IF NOT EXISTS role_grants_user ON role_grants (username, status)
"""


def apply(db) -> None:
    for stmt in SCHEMA.split(";"):
        if stmt.strip():
            db.conn.execute(stmt)
