"""Storage key: where it lives, refusal without it, key ids, row binding, rotation, backup (issue 12)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core import crypto
from core.store.db import open_db

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args, env_extra=None, input_text=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DEID_BCRYPT_ROUNDS": "4", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        input=input_text,
        timeout=120,
    )


def _store_with_data():
    from core.security import auth

    db = open_db()
    auth.create_user(db, "prep1", "preparer", "Review-Pass-2024", must_change=False)
    return db


def test_default_key_lives_outside_the_data_dir_with_mode_0600(data_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("DEID_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home-config"))
    open_db()
    key = tmp_path / "home-config" / "deid" / "storage.key"
    assert crypto.key_path() == key and key.is_file()
    assert data_dir not in key.parents
    assert not list(Path(data_dir).rglob("*.key"))
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700


def test_store_with_data_and_no_key_refuses_and_creates_nothing(data_dir, tmp_path, monkeypatch):
    _store_with_data().conn.close()
    wrong = tmp_path / "wrong-path" / "storage.key"
    monkeypatch.setenv("DEID_KEY_FILE", str(wrong))
    with pytest.raises(crypto.KeyMissing):
        open_db()
    with pytest.raises(crypto.KeyMissing):  # a worker sealing lazily is refused too
        crypto.seal(b"x")
    assert not wrong.exists()
    out = _cli("user", "list", env_extra={"DEID_KEY_FILE": str(wrong)})
    assert out.returncode == 2, out.stderr
    assert (
        "不会自动生成新密钥" in out.stderr and "key restore" in out.stderr and "Traceback" not in out.stderr
    )
    assert not wrong.exists()


def test_store_with_data_and_key_in_the_old_default_place_says_where_to_move_it(
    data_dir, tmp_path, monkeypatch
):
    _store_with_data().conn.close()
    old = Path(data_dir) / "keys" / "storage.key"
    old.parent.mkdir(parents=True)
    old.write_bytes(crypto.key_path().read_bytes())
    monkeypatch.delenv("DEID_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "fresh-config"))
    with pytest.raises(crypto.KeyMissing) as err:
        open_db()
    assert str(old) in err.value.message_en


def test_another_stores_key_is_refused(data_dir, tmp_path, monkeypatch):
    _store_with_data().conn.close()
    other = tmp_path / "other.key"
    crypto.write_keyring(crypto.Keyring.generate(), other)
    monkeypatch.setenv("DEID_KEY_FILE", str(other))
    with pytest.raises(crypto.KeyMismatch):
        open_db()


def test_empty_store_gets_a_key_on_first_start(data_dir):
    assert not crypto.key_path().exists()
    db = open_db()
    assert crypto.key_path().is_file()
    assert (
        db.conn.execute("SELECT value FROM security_settings WHERE key = 'storage_key_id'").fetchone()[0]
        == crypto.load_keyring().root_id
    )


def test_app_shows_an_error_page_without_the_key(data_dir, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    _store_with_data().conn.close()
    monkeypatch.setenv("DEID_KEY_FILE", str(tmp_path / "gone" / "storage.key"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert any("存储密钥不可用" in e.value for e in at.error)
    assert not (tmp_path / "gone" / "storage.key").exists()
