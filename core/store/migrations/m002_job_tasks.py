"""Stateless workers (issue 14): detection jobs split into per-document tasks.

- ``jobs`` gains ``token`` (random; names the job's keys in the work queue's
  store, so nothing there carries a case id), ``archive_key`` (an import job
  reads it here instead of from its task arguments) and ``entered_detecting``
  (the job moved the case to 检测中 and must move it on when it ends).
- ``job_tasks``: one row per attempt at one document of a detection job: the
  work-queue task id, the worker that ran it (``host:pid``), pages done, the
  last heartbeat seen and when (the app's clock), and the seeds it found
  (sealed) and how many new
  findings its result added.  ``status``: queued → running → done | failed | cancelled | lost
  | revoked.  The partial unique index lets a document's result be applied
  once per job, whatever happens to the workers.
"""

from __future__ import annotations

VERSION = 2

SCHEMA = """
ALTER TABLE jobs ADD COLUMN token TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN archive_key TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN entered_detecting INTEGER NOT NULL DEFAULT 0;

CREATE TABLE job_tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL DEFAULT 1,
    huey_id TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled', 'lost', 'revoked')),
    worker TEXT NOT NULL DEFAULT '',
    pages_total INTEGER NOT NULL DEFAULT 0,
    pages_done INTEGER NOT NULL DEFAULT 0,
    beat TEXT NOT NULL DEFAULT '',
    beat_seen_at REAL,
    seeds_sealed BLOB,
    findings_new INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    submitted_at REAL NOT NULL,
    finished_at REAL,
    UNIQUE (job_id, document_id, attempt)
);
CREATE INDEX job_tasks_job ON job_tasks (job_id, status);
CREATE UNIQUE INDEX job_tasks_applied_once ON job_tasks (job_id, document_id) WHERE status = 'done'
"""


def apply(db) -> None:
    for stmt in SCHEMA.split(";"):
        if stmt.strip():
            db.execute(stmt)
