"""Cases, documents, pages, findings, edits and background jobs (issue 5).

Tables
- ``cases``: one row per imported archive case.  Filterable facts (department,
  dates, review type) are plain; the archive-index record (names, numbers) is
  sealed in ``meta_sealed``; detection seeds in ``seeds_sealed``.
  ``status`` follows the workflow states (待处理 → 检测中 → 待整理 → 待审核 …).
- ``documents``: the case's documents in catalog order, include flag, the
  SHA-256 of the archive file and the path (under the data dir) of the
  encrypted working copy.
- ``pages``: one row per page: size, rotation, scanned flag, viewed flag,
  encrypted render cache path, detection state of the page.
- ``findings``: automatic and manual boxes.  ``text_sealed`` holds the text a
  finding covers, sealed with ``core.crypto.seal_text``; ``fingerprint`` lets
  equal texts be grouped without unsealing.  ``status``: auto | accepted |
  rejected.  ``source`` manual marks boxes drawn by a person.
- ``edits``: every change to a box (add / move / delete / accept / reject /
  hide_all) with before/after geometry — the review history.
- ``jobs``: background tasks (huey task id, kind, status, progress, error).
"""

from __future__ import annotations

VERSION = 1

SCHEMA = """
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    archive_key TEXT NOT NULL,
    department TEXT NOT NULL DEFAULT '',
    admission_date TEXT NOT NULL DEFAULT '',
    discharge_date TEXT NOT NULL DEFAULT '',
    review_type TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '待处理',
    meta_sealed BLOB,
    seeds_sealed BLOB,
    document_count INTEGER NOT NULL DEFAULT 0,
    page_count INTEGER NOT NULL DEFAULT 0,
    pages_done INTEGER NOT NULL DEFAULT 0,
    pages_failed INTEGER NOT NULL DEFAULT 0,
    current_step TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    imported_at REAL,
    detected_at REAL,
    updated_at REAL
);
CREATE INDEX cases_filter ON cases (department, review_type, discharge_date);

CREATE TABLE documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    doc_id TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    date TEXT NOT NULL DEFAULT '',
    catalog_order INTEGER NOT NULL DEFAULT 9999,
    included INTEGER NOT NULL DEFAULT 1,
    source_sha256 TEXT NOT NULL DEFAULT '',
    stored_path TEXT NOT NULL DEFAULT '',
    page_count INTEGER NOT NULL DEFAULT 0,
    UNIQUE (case_id, doc_id)
);

CREATE TABLE pages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    page_index INTEGER NOT NULL,
    width REAL NOT NULL,
    height REAL NOT NULL,
    rotation INTEGER NOT NULL DEFAULT 0,
    scanned INTEGER NOT NULL DEFAULT 0,
    viewed INTEGER NOT NULL DEFAULT 0,
    render_path TEXT NOT NULL DEFAULT '',
    detect_status TEXT NOT NULL DEFAULT 'pending',
    detect_error TEXT NOT NULL DEFAULT '',
    UNIQUE (document_id, page_index)
);
CREATE INDEX pages_case ON pages (case_id);

CREATE TABLE findings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    finding_key TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL,
    rects TEXT NOT NULL,
    detector TEXT NOT NULL DEFAULT '',
    confidence REAL NOT NULL DEFAULT 1.0,
    source TEXT NOT NULL DEFAULT 'text',
    role_hint TEXT NOT NULL DEFAULT '',
    text_sealed BLOB,
    fingerprint TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'auto' CHECK (status IN ('auto', 'accepted', 'rejected')),
    reason TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT 'system',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX findings_page ON findings (page_id);
CREATE INDEX findings_case ON findings (case_id, status);
CREATE INDEX findings_fp ON findings (case_id, fingerprint);

CREATE TABLE edits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    page_id INTEGER,
    finding_id INTEGER,
    action TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    before TEXT,
    after TEXT,
    reason TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX edits_case ON edits (case_id);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('import', 'detect')),
    huey_id TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER NOT NULL DEFAULT 0,
    step TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    actor TEXT NOT NULL DEFAULT 'system',
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
CREATE INDEX jobs_case ON jobs (case_id, id);
"""


def apply(db) -> None:
    for stmt in SCHEMA.split(";"):
        if stmt.strip():
            db.execute(stmt)
