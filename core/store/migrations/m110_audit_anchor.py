"""The audit trail's seal floor and store identity (issue 12).

- ``security_settings.audit_unsealed_through``: the id of the last audit row
  written before rows carried a MAC (0 / absent on a store created with
  MACs).  Every later row must carry a valid MAC.  The value is itself
  MAC'd (``audit_unsealed_through_mac``) under the audit key, so raising it
  to excuse stripped MACs is caught; a missing or wrong seal means 0.
- ``security_settings.store_id``: random id naming this store's chain-head
  checkpoint files (``core.security.audit_anchor``), which live outside the database.
"""

from __future__ import annotations

import secrets

VERSION = 110


def apply(db) -> None:
    conn = db.conn
    if not conn.execute("SELECT 1 FROM security_settings WHERE key = 'store_id'").fetchone():
        conn.execute(
            "INSERT INTO security_settings (key, value) VALUES ('store_id', ?)", [secrets.token_hex(16)]
        )
    first_sealed = conn.execute("SELECT MIN(id) FROM audit_log WHERE mac IS NOT NULL").fetchone()[0]
    last = conn.execute("SELECT MAX(id) FROM audit_log").fetchone()[0]
    unsealed_through = (first_sealed - 1) if first_sealed is not None else (last or 0)
    if unsealed_through > 0:  # a store with rows from before MACs existed
        conn.execute(
            "INSERT OR REPLACE INTO security_settings (key, value) VALUES ('audit_unsealed_through', ?)",
            [str(unsealed_through)],
        )
