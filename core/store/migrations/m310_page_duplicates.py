"""Duplicate pages of a case (issue 13).

Tables
- ``page_signatures``: per page, a perceptual hash of its greyscale render
  (dHash, 256 bits as hex) and the box of its content on the render
  (fractions of width / height, JSON).  Neither carries readable content.
- ``page_duplicates``: a page found to repeat an earlier page of the same case
  (``dup_of``), with the score and the method (``text`` / ``image``).  Written at
  processing time, replaced on each detection.
"""

from __future__ import annotations

from core.store.migrations.script import run_script

VERSION = 310

SCHEMA = """
CREATE TABLE page_signatures (
    page_id INTEGER PRIMARY KEY REFERENCES pages(id) ON DELETE CASCADE,
    case_id TEXT NOT NULL,
    dhash TEXT NOT NULL DEFAULT '',
    content_box TEXT NOT NULL DEFAULT '[0, 0, 1, 1]',
    ink REAL NOT NULL DEFAULT 0
);
CREATE INDEX page_signatures_case ON page_signatures (case_id);

CREATE TABLE page_duplicates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    dup_of INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    score REAL NOT NULL DEFAULT 0,
    method TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    UNIQUE (page_id, dup_of)
);
CREATE INDEX page_duplicates_case ON page_duplicates (case_id);
"""


def apply(db) -> None:
    run_script(db, SCHEMA)
