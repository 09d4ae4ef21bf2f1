"""Audit rows get a keyed seal (issue 6).

``audit_log.mac`` = HMAC-SHA256 of the row's ``hash`` under a key derived
from the storage key (the key file lives outside the database).  The plain
hash chain shows that rows were changed; the MAC shows that nobody rebuilt
the chain afterwards without the key.
"""

from __future__ import annotations

VERSION = 101


def apply(db) -> None:
    cols = {row[1] for row in db.conn.execute("PRAGMA table_info(audit_log)").fetchall()}
    if "mac" not in cols:
        db.conn.execute("ALTER TABLE audit_log ADD COLUMN mac TEXT")
