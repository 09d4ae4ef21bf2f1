"""Hash chain: intact chains verify; editing, deleting or re-ordering rows is detected and named."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from core.security import audit


def _fill(db, n=10):
    for i in range(n):
        audit.record(
            db,
            "prep1",
            "box.add",
            case_id="C1",
            page=i,
            detail={"rect": [i, i, i + 10, i + 10], "category": "patient_name"},
        )


def _raw(db_path):
    conn = sqlite3.connect(db_path, isolation_level=None)
    # an attacker with file access can drop the guard triggers; the chain must still catch it
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_log_retention")
    return conn


def test_intact_chain_verifies(db):
    _fill(db)
    ok, count, broken = audit.verify_chain(db)
    assert (ok, count, broken) == (True, 10, None)
    rows = db.conn.execute("SELECT prev_hash, hash FROM audit_log ORDER BY id").fetchall()
    assert rows[0][0] == audit.GENESIS
    for (_, h), (p, _) in zip(rows, rows[1:]):
        assert p == h


def test_edited_row_is_detected(db, tmp_path):
    _fill(db)
    conn = _raw(tmp_path / "data" / "deid.sqlite")
    conn.execute("UPDATE audit_log SET actor = 'sup1' WHERE id = 4")
    assert audit.verify_chain(db) == (False, 4, 4)


def test_edited_detail_with_recomputed_hash_breaks_next_link(db, tmp_path):
    _fill(db)
    row = dict(
        zip(
            audit.HASHED_FIELDS,
            db.conn.execute(
                f"SELECT {', '.join(audit.HASHED_FIELDS)} FROM audit_log WHERE id = 6"
            ).fetchone(),
        )
    )
    row["detail"] = json.dumps({"rect": [0, 0, 1, 1]})
    conn = _raw(tmp_path / "data" / "deid.sqlite")
    conn.execute(
        "UPDATE audit_log SET detail = ?, hash = ? WHERE id = 6", [row["detail"], audit.row_hash(row)]
    )
    ok, _, broken = audit.verify_chain(db, check_mac=False)
    assert not ok and broken == 7  # the plain chain breaks at the next link
    assert audit.verify_chain(db)[2] == 6  # the keyed seal names the edited row itself


def test_deleted_row_is_detected(db, tmp_path):
    _fill(db)
    conn = _raw(tmp_path / "data" / "deid.sqlite")
    conn.execute("DELETE FROM audit_log WHERE id = 5")
    ok, _, broken = audit.verify_chain(db)
    assert not ok and broken == 6


def test_deleted_first_row_is_detected(db, tmp_path):
    _fill(db)
    _raw(tmp_path / "data" / "deid.sqlite").execute("DELETE FROM audit_log WHERE id = 1")
    assert audit.verify_chain(db) == (False, 1, 2)


def test_triggers_block_update_and_young_delete(db):
    _fill(db, 3)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.conn.execute("UPDATE audit_log SET actor = 'x' WHERE id = 2")
    with pytest.raises(sqlite3.DatabaseError, match="180 days"):
        db.conn.execute("DELETE FROM audit_log WHERE id = 2")
    assert audit.verify_chain(db) == (True, 3, None)


def test_identifier_keys_are_masked(db):
    row = audit.record(
        db,
        "prep1",
        "box.add",
        detail={"text": "张三丰", "category": "patient_name", "password": "Secret123!"},
    )
    detail = json.loads(row["detail"])
    assert "张三丰" not in row["detail"] and detail["text"].startswith("张") and detail["password"] == "***"
    assert "Secret123" not in row["detail"]


def test_role_is_looked_up_from_users(db, users):
    assert audit.record(db, "sup1", "case.view", case_id="C9")["role"] == "supervisor"


def test_filters(db, users):
    audit.record(db, "prep1", "case.view", case_id="A")
    audit.record(db, "sup1", "case.approve", case_id="A")
    audit.record(db, "sup1", "case.view", case_id="B")
    assert [r["action"] for r in audit.rows(db, actor="sup1")] == ["case.view", "case.approve"]
    assert audit.count(db, case_id="A") == 2
    assert audit.count(db, role="supervisor", action="case.view") == 1
    future = datetime.now(timezone.utc) + timedelta(days=1)
    assert audit.count(db, since=future) == 0


def test_cli_verify_exit_codes(db, tmp_path):
    _fill(db, 4)
    path = str(tmp_path / "data" / "deid.sqlite")
    code = (
        "import sys, argparse\n"
        "from core.cli.commands import audit as a\n"
        "p = argparse.ArgumentParser(); s = p.add_subparsers(); a.register(s)\n"
        "args = p.parse_args(sys.argv[1:]); sys.exit(args.func(args))\n"
    )
    ok = subprocess.run(
        [sys.executable, "-c", code, "audit", "verify", "--db", path], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert "4 records" in ok.stdout
    _raw(path).execute("UPDATE audit_log SET case_id = 'C2' WHERE id = 3")
    bad = subprocess.run(
        [sys.executable, "-c", code, "audit", "verify", "--db", path], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "record id 3" in bad.stdout


def test_rebuilt_chain_is_caught_by_the_keyed_seal(db, tmp_path):
    """An insider edits a row and recomputes every later hash (no key): the MAC names the row."""
    _fill(db)
    conn = _raw(tmp_path / "data" / "deid.sqlite")
    rows = conn.execute(f"SELECT {', '.join(audit.HASHED_FIELDS)} FROM audit_log ORDER BY id").fetchall()
    prev = None
    for values in rows:
        row = dict(zip(audit.HASHED_FIELDS, values))
        if row["id"] == 4:
            row["actor"] = "sup1"
        if prev is not None:
            row["prev_hash"] = prev
        prev = audit.row_hash(row)
        conn.execute(
            "UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE id = ?",
            [row["actor"], row["prev_hash"], prev, row["id"]],
        )
    assert audit.verify_chain(db, check_mac=False) == (True, 10, None)  # the plain chain is fooled
    assert audit.verify_chain(db) == (False, 4, 4)  # the keyed seal is not


def test_missing_mac_after_sealed_rows_is_detected(db, tmp_path):
    _fill(db, 5)
    _raw(tmp_path / "data" / "deid.sqlite").execute("UPDATE audit_log SET mac = NULL WHERE id = 3")
    assert audit.verify_chain(db) == (False, 3, 3)


def test_verify_without_key_file_checks_the_chain_only(db, tmp_path, monkeypatch):
    _fill(db, 5)
    monkeypatch.setenv("DEID_KEY_FILE", str(tmp_path / "elsewhere" / "no.key"))
    assert audit.verify_chain(db) == (True, 5, None)
    assert not (tmp_path / "elsewhere" / "no.key").exists()  # never creates a key to verify


def test_writing_with_another_key_is_refused(db, tmp_path, monkeypatch):
    _fill(db, 2)
    other = tmp_path / "other.key"
    other.write_text("11" * 16)
    monkeypatch.setenv("DEID_KEY_FILE", str(other))
    with pytest.raises(audit.AuditKeyMismatch):
        audit.record(db, "prep1", "case.view")
    assert audit.count(db) == 2
