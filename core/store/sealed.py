"""Sealed columns of the store: one list, one way to seal and open them.

Every sealed value is bound to its place (``core.crypto.row_aad``: table,
row id, column), so a blob copied into another row or column fails to
open.  Rows get their id before the value is sealed (``next_id`` inside the
writing transaction).  ``SEALED_COLUMNS`` is what ``key rotate`` re-seals;
a new sealed column must be listed here.

Free text typed by people (box reasons, submission notes, return reasons,
approval comments) is sealed like identifier text: it may name someone.
Rows written before sealing hold plain text and are read as such (and
sealed by the next ``key rotate``).
"""

from __future__ import annotations

from core.crypto import is_sealed, row_aad, seal, unseal

# (table, id column, sealed column, free text: plain legacy values are sealed by rotation)
SEALED_COLUMNS: tuple[tuple[str, str, str, bool], ...] = (
    ("cases", "id", "meta_sealed", False),
    ("cases", "id", "seeds_sealed", False),
    ("findings", "id", "text_sealed", False),
    ("findings", "id", "reason", True),
    ("edits", "id", "reason", True),
    ("exports", "id", "manifest_sealed", False),
    ("patient_codes", "id", "mapping_sealed", False),
    ("case_events", "id", "reason", True),
    ("approvals", "id", "comment", True),
    ("plan_snapshots", "id", "payload_sealed", False),
    ("submissions", "id", "override_reason_sealed", True),
    ("job_tasks", "id", "seeds_sealed", False),
)


def seal_value(table: str, row_id, column: str, value: str | bytes) -> bytes:
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return seal(data, aad=row_aad(table, row_id, column))


def open_bytes(table: str, row_id, column: str, blob) -> bytes:
    return unseal(bytes(blob), aad=row_aad(table, row_id, column))


def open_value(table: str, row_id, column: str, value) -> str:
    """The text of a sealed value ('' for NULL/empty; plain text of old rows as it is)."""
    if value is None or value == "" or value == b"":
        return ""
    if is_sealed(value):
        return open_bytes(table, row_id, column, value).decode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        raise ValueError("not a sealed blob")
    return str(value)


def seal_free_text(table: str, row_id, column: str, text: str | None):
    """Free text typed by a person, sealed; empty stays empty (NULL when None)."""
    if text is None:
        return None
    return seal_value(table, row_id, column, text) if text.strip() else ""


def next_id(db, table: str) -> int:
    """The id the next row of an AUTOINCREMENT ``table`` gets (call inside the writing transaction)."""
    conn = db.conn
    top = conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
    seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", [table]).fetchone()
    return max(top, seq[0] if seq else 0) + 1


def insert_row(db, table: str, row: dict, sealed: dict[str, str | bytes | None]) -> int:
    """Insert ``row`` with the ``sealed`` columns sealed and bound to the new row's id."""
    from core.store.tx import transaction

    with transaction(db):
        row_id = next_id(db, table)
        values = {"id": row_id, **row}
        for column, value in sealed.items():
            if value is None or (isinstance(value, str) and not value.strip()):
                values[column] = value
            else:
                values[column] = seal_value(table, row_id, column, value)
        cols = list(values)
        db.conn.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            [values[c] for c in cols],
        )
    return row_id


def reseal_rows(db) -> int:
    """Re-seal every sealed value under the current key, bound to its row
    (``key rotate``); plain free text of old rows is sealed on the way.
    One transaction: all or nothing.  Returns the number of values written."""
    from core.store.tx import transaction

    conn = db.conn
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    written = 0
    with transaction(db):
        for table, id_col, column, free_text in SEALED_COLUMNS:
            if table not in tables:
                continue
            rows = conn.execute(
                f"SELECT {id_col}, {column} FROM {table} WHERE {column} IS NOT NULL AND {column} != ''"
            ).fetchall()
            for row_id, value in rows:
                if is_sealed(value):
                    data = unseal(bytes(value), aad=row_aad(table, row_id, column))
                elif free_text and isinstance(value, str) and value.strip():
                    data = value.encode("utf-8")
                else:
                    continue
                conn.execute(
                    f"UPDATE {table} SET {column} = ? WHERE {id_col} = ?",
                    [seal(data, aad=row_aad(table, row_id, column)), row_id],
                )
                written += 1
    return written
