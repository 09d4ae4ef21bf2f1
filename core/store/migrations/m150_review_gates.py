"""Review gates of the two-person rule (issue 12).

Tables
- ``plan_snapshots``: the redaction plan (documents with digest and page
  count, boxes as geometry and category) behind a fingerprint, sealed; a
  fingerprint shown to a supervisor or submitted can later be compared with
  the current plan (what changed).
- ``page_views``: who opened which page when (the approval records the pages
  its supervisor opened).
- ``submissions``: each submission with its progress (pages viewed, open
  boxes) and, when incomplete, the override and its reason (sealed).
- ``approvals``: gain the pages the supervisor opened and the submission.

Triggers make a case in 待审核 read-only in the store itself: no box may be
added, changed or deleted and no document included or excluded, whatever
code path tries (a second browser tab, a script).  The status column holds
codes or Chinese display names (see ``core.cases.workflow``): both are matched.
"""

from __future__ import annotations

from core.store.migrations.script import run_script

VERSION = 150

IN_REVIEW = "('in_review', '待审核')"

SCHEMA = f"""
CREATE TABLE plan_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    payload_sealed BLOB NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (case_id, plan_hash)
);

CREATE TABLE page_views (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    page_id INTEGER NOT NULL,
    doc_id TEXT NOT NULL DEFAULT '',
    page_index INTEGER NOT NULL DEFAULT 0,
    actor TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX page_views_case ON page_views (case_id, actor, at);

CREATE TABLE submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    pages_total INTEGER NOT NULL DEFAULT 0,
    pages_viewed INTEGER NOT NULL DEFAULT 0,
    open_boxes INTEGER NOT NULL DEFAULT 0,
    override INTEGER NOT NULL DEFAULT 0,
    override_reason_sealed BLOB,
    at REAL NOT NULL
);
CREATE INDEX submissions_case ON submissions (case_id, id);

ALTER TABLE approvals ADD COLUMN submission_id INTEGER;
ALTER TABLE approvals ADD COLUMN pages_opened TEXT NOT NULL DEFAULT '[]';
ALTER TABLE approvals ADD COLUMN pages_total INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER findings_read_only_in_review_insert
BEFORE INSERT ON findings
WHEN (SELECT status FROM cases WHERE id = NEW.case_id) IN {IN_REVIEW}
BEGIN
    SELECT RAISE(ABORT, 'case in review is read-only');
END;

CREATE TRIGGER findings_read_only_in_review_update
BEFORE UPDATE ON findings
WHEN (SELECT status FROM cases WHERE id = OLD.case_id) IN {IN_REVIEW}
BEGIN
    SELECT RAISE(ABORT, 'case in review is read-only');
END;

CREATE TRIGGER findings_read_only_in_review_delete
BEFORE DELETE ON findings
WHEN (SELECT status FROM cases WHERE id = OLD.case_id) IN {IN_REVIEW}
BEGIN
    SELECT RAISE(ABORT, 'case in review is read-only');
END;

CREATE TRIGGER documents_read_only_in_review_update
BEFORE UPDATE ON documents
WHEN (SELECT status FROM cases WHERE id = OLD.case_id) IN {IN_REVIEW}
BEGIN
    SELECT RAISE(ABORT, 'case in review is read-only');
END;

CREATE TRIGGER documents_read_only_in_review_delete
BEFORE DELETE ON documents
WHEN (SELECT status FROM cases WHERE id = OLD.case_id) IN {IN_REVIEW}
BEGIN
    SELECT RAISE(ABORT, 'case in review is read-only');
END;

CREATE TRIGGER documents_read_only_in_review_insert
BEFORE INSERT ON documents
WHEN (SELECT status FROM cases WHERE id = NEW.case_id) IN {IN_REVIEW}
BEGIN
    SELECT RAISE(ABORT, 'case in review is read-only');
END;
"""


def apply(db) -> None:
    run_script(db, SCHEMA)
