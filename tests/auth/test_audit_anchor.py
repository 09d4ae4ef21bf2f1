"""Issue 12, audit trail: every row sealed, the chain head anchored outside the database,
truncation caught, purge atomic.  Real SQLite files; the attacker uses a plain sqlite3
connection to the same file and never holds the key file."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.security import audit, audit_anchor
from core.security.handles import case_handle
from core.store.db import open_db

ROOT = Path(__file__).resolve().parents[2]


def _story(db):
    """A small case history: prepare, submit, approve, export, download."""
    audit.record(db, "prep1", "box.add", case_id="C1", page=1, detail={"category": "patient_name"})
    audit.record(db, "prep1", "case.submit", case_id="C1")
    audit.record(db, "sup1", "case.approve", case_id="C1", detail={"approval_id": 1})
    audit.record(db, "prep1", "export.create", case_id="C1", detail={"export_id": 1})
    audit.record(db, "prep1", "export.download", case_id="C1", detail={"export_id": 1})


def _attacker(db_path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(db_path), isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_log_retention")
    return conn


def _rebuild_chain(conn) -> None:
    """Renumber the ids without gaps and recompute every prev_hash/hash (what anyone can do without the key)."""
    for new_id, (old_id,) in enumerate(
        conn.execute("SELECT id FROM audit_log ORDER BY id").fetchall(), start=1
    ):
        conn.execute("UPDATE audit_log SET id = ? WHERE id = ?", [new_id, old_id])
    conn.execute("UPDATE sqlite_sequence SET seq = (SELECT MAX(id) FROM audit_log) WHERE name = 'audit_log'")
    rows = conn.execute(f"SELECT {', '.join(audit.HASHED_FIELDS)} FROM audit_log ORDER BY id").fetchall()
    prev = audit.GENESIS
    for values in rows:
        row = dict(zip(audit.HASHED_FIELDS, values))
        row["prev_hash"] = prev
        prev = audit.row_hash(row)
        conn.execute(
            "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?", [row["prev_hash"], prev, row["id"]]
        )


def _cli(*args, env_extra=None):
    import os

    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT
    )


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "data" / "deid.sqlite"


def test_issue_attack_rewritten_chain_with_null_macs_fails_verify(db, db_path):
    """The issue's experiment: drop triggers, delete export.create, change the approver,
    recompute the hashes, NULL every mac.  Before: verify passed (no MAC seen = legacy rows)."""
    _story(db)
    conn = _attacker(db_path)
    conn.execute("DELETE FROM audit_log WHERE action = 'export.create'")
    conn.execute("UPDATE audit_log SET actor = 'sup2' WHERE action = 'case.approve'")
    _rebuild_chain(conn)
    conn.execute("UPDATE audit_log SET mac = NULL")
    assert audit.verify_chain(db, check_mac=False)[0] is True  # the plain chain is fooled
    ok, _, broken = audit.verify_chain(db)
    assert not ok and broken == 1  # the very first row lacks its MAC
    assert not audit_anchor.verify(db).ok
    done = _cli("audit", "verify", "--db", str(db_path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BROKEN" in done.stdout


def test_a_single_null_mac_is_a_broken_row(db, db_path):
    _story(db)
    _attacker(db_path).execute("UPDATE audit_log SET mac = NULL WHERE id = 1")
    assert audit.verify_chain(db) == (False, 1, 1)


def test_legacy_rows_pass_only_under_the_sealed_floor(db, db_path):
    """Rows from before MACs existed (migration 110 records their floor) pass on the chain;
    raising the floor to excuse stripped MACs does not work without the key."""
    _story(db)
    conn = _attacker(db_path)
    conn.execute("UPDATE audit_log SET mac = NULL WHERE id <= 2")  # what a pre-MAC store looks like
    db.conn.execute(
        "INSERT OR REPLACE INTO security_settings (key, value) VALUES ('audit_unsealed_through', '2')"
    )
    audit.record(db, "sup1", "case.view", case_id="C1")  # the first writer with the key seals the floor
    assert audit.verify_chain(db) == (True, 6, None)
    conn.execute("UPDATE audit_log SET mac = NULL WHERE id = 3")
    conn.execute("UPDATE security_settings SET value = '3' WHERE key = 'audit_unsealed_through'")
    assert audit.verify_chain(db) == (False, 1, 1)  # floor seal wrong: nothing may lack a MAC


def test_migration_records_the_floor_of_a_pre_mac_store(tmp_path):
    """A store that had audit rows before migration 101: those rows (only) may lack a MAC."""
    from core.store.migrations import m110_audit_anchor

    db = open_db(tmp_path / "data" / "deid.sqlite")
    _story(db)
    conn = _attacker(tmp_path / "data" / "deid.sqlite")
    conn.execute("UPDATE audit_log SET mac = NULL WHERE id <= 3")
    conn.execute("DELETE FROM security_settings WHERE key LIKE 'audit_unsealed%'")
    m110_audit_anchor.apply(db)
    assert (
        db.conn.execute(
            "SELECT value FROM security_settings WHERE key = 'audit_unsealed_through'"
        ).fetchone()[0]
        == "3"
    )


def test_truncating_the_newest_rows_fails_against_the_checkpoint(db, db_path):
    _story(db)
    cp = audit_anchor.write_checkpoint(db, actor="cli:test", reason="test")
    assert cp.path.exists() and cp.path.parent == Path(audit_anchor.anchor_dir())
    assert not str(cp.path).startswith(str(db_path.parent))  # outside the data folder
    assert audit_anchor.verify(db).ok
    conn = _attacker(db_path)
    # remove the export rows and the checkpoint row, then hide the AUTOINCREMENT trace too
    conn.execute("DELETE FROM audit_log WHERE id >= 4")
    conn.execute("UPDATE sqlite_sequence SET seq = 3 WHERE name = 'audit_log'")
    assert audit.verify_chain(db) == (True, 3, None)  # chain and MACs alone cannot see it
    verdict = audit_anchor.verify(db)
    assert not verdict.ok and verdict.checkpoint.last_id == cp.last_id
    assert "truncated" in verdict.problem_en
    done = _cli("audit", "verify", "--db", str(db_path))
    assert done.returncode == 1 and "checkpoint:" in done.stdout and "truncated" in done.stdout


def test_removing_the_tail_after_the_last_insert_is_seen_without_a_checkpoint(db, db_path):
    _story(db)
    _attacker(db_path).execute("DELETE FROM audit_log WHERE id = 5")
    verdict = audit_anchor.verify(db)
    assert not verdict.ok and "newest records were removed" in verdict.problem_en


def test_forged_checkpoint_file_is_refused(db):
    _story(db)
    cp = audit_anchor.write_checkpoint(db, reason="test")
    body = json.loads(cp.path.read_text())
    body["count"], body["last_id"] = 2, 2
    cp.path.write_text(json.dumps(body))
    verdict = audit_anchor.verify(db)
    assert not verdict.ok and "wrong MAC" in verdict.problem_en


def test_deleted_checkpoint_file_is_noticed(db):
    _story(db)
    audit_anchor.write_checkpoint(db, reason="test").path.unlink()
    verdict = audit_anchor.verify(db)
    assert not verdict.ok and "checkpoint file missing" in verdict.problem_en


def test_no_checkpoint_over_a_broken_chain(db, db_path):
    _story(db)
    _attacker(db_path).execute("UPDATE audit_log SET actor = 'sup2' WHERE id = 3")
    with pytest.raises(audit_anchor.AuditChainBroken):
        audit_anchor.write_checkpoint(db, reason="test")
    assert audit_anchor.latest(db) is None


def test_daily_checkpoint_is_written_once_a_day(db):
    _story(db)
    first = audit_anchor.checkpoint_if_due(db, reason="daily")
    assert first is not None
    assert audit_anchor.checkpoint_if_due(db, reason="daily") is None
    later = datetime.now(timezone.utc) + timedelta(days=1, minutes=1)
    again = audit_anchor.checkpoint_if_due(db, reason="daily", now=later)
    assert again is not None and again.last_id > first.last_id


def test_worker_start_writes_the_daily_checkpoint(db, db_path, monkeypatch):
    from core.cases import tasks

    monkeypatch.setenv("DEID_DB", str(db_path))
    _story(db)
    tasks._checkpoint_on_start()
    cp = audit_anchor.latest(db, audit.mac_key())
    assert cp is not None and cp.reason == "worker_start"


def test_app_start_writes_the_daily_checkpoint(db, db_path, monkeypatch):
    from ui import auth as ui_auth

    monkeypatch.setenv("DEID_DB", str(db_path))
    _story(db)
    ui_auth._checkpoint_for_day.clear()
    ui_auth.daily_checkpoint()
    cp = audit_anchor.latest(db, audit.mac_key())
    assert cp is not None and cp.reason == "app_start"


def test_cli_checkpoint_and_verify_print_the_checkpoint(db, db_path):
    _story(db)
    written = _cli("audit", "checkpoint", "--db", str(db_path))
    assert written.returncode == 0, written.stderr
    assert "checkpoint written: 6 records through id 6" in written.stdout
    checked = _cli("audit", "verify", "--db", str(db_path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "checkpoint: 6 records through id 6" in checked.stdout and "MAC valid" in checked.stdout


def test_purge_deletes_and_anchors_in_one_transaction(db, monkeypatch):
    """When the anchor record cannot be written, nothing is deleted (before: rows gone, chain broken)."""
    now = datetime.now(timezone.utc)
    for days in (400, 300, 10):
        audit.record(db, "prep1", "case.view", case_id=f"C{days}", at=now - timedelta(days=days))
    real_record = audit.record

    def failing_record(db_, actor, action, **kw):
        if action == "audit.purge":
            raise OSError("disk full")
        return real_record(db_, actor, action, **kw)

    monkeypatch.setattr(audit, "record", failing_record)
    with pytest.raises(OSError):
        audit.purge_expired(db, now)
    monkeypatch.setattr(audit, "record", real_record)
    assert audit.count(db) == 3 and audit.verify_chain(db) == (True, 3, None)
    assert audit.purge_expired(db, now) == 2
    assert audit.verify_chain(db)[0] and audit_anchor.verify(db).ok


def test_checkpoint_survives_a_later_purge(db):
    now = datetime.now(timezone.utc)
    for days in (400, 300):
        audit.record(db, "prep1", "case.view", case_id=f"C{days}", at=now - timedelta(days=days))
    audit_anchor.write_checkpoint(db, reason="test")  # head: the checkpoint row itself (young)
    audit.record(db, "prep1", "case.view", case_id="young", at=now)
    assert audit.purge_expired(db, now) == 2
    assert audit_anchor.verify(db).ok


def test_next_checkpoint_checks_the_rows_since_the_last_one(db, db_path):
    """Writing a checkpoint walks only the rows after the previous (still matching) head, and refuses
    when one of them was tampered with."""
    _story(db)
    first = audit_anchor.write_checkpoint(db, reason="test")
    audit.record(db, "sup1", "case.view", case_id="C1")
    audit.record(db, "sup1", "case.view", case_id="C2")
    _attacker(db_path).execute("UPDATE audit_log SET actor = 'prep1' WHERE case_id = ?", [case_handle("C2")])
    with pytest.raises(audit_anchor.AuditChainBroken):
        audit_anchor.write_checkpoint(db, reason="test")
    assert audit_anchor.latest(db).last_id == first.last_id


def test_rows_removed_from_the_tail_then_written_past_leave_a_gap(db, db_path):
    """Ids are contiguous: after the newest rows are deleted, the next record's id jumps (AUTOINCREMENT)."""
    _story(db)
    _attacker(db_path).execute("DELETE FROM audit_log WHERE id >= 4")
    audit.record(db, "sup1", "case.view", case_id="C1")  # the app writes on, unaware
    ok, _, broken = audit.verify_chain(db)
    assert not ok and broken == 6
