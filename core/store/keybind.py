"""Which key a store belongs to (``security_settings.storage_key_id``).

``open_db`` calls ``ensure_key_for_store``: an empty store gets a new key and
records its id; a store that holds data (or was bound) is refused when the
key file is missing (``KeyMissing``) or is another store's (``KeyMismatch``).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from core.crypto import Keyring, KeyMismatch, KeyMissing, key_path, load_keyring, old_default_hint, write_keyring

DATA_TABLES = ("cases", "audit_log", "users", "exports", "patient_codes")
STORE_KEY_SETTING = "storage_key_id"


def store_has_data(db_path: Path | str) -> bool:
    """True when the SQLite file at ``db_path`` has rows in any table that needs the key."""
    p = Path(db_path)
    if not p.is_file() or p.stat().st_size == 0:
        return False
    conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=30)
    try:
        return _has_data(conn)
    finally:
        conn.close()


def _has_data(conn) -> bool:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "security_settings" in tables and conn.execute(
            "SELECT 1 FROM security_settings WHERE key = ?", [STORE_KEY_SETTING]).fetchone():
        return True
    return any(conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone() for t in DATA_TABLES if t in tables)


def ensure_key_for_store(db) -> Keyring:
    """Bind the open store to its key: create the key only for an empty store.

    Raises ``KeyMissing`` when the store holds data (or was bound to a key)
    and the key file is absent, ``KeyMismatch`` when the key file is not the
    one the store was bound to.
    """
    p = key_path()
    conn = db.conn
    if not p.exists():
        if _has_data(conn):
            raise KeyMissing(p, old_default_hint(p))
        write_keyring(Keyring.generate(), p)
    ring = load_keyring(p)
    row = conn.execute("SELECT value FROM security_settings WHERE key = ?", [STORE_KEY_SETTING]).fetchone()
    if row is None:
        conn.execute("INSERT OR IGNORE INTO security_settings (key, value) VALUES (?, ?)", [STORE_KEY_SETTING, ring.root_id])
        row = conn.execute("SELECT value FROM security_settings WHERE key = ?", [STORE_KEY_SETTING]).fetchone()
    if row[0] != ring.root_id:
        raise KeyMismatch(p)
    return ring
