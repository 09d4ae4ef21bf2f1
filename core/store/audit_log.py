"""SQL of the audit trail: appending rows, walking the chain, filters, the seal floor, chain head, purge
and checkpoints (``core.security.audit``, ``core.security.audit_anchor``, ``core.security.audit_report``)."""

from __future__ import annotations

import json


def setting(db, key: str) -> str | None:
    row = db.conn.execute("SELECT value FROM security_settings WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def put_setting(db, key: str, value: str) -> None:
    db.conn.execute(
        "INSERT INTO security_settings (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def insert_setting(db, key: str, value: str) -> None:
    """Add a setting that is not there yet (raises if it is)."""
    db.conn.execute("INSERT INTO security_settings (key, value) VALUES (?, ?)", [key, value])


def has_mac_column(db) -> bool:
    return any(r[1] == "mac" for r in db.conn.execute("PRAGMA table_info(audit_log)").fetchall())


def last_row(db) -> tuple[int, str] | None:
    """``(id, hash)`` of the newest row, or None."""
    row = db.conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else None


def insert_row(db, row: dict) -> None:
    """Append one row (its columns are the keys of ``row``: the code's own field names)."""
    cols = list(row)
    db.conn.execute(
        f"INSERT INTO audit_log ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        [row[c] for c in cols],
    )


def chain_rows(db, fields: tuple[str, ...], after_id: int):
    """Cursor over ``fields`` of the rows with id > ``after_id``, in id order."""
    return db.conn.execute(f"SELECT {', '.join(fields)} FROM audit_log WHERE id > ? ORDER BY id", [after_id])


def purge_details(db) -> list[str]:
    """``detail`` of every ``audit.purge`` row."""
    return [r[0] for r in db.conn.execute("SELECT detail FROM audit_log WHERE action = 'audit.purge'")]


def _where(filters: dict[str, list], since: str | None, until: str | None) -> tuple[str, list]:
    clauses, params = [], []
    for col in ("actor", "role", "case_id", "action"):
        values = filters.get(col)
        if values:
            clauses.append(f"{col} IN ({', '.join('?' for _ in values)})")
            params += list(values)
    if since:
        clauses.append("ts >= ?")
        params.append(since)
    if until:
        clauses.append("ts < ?")
        params.append(until)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def filtered_rows(
    db,
    filters: dict[str, list],
    since: str | None = None,
    until: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict]:
    """Rows whose ``actor`` / ``role`` / ``case_id`` / ``action`` is one of the listed values and whose
    ``ts`` is in ``[since, until)``, newest first."""
    where, params = _where(filters, since, until)
    sql = f"SELECT * FROM audit_log {where} ORDER BY id DESC"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [int(limit), int(offset)]
    cur = db.conn.execute(sql, params)
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def filtered_count(db, filters: dict[str, list], since: str | None = None, until: str | None = None) -> int:
    where, params = _where(filters, since, until)
    return db.conn.execute(f"SELECT COUNT(*) FROM audit_log {where}", params).fetchone()[0]


def head(db) -> tuple[int, int | None, str | None]:
    """``(row count, last id, last hash)`` of the chain as stored."""
    count = db.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    last = db.conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    return count, (last[0] if last else None), (last[1] if last else None)


def sequence(db) -> int:
    """The highest id AUTOINCREMENT ever handed out (0 when none)."""
    row = db.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").fetchone()
    return int(row[0]) if row else 0


def hash_of(db, row_id: int) -> str | None:
    row = db.conn.execute("SELECT hash FROM audit_log WHERE id = ?", [row_id]).fetchone()
    return row[0] if row else None


def count_through(db, row_id: int) -> int:
    return db.conn.execute("SELECT COUNT(*) FROM audit_log WHERE id <= ?", [row_id]).fetchone()[0]


def purged_after(db, row_id: int) -> bool:
    """Whether a retention purge was recorded after row ``row_id``."""
    return (
        db.conn.execute(
            "SELECT 1 FROM audit_log WHERE action = 'audit.purge' AND id > ? LIMIT 1", [row_id]
        ).fetchone()
        is not None
    )


def purge_bound(db, cutoff_ts: str) -> tuple[int, str] | None:
    """``(id, hash)`` of the last row of the oldest run of rows older than ``cutoff_ts`` (a prefix by id)."""
    first_young = db.conn.execute("SELECT MIN(id) FROM audit_log WHERE ts >= ?", [cutoff_ts]).fetchone()[0]
    if first_young is None:
        row = db.conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    else:
        row = db.conn.execute(
            "SELECT id, hash FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT 1", [first_young]
        ).fetchone()
    return (row[0], row[1]) if row else None


def delete_through(db, row_id: int) -> int:
    return db.conn.execute("DELETE FROM audit_log WHERE id <= ?", [row_id]).rowcount


def last_checkpoint_row(db) -> dict | None:
    """Detail of the newest ``audit.checkpoint`` row (which names its file), or None."""
    row = db.conn.execute(
        "SELECT id, detail FROM audit_log WHERE action = 'audit.checkpoint' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if not row:
        return None
    try:
        detail = json.loads(row[1])
    except ValueError:
        detail = {}
    return {"id": row[0], **(detail if isinstance(detail, dict) else {})}


def distinct_values(db, column: str) -> list[str]:
    """The actors or actions that occur in the trail (the audit page's filters)."""
    if column not in ("actor", "action"):
        raise ValueError("not a filter column")
    return [
        r[0] for r in db.conn.execute(f"SELECT DISTINCT {column} FROM audit_log ORDER BY {column}").fetchall()
    ]
