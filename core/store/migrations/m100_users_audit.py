"""Users, the hash-chained audit trail, review workflow tables (issue 6).

Tables
- ``users``: accounts (bcrypt hash, role, must-change, lockout counters, disabled).
  Rows are never deleted: disabled users stay so old records remain attributable.
- ``audit_log``: append-only, hash-chained (see ``core.security.audit``).  Triggers
  block UPDATE of any row and DELETE of rows younger than 180 days.
- ``approvals``: one row per approval, with the frozen redaction-plan hash.
- ``case_events``: every status transition of a case (who, from, to, reason).
- ``security_settings``: key/value settings of this area (idle timeout, retention).
- ``setup_tokens``: hashed one-time token for creating the first admin.
"""

from __future__ import annotations

from core.store.migrations.script import run_script

VERSION = 100

RETENTION_FLOOR_DAYS = 180

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL CHECK (role IN ('preparer', 'supervisor', 'auditor', 'admin')),
    password_hash TEXT NOT NULL,
    must_change INTEGER NOT NULL DEFAULT 1,
    disabled INTEGER NOT NULL DEFAULT 0,
    failed_count INTEGER NOT NULL DEFAULT 0,
    locked_until REAL,
    created_at REAL NOT NULL,
    password_changed_at REAL,
    last_login_at REAL
);

CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT,
    action TEXT NOT NULL,
    case_id TEXT,
    page INTEGER,
    detail TEXT NOT NULL DEFAULT '{{}}',
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS audit_log_ts ON audit_log (ts);
CREATE INDEX IF NOT EXISTS audit_log_case ON audit_log (case_id);
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor);
CREATE INDEX IF NOT EXISTS audit_log_action ON audit_log (action);

CREATE TRIGGER IF NOT EXISTS audit_log_no_update
BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER IF NOT EXISTS audit_log_retention
BEFORE DELETE ON audit_log
WHEN julianday(OLD.ts) > julianday('now', '-{RETENTION_FLOOR_DAYS} days')
BEGIN
    SELECT RAISE(ABORT, 'audit rows younger than {RETENTION_FLOOR_DAYS} days cannot be deleted');
END;

CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    prepared_by TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    comment TEXT,
    approved_at REAL NOT NULL,
    superseded_at REAL,
    superseded_reason TEXT
);
CREATE INDEX IF NOT EXISTS approvals_case ON approvals (case_id);

CREATE TABLE IF NOT EXISTS case_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    event TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    actor TEXT NOT NULL,
    reason TEXT,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS case_events_case ON case_events (case_id);

CREATE TABLE IF NOT EXISTS security_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS setup_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    used_at REAL
);
"""


def apply(db) -> None:
    run_script(db, SCHEMA)
