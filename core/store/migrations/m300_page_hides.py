"""Whole-page redaction (issue 13).

- ``pages.hide_reason``: '' (the page is redacted box by box) or the code of
  a reason from ``core/rules/page_hide_reasons.yaml`` (the whole page is
  hidden: the export shows it black with the reason's name).  A code, never
  free text, so it may be shown and audited as it is.

A trigger keeps it read-only while the case is in 待审核, like the boxes.
"""

from __future__ import annotations

from core.store.migrations.m150_review_gates import IN_REVIEW
from core.store.migrations.script import run_script

VERSION = 300

SCHEMA = f"""
ALTER TABLE pages ADD COLUMN hide_reason TEXT NOT NULL DEFAULT '';

CREATE TRIGGER pages_hide_read_only_in_review
BEFORE UPDATE OF hide_reason ON pages
WHEN (SELECT status FROM cases WHERE id = OLD.case_id) IN {IN_REVIEW}
BEGIN
    SELECT RAISE(ABORT, 'case in review is read-only');
END;
"""


def apply(db) -> None:
    run_script(db, SCHEMA)
