"""Exports and patient codes (issue 7).

Tables
- ``exports``: one row per released file.  Digests, sizes, policy, the
  approval it used and the verification report (locations and masked
  values only) are plain; the file itself is stored sealed (SM4) under the
  export folder (``stored_path``), the signed manifest sealed in
  ``manifest_sealed``.  The patient code is NOT stored here: a row cannot be
  linked to its code without the admin lookup.
- ``patient_codes``: code → case mapping for re-identification by the
  controller.  ``code_hmac`` (HMAC-SM3 of the code under the storage key)
  finds the row; ``mapping_sealed`` holds {code, case_id, export_id},
  sealed.  Read only through ``core.export.store.lookup_patient_code``
  (admin role, each lookup audited).
"""

from __future__ import annotations

VERSION = 200

SCHEMA = """
CREATE TABLE exports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    approval_id INTEGER,
    actor TEXT NOT NULL,
    policy TEXT NOT NULL,
    style TEXT NOT NULL DEFAULT '',
    options TEXT NOT NULL DEFAULT '{}',
    page_count INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL DEFAULT 0,
    sha256 TEXT NOT NULL DEFAULT '',
    sm3 TEXT NOT NULL DEFAULT '',
    counts TEXT NOT NULL DEFAULT '{}',
    verify_ok INTEGER NOT NULL DEFAULT 0,
    verify_report TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'released' CHECK (status IN ('released', 'blocked')),
    stored_path TEXT NOT NULL DEFAULT '',
    manifest_sealed BLOB,
    created_at REAL NOT NULL
);
CREATE INDEX exports_case ON exports (case_id, id);

CREATE TABLE patient_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code_hmac TEXT NOT NULL UNIQUE,
    mapping_sealed BLOB NOT NULL,
    created_at REAL NOT NULL
);
"""


def apply(db) -> None:
    for stmt in SCHEMA.split(";"):
        if stmt.strip():
            db.execute(stmt)
