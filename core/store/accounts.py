"""SQL of logins (atomic failure counter, per-client throttle) and two-admin role grants (``core.security.auth``)."""

from __future__ import annotations

from core.store.tx import transaction


def _row(cur, row) -> dict:
    return dict(zip([c[0] for c in cur.description], row))


def _dict(cur, row) -> dict | None:
    return _row(cur, row) if row else None


# ---------------------------------------------------------------- users


def user_row(db, username: str) -> dict | None:
    """The whole ``users`` row (password hash included), or None."""
    cur = db.conn.execute("SELECT * FROM users WHERE username = ?", [username])
    return _dict(cur, cur.fetchone())


def user_rows(db) -> list[dict]:
    """Every ``users`` row, by id."""
    cur = db.conn.execute("SELECT * FROM users ORDER BY id")
    return [_row(cur, r) for r in cur.fetchall()]


def user_role(db, username: str) -> str | None:
    row = db.conn.execute("SELECT role FROM users WHERE username = ?", [username]).fetchone()
    return row[0] if row else None


def has_active_admin(db) -> bool:
    return (
        db.conn.execute("SELECT 1 FROM users WHERE role = 'admin' AND disabled = 0 LIMIT 1").fetchone()
        is not None
    )


def insert_user(
    db,
    username: str,
    display_name: str,
    role: str,
    password_hash: str,
    *,
    must_change: bool,
    now: float,
    disabled: bool,
) -> None:
    db.conn.execute(
        "INSERT INTO users (username, display_name, role, password_hash, must_change, created_at,"
        " password_changed_at, disabled) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            username,
            display_name,
            role,
            password_hash,
            1 if must_change else 0,
            now,
            now,
            1 if disabled else 0,
        ],
    )


def set_password(db, user_id: int, password_hash: str, now: float) -> None:
    """The user's own change: the new hash, no change required any more."""
    db.conn.execute(
        "UPDATE users SET password_hash = ?, must_change = 0, password_changed_at = ? WHERE id = ?",
        [password_hash, now, user_id],
    )


def reset_password(db, user_id: int, password_hash: str, now: float) -> None:
    """An admin's reset: a temporary hash that must be changed; the account is unlocked."""
    db.conn.execute(
        "UPDATE users SET password_hash = ?, must_change = 1, failed_count = 0, locked_until = NULL,"
        " password_changed_at = ? WHERE id = ?",
        [password_hash, now, user_id],
    )


# ---------------------------------------------------------------- first-admin setup tokens


def replace_setup_token(db, token_hash: str, now: float) -> None:
    """Void every unused setup token and store the hash of a new one."""
    db.conn.execute("UPDATE setup_tokens SET used_at = ? WHERE used_at IS NULL", [now])
    db.conn.execute("INSERT INTO setup_tokens (token_hash, created_at) VALUES (?, ?)", [token_hash, now])


def unused_setup_token(db, token_hash: str) -> int | None:
    """The id of the unused setup token with this hash, or None."""
    row = db.conn.execute(
        "SELECT id FROM setup_tokens WHERE token_hash = ? AND used_at IS NULL", [token_hash]
    ).fetchone()
    return row[0] if row else None


def use_setup_token(db, token_id: int, now: float) -> None:
    db.conn.execute("UPDATE setup_tokens SET used_at = ? WHERE id = ?", [now, token_id])


# ---------------------------------------------------------------- login attempts


def begin_attempt(db, username: str, now: float) -> dict | None:
    """Start a login attempt in one ``BEGIN IMMEDIATE`` transaction, before any password check.

    Returns None for an unknown user, else ``{id, username, password_hash,
    refusal, failed}``: ``refusal`` is ``disabled`` / ``locked`` (the counter is
    left alone) or ``""`` — then ``failed_count`` was incremented atomically
    and ``failed`` is the new value (a success resets it).  Parallel attempts
    therefore each count, whatever order their password checks finish in.
    """
    with transaction(db):
        cur = db.conn.execute(
            "SELECT id, username, password_hash, disabled, locked_until FROM users WHERE username = ?",
            [username],
        )
        row = _dict(cur, cur.fetchone())
        if row is None:
            return None
        refusal = "disabled" if row["disabled"] else ("locked" if (row["locked_until"] or 0) > now else "")
        failed = None
        if not refusal:
            failed = db.conn.execute(
                "UPDATE users SET failed_count = failed_count + 1 WHERE id = ? RETURNING failed_count",
                [row["id"]],
            ).fetchone()[0]
    return {
        "id": row["id"],
        "username": row["username"],
        "password_hash": row["password_hash"],
        "refusal": refusal,
        "failed": failed,
    }


def lock(db, user_id: int, until: float) -> None:
    db.conn.execute("UPDATE users SET failed_count = 0, locked_until = ? WHERE id = ?", [until, user_id])


def login_succeeded(db, user_id: int, now: float) -> None:
    db.conn.execute(
        "UPDATE users SET failed_count = 0, locked_until = NULL, last_login_at = ? WHERE id = ?",
        [now, user_id],
    )


def setup_token_outstanding(db) -> bool:
    return db.conn.execute("SELECT 1 FROM setup_tokens WHERE used_at IS NULL LIMIT 1").fetchone() is not None


# ---------------------------------------------------------------- per-client throttle


def client_blocked_until(db, client_key: str, now: float) -> float | None:
    row = db.conn.execute(
        "SELECT blocked_until FROM login_throttle WHERE client_key = ?", [client_key]
    ).fetchone()
    return row[0] if row and row[0] and row[0] > now else None


def client_failed(db, client_key: str, now: float, *, window: float, limit: int) -> int:
    """Count one failed login of this client in its current window; block it at ``limit``.  Returns the count."""
    with transaction(db):
        row = db.conn.execute(
            "SELECT window_start, failures FROM login_throttle WHERE client_key = ?", [client_key]
        ).fetchone()
        if row is None or now - row[0] >= window:
            start, failures = now, 1
        else:
            start, failures = row[0], row[1] + 1
        blocked = start + window if failures >= limit else None
        db.conn.execute(
            "INSERT INTO login_throttle (client_key, window_start, failures, blocked_until) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(client_key) DO UPDATE SET window_start = excluded.window_start, "
            "failures = excluded.failures, blocked_until = excluded.blocked_until",
            [client_key, start, failures, blocked],
        )
    return failures


# ---------------------------------------------------------------- role grants (two admins)


def active_admin_count(db) -> int:
    return db.conn.execute("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0").fetchone()[0]


def add_grant(
    db,
    username: str,
    from_role: str | None,
    to_role: str,
    requested_by: str,
    now: float,
    *,
    new_account: bool = False,
) -> int:
    db.conn.execute(
        "UPDATE role_grants SET status = 'cancelled', decided_by = ?, decided_at = ? "
        "WHERE username = ? AND status = 'pending'",
        [requested_by, now, username],
    )
    return db.conn.execute(
        "INSERT INTO role_grants (username, from_role, to_role, new_account, requested_by, requested_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [username, from_role, to_role, 1 if new_account else 0, requested_by, now],
    ).lastrowid


def grant(db, grant_id: int) -> dict | None:
    cur = db.conn.execute("SELECT * FROM role_grants WHERE id = ?", [grant_id])
    return _dict(cur, cur.fetchone())


def pending_grants(db) -> list[dict]:
    cur = db.conn.execute("SELECT * FROM role_grants WHERE status = 'pending' ORDER BY id")
    return [_row(cur, r) for r in cur.fetchall()]


def pending_grant_for(db, username: str) -> dict | None:
    cur = db.conn.execute(
        "SELECT * FROM role_grants WHERE username = ? AND status = 'pending' ORDER BY id DESC LIMIT 1",
        [username],
    )
    return _dict(cur, cur.fetchone())


def decide_grant(db, grant_id: int, status: str, decided_by: str, now: float) -> None:
    db.conn.execute(
        "UPDATE role_grants SET status = ?, decided_by = ?, decided_at = ? WHERE id = ?",
        [status, decided_by, now, grant_id],
    )


def set_role(db, user_id: int, role: str) -> None:
    db.conn.execute("UPDATE users SET role = ? WHERE id = ?", [role, user_id])


def set_disabled(db, user_id: int, disabled: bool) -> None:
    db.conn.execute("UPDATE users SET disabled = ? WHERE id = ?", [1 if disabled else 0, user_id])


# ---------------------------------------------------------------- recent account changes (24 h flag)

ACCOUNT_CHANGE_ACTIONS = ("user.add", "user.reset_password", "user.role_change", "user.role_grant_confirmed")


def approvals_after_account_change(db, window_s: float) -> list[dict]:
    """Approvals whose approver's account was created, reset or re-roled within ``window_s`` before it.

    The account changes come from the audit trail (``detail.user`` names the
    account), so the flag rests on the tamper-evident record.
    """
    actions = ", ".join("?" for _ in ACCOUNT_CHANGE_ACTIONS)
    cur = db.conn.execute(
        f"SELECT a.id AS approval_id, a.case_id, a.approved_by, a.approved_at, a.superseded_at, "
        f"l.action AS change, l.actor AS changed_by, l.ts AS changed_ts "
        f"FROM approvals a JOIN audit_log l ON l.action IN ({actions}) "
        f"AND json_valid(l.detail) AND json_extract(l.detail, '$.user') = a.approved_by "
        f"AND (julianday(l.ts) - 2440587.5) * 86400.0 BETWEEN a.approved_at - ? AND a.approved_at "
        f"ORDER BY a.id DESC, l.id DESC",
        [*ACCOUNT_CHANGE_ACTIONS, window_s],
    )
    return [_row(cur, r) for r in cur.fetchall()]


def approval_pairs(db) -> list[tuple]:
    """``(prepared_by, approved_by, approvals, live approvals)`` per pair, most approvals first."""
    return db.conn.execute(
        "SELECT prepared_by, approved_by, COUNT(*), SUM(superseded_at IS NULL) FROM approvals "
        "GROUP BY prepared_by, approved_by ORDER BY COUNT(*) DESC"
    ).fetchall()


def has_any_user(db) -> bool:
    return db.conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None
