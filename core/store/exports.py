"""SQL of exports and patient codes (tables of migrations 200–299; ``core.export.store``).

Callers seal values (``core.store.sealed``) with the row id from ``next_id``
inside their transaction and pass them in; nothing here logs or unseals.
"""

from __future__ import annotations


def insert_released(db, export_id: int, row: dict) -> None:
    """The ``exports`` row of a released export (``row``: case_id, approval_id, actor, policy, style,
    options, page_count, size, sha256, sm3, counts, verify_report, stored_path, manifest_sealed, created_at)."""
    db.conn.execute(
        "INSERT INTO exports (id, case_id, approval_id, actor, policy, style, options, page_count, size, sha256, sm3, "
        "counts, verify_ok, verify_report, status, stored_path, manifest_sealed, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'released', ?, ?, ?)",
        [
            export_id,
            row["case_id"],
            row["approval_id"],
            row["actor"],
            row["policy"],
            row["style"],
            row["options"],
            row["page_count"],
            row["size"],
            row["sha256"],
            row["sm3"],
            row["counts"],
            1,
            row["verify_report"],
            row["stored_path"],
            row["manifest_sealed"],
            row["created_at"],
        ],
    )


def insert_blocked(
    db,
    case_id: str,
    approval_id: int | None,
    actor: str,
    policy: str,
    style: str,
    options: str,
    verify_report: str,
    created_at: float,
) -> int:
    """The ``exports`` row of an export the leak gate blocked; returns its id."""
    cur = db.conn.execute(
        "INSERT INTO exports (case_id, approval_id, actor, policy, style, options, verify_ok, verify_report, status, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, 'blocked', ?)",
        [case_id, approval_id, actor, policy, style, options, verify_report, created_at],
    )
    return cur.lastrowid


def insert_patient_code(db, code_id: int, code_hmac: str, mapping_sealed: bytes, created_at: float) -> None:
    db.conn.execute(
        "INSERT INTO patient_codes (id, code_hmac, mapping_sealed, created_at) VALUES (?, ?, ?, ?)",
        [code_id, code_hmac, mapping_sealed, created_at],
    )


def exports_of_case(db, case_id: str) -> list[dict]:
    """The case's exports, newest first (no stored path, no sealed manifest)."""
    cur = db.conn.execute(
        "SELECT id, case_id, approval_id, actor, policy, style, page_count, size, sha256, sm3, counts, verify_ok, "
        "verify_report, status, created_at FROM exports WHERE case_id = ? ORDER BY id DESC",
        [case_id],
    )
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def export_row(db, export_id: int) -> dict | None:
    cur = db.conn.execute("SELECT * FROM exports WHERE id = ?", [export_id])
    row = cur.fetchone()
    return dict(zip([c[0] for c in cur.description], row)) if row else None


def patient_code_row(db, code_hmac: str) -> tuple[int, bytes] | None:
    """``(id, mapping_sealed)`` of the patient code with this HMAC, or None."""
    row = db.conn.execute(
        "SELECT id, mapping_sealed FROM patient_codes WHERE code_hmac = ?", [code_hmac]
    ).fetchone()
    return (row[0], row[1]) if row else None
