"""``python -m core.cli user …`` / ``audit verify`` / ``demo-users`` as a server administrator runs them."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from core.security import audit, auth
from core.store.db import open_db

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, env_dir):
    env = {**os.environ, "DEID_DATA_DIR": str(env_dir), "DEID_BCRYPT_ROUNDS": "4", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT
    )


def test_user_commands_are_audited_and_verify_detects_tampering(tmp_path):
    data = tmp_path / "data"
    added = cli("user", "add", "nurse1", "--role", "preparer", env_dir=data)
    assert added.returncode == 0, added.stderr
    temp_pw = added.stdout.strip().split()[-1]
    db = open_db(data / "deid.sqlite")
    assert auth.authenticate(db, "nurse1", temp_pw)["must_change"] == 1
    assert cli("user", "add", "nurse1", "--role", "preparer", env_dir=data).returncode != 0
    reset = cli("user", "reset-password", "nurse1", env_dir=data)
    assert reset.returncode == 0 and temp_pw not in reset.stdout
    assert cli("user", "disable", "nurse1", env_dir=data).returncode == 0
    assert auth.get_user(db, "nurse1")["disabled"] == 1
    actions = [r["action"] for r in audit.rows(db)][::-1]
    assert actions[:4] == ["user.add", "auth.login", "user.reset_password", "user.disable"]
    assert all(r["actor"].startswith("cli") for r in audit.rows(db) if r["action"].startswith("user."))

    ok = cli("audit", "verify", "--db", str(data / "deid.sqlite"), env_dir=data)
    assert ok.returncode == 0 and "intact: 4 records" in ok.stdout
    conn = sqlite3.connect(data / "deid.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER audit_log_retention")
    conn.execute("DELETE FROM audit_log WHERE id = 2")
    bad = cli("audit", "verify", "--db", str(data / "deid.sqlite"), env_dir=data)
    assert bad.returncode == 1 and "record id 3" in bad.stdout


def test_demo_users_printed_once(tmp_path):
    first = cli("demo-users", env_dir=tmp_path / "data")
    assert first.returncode == 0 and first.stdout.count("\n") >= 5
    lines = [l.split("\t") for l in first.stdout.splitlines() if l.startswith("  ")]
    db = open_db(tmp_path / "data" / "deid.sqlite")
    for _, username, pw in lines:
        assert auth.authenticate(db, username, pw)["must_change"] == 0
    second = cli("demo-users", env_dir=tmp_path / "data")
    assert second.returncode == 0 and lines[0][2] not in second.stdout


def test_setup_token_command_then_first_admin(tmp_path):
    out = cli("user", "setup-token", env_dir=tmp_path / "data")
    assert out.returncode == 0
    token = out.stdout.strip().split()[-1]
    db = open_db(tmp_path / "data" / "deid.sqlite")
    assert auth.create_first_admin(db, token, "boss", "Admin-Pass-2024")["role"] == "admin"
    again = cli("user", "setup-token", env_dir=tmp_path / "data")
    assert "no token" in again.stdout


def test_verify_with_a_foreign_or_missing_key_file(tmp_path):
    data = tmp_path / "data"
    assert cli("demo-users", env_dir=data).returncode == 0
    db_path = str(data / "deid.sqlite")
    env_missing = {"DEID_KEY_FILE": str(tmp_path / "nokey" / "k")}
    missing = _cli_env(env_missing, "audit", "verify", "--db", db_path, env_dir=data)
    assert missing.returncode == 0 and "hash chain only" in missing.stdout
    assert not (tmp_path / "nokey" / "k").exists()
    foreign = tmp_path / "foreign.key"
    foreign.write_text("00" * 16)
    wrong = _cli_env({"DEID_KEY_FILE": str(foreign)}, "audit", "verify", "--db", db_path, env_dir=data)
    assert wrong.returncode == 1 and "does not match" in wrong.stdout
    chain = _cli_env(
        {"DEID_KEY_FILE": str(foreign)}, "audit", "verify", "--chain-only", "--db", db_path, env_dir=data
    )
    assert chain.returncode == 0
    ok = cli("audit", "verify", env_dir=data)
    assert ok.returncode == 0 and "keyed seals" in ok.stdout


def _cli_env(extra, *args, env_dir):
    env = {
        **os.environ,
        "DEID_DATA_DIR": str(env_dir),
        "DEID_BCRYPT_ROUNDS": "4",
        "PYTHONPATH": str(ROOT),
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT
    )
