"""Jobs remember the archive folder they import (issue 12).

Task arguments carry only the job id; the worker reads the case and the
archive key from the ``jobs`` row, so no case id or folder name (which may
be a record number) sits in the queue.
"""
from __future__ import annotations

VERSION = 2


def apply(db) -> None:
    cols = {row[1] for row in db.conn.execute("PRAGMA table_info(jobs)").fetchall()}
    if "archive_key" not in cols:
        db.conn.execute("ALTER TABLE jobs ADD COLUMN archive_key TEXT NOT NULL DEFAULT ''")
