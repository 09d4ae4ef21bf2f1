"""SQL of the case workflow (``core.cases.workflow``): case events, approvals and who edited a case
(tables of migrations 1 and 100–199).  Sealed columns come back as stored; the caller opens them."""

from __future__ import annotations


def _dicts(cur) -> list[dict]:
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


# ---------------------------------------------------------------- case events


def last_event_actor(db, case_id: str, event: str) -> str | None:
    """Who did the newest ``event`` on the case (None when it never happened)."""
    row = db.conn.execute(
        "SELECT actor FROM case_events WHERE case_id = ? AND event = ? ORDER BY id DESC LIMIT 1",
        [case_id, event],
    ).fetchone()
    return row[0] if row else None


def last_event_id(db, case_id: str, event: str) -> int:
    """Id of the newest ``event`` on the case (0 when none)."""
    return db.conn.execute(
        "SELECT COALESCE(MAX(id), 0) FROM case_events WHERE case_id = ? AND event = ?", [case_id, event]
    ).fetchone()[0]


def event_actors_after(db, case_id: str, after_id: int, events: tuple[str, ...]) -> set[str]:
    """Distinct actors of ``events`` on the case with an event id above ``after_id``."""
    marks = ", ".join("?" for _ in events)
    rows = db.conn.execute(
        f"SELECT DISTINCT actor FROM case_events WHERE case_id = ? AND id > ? AND event IN ({marks})",
        [case_id, after_id, *events],
    ).fetchall()
    return {r[0] for r in rows}


def add_edit_event(db, case_id: str, status: str, actor: str, at: float) -> None:
    """Note an edit that changes no status (the four-eyes check reads it)."""
    db.conn.execute(
        "INSERT INTO case_events (case_id, event, from_status, to_status, actor, reason, at) VALUES (?, 'edit', ?, ?, ?, NULL, ?)",
        [case_id, status, status, actor, at],
    )


def case_events(db, case_id: str) -> list[dict]:
    """The case's events, oldest first (``reason`` sealed as stored)."""
    return _dicts(db.conn.execute("SELECT * FROM case_events WHERE case_id = ? ORDER BY id", [case_id]))


def edit_actors_since(db, case_id: str, since: float) -> set[str]:
    """Distinct actors of box edits (table ``edits``) on the case after ``since``."""
    return {
        r[0]
        for r in db.conn.execute(
            "SELECT DISTINCT actor FROM edits WHERE case_id = ? AND at > ?", [case_id, since]
        ).fetchall()
    }


# ---------------------------------------------------------------- approvals


def last_approved_at(db, case_id: str) -> float:
    return db.conn.execute(
        "SELECT COALESCE(MAX(approved_at), 0) FROM approvals WHERE case_id = ?", [case_id]
    ).fetchone()[0]


def approval_row(db, approval_id: int) -> dict | None:
    rows = _dicts(db.conn.execute("SELECT * FROM approvals WHERE id = ?", [approval_id]))
    return rows[0] if rows else None


def live_approval_row(db, case_id: str) -> dict | None:
    """The newest approval of the case that is not superseded."""
    rows = _dicts(
        db.conn.execute(
            "SELECT * FROM approvals WHERE case_id = ? AND superseded_at IS NULL ORDER BY id DESC LIMIT 1",
            [case_id],
        )
    )
    return rows[0] if rows else None


def live_approval_ids(db, case_id: str) -> list[int]:
    return [
        r[0]
        for r in db.conn.execute(
            "SELECT id FROM approvals WHERE case_id = ? AND superseded_at IS NULL", [case_id]
        ).fetchall()
    ]


def supersede_live_approvals(db, case_id: str, at: float, reason: str) -> None:
    db.conn.execute(
        "UPDATE approvals SET superseded_at = ?, superseded_reason = ? WHERE case_id = ? AND superseded_at IS NULL",
        [at, reason, case_id],
    )
