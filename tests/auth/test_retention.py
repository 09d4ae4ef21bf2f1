"""Retention: nothing younger than 180 days is ever deleted; purge keeps the chain verifiable."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from core.security import audit, auth
from core.errors import DeidError
from core.security.handles import case_handle

NOW = datetime.now(timezone.utc)


def _aged(db):
    for days in (400, 300, 200, 100, 10):
        audit.record(db, "prep1", "case.view", case_id=f"C{days}", at=NOW - timedelta(days=days))


def test_purge_deletes_only_expired_rows_and_chain_stays_intact(db):
    _aged(db)
    assert audit.purge_expired(db, NOW) == 3
    left = [r["case_id"] for r in audit.rows(db)]
    assert left[-2:] == [case_handle("C10"), case_handle("C100")]  # newest first; purge record on top
    assert audit.rows(db)[0]["action"] == "audit.purge"
    assert audit.verify_chain(db)[0] is True


def test_purge_refuses_young_rows_even_with_a_future_clock(db):
    _aged(db)
    # a clock set 5 years ahead would make every row "old"; the floor uses the real time
    audit.purge_expired(db, NOW + timedelta(days=5 * 365))
    assert {r["case_id"] for r in audit.rows(db)} >= {case_handle("C100"), case_handle("C10")}
    assert audit.verify_chain(db)[0] is True


def test_retention_setting_cannot_go_below_180(db):
    _aged(db)
    with pytest.raises(DeidError):
        auth.set_setting(db, "audit_retention_days", "90", actor="adm1")
    auth.set_setting(db, "audit_retention_days", "365", actor="adm1")
    assert audit.purge_expired(db, NOW) == 1  # only the 400-day row
    assert audit.verify_chain(db)[0] is True


def test_trigger_blocks_young_delete_directly(db):
    _aged(db)
    with pytest.raises(sqlite3.DatabaseError):
        db.conn.execute("DELETE FROM audit_log")
    db.conn.execute(
        "DELETE FROM audit_log WHERE case_id = ?", [case_handle("C400")]
    )  # old enough: allowed by the trigger
    # deleting the oldest row without a purge record is visible to the verifier
    ok, _, broken = audit.verify_chain(db)
    assert not ok and broken == 2


def test_purge_stops_at_first_young_row(db):
    audit.record(db, "prep1", "case.view", case_id="old1", at=NOW - timedelta(days=500))
    audit.record(db, "prep1", "case.view", case_id="young", at=NOW - timedelta(days=5))
    audit.record(db, "prep1", "case.view", case_id="old2", at=NOW - timedelta(days=500))  # clock skew
    assert audit.purge_expired(db, NOW) == 1
    assert {r["case_id"] for r in audit.rows(db)} >= {case_handle("young"), case_handle("old2")}
    assert audit.verify_chain(db)[0] is True
