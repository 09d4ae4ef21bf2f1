"""A read-only look at a store file before it is opened: does it already hold data that needs its key?

Imports nothing of ``core`` (``core.crypto`` asks it before creating a key, ``core.store.keybind`` when
binding the store), so neither depends on the other through it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

DATA_TABLES = ("cases", "audit_log", "users", "exports", "patient_codes")
STORE_KEY_SETTING = "storage_key_id"


def store_has_data(db_path: Path | str) -> bool:
    """True when the SQLite file at ``db_path`` has rows in any table that needs the key."""
    p = Path(db_path)
    if not p.is_file() or p.stat().st_size == 0:
        return False
    conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=30)
    try:
        return connection_has_data(conn)
    finally:
        conn.close()


def connection_has_data(conn) -> bool:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if (
        "security_settings" in tables
        and conn.execute("SELECT 1 FROM security_settings WHERE key = ?", [STORE_KEY_SETTING]).fetchone()
    ):
        return True
    return any(conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone() for t in DATA_TABLES if t in tables)
