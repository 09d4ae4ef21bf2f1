"""Which key a store belongs to (``security_settings.storage_key_id``).

``open_db`` calls ``ensure_key_for_store``: an empty store gets a new key and
records its id; a store that holds data (or was bound) is refused when the
key file is missing (``KeyMissing``) or is another store's (``KeyMismatch``).
"""

from __future__ import annotations

from core.crypto import (
    Keyring,
    KeyMismatch,
    KeyMissing,
    key_path,
    load_keyring,
    old_default_hint,
    write_keyring,
)
from core.store.probe import STORE_KEY_SETTING, connection_has_data


def ensure_key_for_store(db) -> Keyring:
    """Bind the open store to its key: create the key only for an empty store.

    Raises ``KeyMissing`` when the store holds data (or was bound to a key)
    and the key file is absent, ``KeyMismatch`` when the key file is not the
    one the store was bound to.
    """
    p = key_path()
    conn = db.conn
    if not p.exists():
        if connection_has_data(conn):
            raise KeyMissing(p, old_default_hint(p))
        write_keyring(Keyring.generate(), p)
    ring = load_keyring(p)
    row = conn.execute("SELECT value FROM security_settings WHERE key = ?", [STORE_KEY_SETTING]).fetchone()
    if row is None:
        conn.execute(
            "INSERT OR IGNORE INTO security_settings (key, value) VALUES (?, ?)",
            [STORE_KEY_SETTING, ring.root_id],
        )
        row = conn.execute(
            "SELECT value FROM security_settings WHERE key = ?", [STORE_KEY_SETTING]
        ).fetchone()
    if row[0] != ring.root_id:
        raise KeyMismatch(p)
    return ring
