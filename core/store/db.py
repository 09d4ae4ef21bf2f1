"""Open the SQLite store and bring its schema up to date.

Schema changes are migrations: modules listed in
``core/store/migrations/__init__.py`` (``MIGRATIONS``), each with an integer
``VERSION`` (unique) and ``apply(db)``.  Applied versions are recorded in
``schema_migrations``; each runs once, in version order, in a transaction.
Areas own number ranges: 1–99 cases/documents/pages/findings/jobs,
100–199 users/audit/workflow, 200–299 exports/patient codes.
"""

from __future__ import annotations

import importlib
import sqlite3
import time
from pathlib import Path

import sqlite_utils

from core.config import settings
from core.store.keybind import ensure_key_for_store
from core.store.migrations import MIGRATIONS


def open_db(
    path: str | Path | None = None, migrate: bool = True, check_key: bool = True
) -> sqlite_utils.Database:
    """Open (and migrate) the store, then bind it to its storage key.

    ``check_key`` (default) refuses a store that holds data when its key file
    is missing or is another store's key (``core.crypto.KeyMissing`` /
    ``KeyMismatch``, exit 2); an empty store gets a new key.  Only commands
    that must work without the key (``audit verify --chain-only``) pass False.
    """
    path = Path(path) if path else settings().db_path
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    db = sqlite_utils.Database(conn)
    if migrate:
        apply_migrations(db)
        if check_key:
            ensure_key_for_store(db)
    return db


def apply_migrations(db: sqlite_utils.Database) -> list[int]:
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at REAL)"
    )
    done = {row[0] for row in db.execute("SELECT version FROM schema_migrations").fetchall()}
    modules = sorted((importlib.import_module(m) for m in MIGRATIONS), key=lambda m: m.VERSION)
    applied = []
    for mod in modules:
        if mod.VERSION in done:
            continue
        with db.conn:  # one transaction per migration
            db.conn.execute("BEGIN")
            mod.apply(db)
            db.conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (mod.VERSION, mod.__name__.rsplit(".", 1)[-1], time.time()),
            )
        applied.append(mod.VERSION)
    return applied
