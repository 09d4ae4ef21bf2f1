"""SQL of login sessions, their cookie hand-offs and the review's last page
(tables of migration m112).  Callers pass hashes, never raw tokens."""

from __future__ import annotations


def insert_session(db, token_hash: str, username: str, now: float) -> int:
    cur = db.conn.execute(
        "INSERT INTO login_sessions (token_hash, username, created_at, last_seen) VALUES (?, ?, ?, ?)",
        [token_hash, username, now, now],
    )
    return cur.lastrowid


def session_by_id(db, session_id: int) -> dict | None:
    return _one(db, "SELECT * FROM login_sessions WHERE id = ?", [session_id])


def session_by_token_hash(db, token_hash: str) -> dict | None:
    return _one(db, "SELECT * FROM login_sessions WHERE token_hash = ?", [token_hash])


def touch_session(db, session_id: int, now: float) -> None:
    db.conn.execute(
        "UPDATE login_sessions SET last_seen = ? WHERE id = ? AND revoked_at IS NULL", [now, session_id]
    )


def revoke_session(db, session_id: int, reason: str, now: float) -> None:
    db.conn.execute(
        "UPDATE login_sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL",
        [now, reason, session_id],
    )


def revoke_user_sessions(db, username: str, reason: str, now: float) -> int:
    cur = db.conn.execute(
        "UPDATE login_sessions SET revoked_at = ?, revoked_reason = ? "
        "WHERE username = ? AND revoked_at IS NULL",
        [now, reason, username],
    )
    return cur.rowcount


def insert_handoff(db, code_hash: str, session_id: int, token_sealed: bytes, now: float) -> None:
    db.conn.execute(
        "INSERT INTO session_handoffs (code_hash, session_id, token_sealed, created_at) VALUES (?, ?, ?, ?)",
        [code_hash, session_id, token_sealed, now],
    )


def claim_handoff(db, code_hash: str, not_before: float, now: float) -> dict | None:
    """Mark an unclaimed, fresh hand-off claimed and return it (with its sealed
    token) — once; the stored token is erased in the same statement."""
    row = _one(
        db,
        "SELECT * FROM session_handoffs WHERE code_hash = ? AND claimed_at IS NULL AND created_at >= ?",
        [code_hash, not_before],
    )
    if row is None:
        return None
    cur = db.conn.execute(
        "UPDATE session_handoffs SET claimed_at = ?, token_sealed = NULL "
        "WHERE code_hash = ? AND claimed_at IS NULL",
        [now, code_hash],
    )
    return row if cur.rowcount == 1 else None


def handoff_claimed_at(db, code_hash: str) -> tuple[bool, float | None]:
    """``(exists, claimed_at)`` of the hand-off with this code hash."""
    row = db.conn.execute(
        "SELECT claimed_at FROM session_handoffs WHERE code_hash = ?", [code_hash]
    ).fetchone()
    return (row is not None, row[0] if row else None)


def purge_handoffs(db, older_than: float) -> None:
    db.conn.execute("DELETE FROM session_handoffs WHERE created_at < ?", [older_than])


def save_review_place(db, username: str, case_id: str, page_id: int, now: float) -> None:
    db.conn.execute(
        "INSERT INTO review_places (username, case_id, page_id, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (username, case_id) DO UPDATE SET page_id = excluded.page_id, "
        "updated_at = excluded.updated_at",
        [username, case_id, page_id, now],
    )


def review_place(db, username: str, case_id: str) -> int | None:
    row = db.conn.execute(
        "SELECT page_id FROM review_places WHERE username = ? AND case_id = ?", [username, case_id]
    ).fetchone()
    return row[0] if row else None


def _one(db, sql: str, params: list) -> dict | None:
    cur = db.conn.execute(sql, params)
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cur.description], row))
