"""Fixtures for the accounts / audit / workflow tests: a real SQLite store in tmp_path."""

from __future__ import annotations

import pytest

from core.security import auth
from core.store.db import open_db


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("DEID_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DEID_BCRYPT_ROUNDS", "4")  # fast hashes in tests; production default 12


@pytest.fixture
def db(tmp_path):
    return open_db(tmp_path / "data" / "deid.sqlite")


def add_case(db, case_id: str, status: str | None = None) -> None:
    """Insert a case row, filling whatever NOT NULL columns the cases migration requires."""
    cols = db.conn.execute("PRAGMA table_info(cases)").fetchall()
    values = {"id": case_id}
    for _, name, ctype, notnull, default, pk in cols:
        if name in values or pk or not notnull or default is not None:
            continue
        values[name] = 0 if "INT" in (ctype or "").upper() or "REAL" in (ctype or "").upper() else ""
    if status is not None:
        values["status"] = status
    names = list(values)
    db.conn.execute(
        f"INSERT INTO cases ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        [values[n] for n in names],
    )


@pytest.fixture
def users(db):
    """One active user per role (plus a second preparer and supervisor), must-change off."""
    made = {}
    for name, role in (
        ("prep1", "preparer"),
        ("prep2", "preparer"),
        ("sup1", "supervisor"),
        ("sup2", "supervisor"),
        ("aud1", "auditor"),
        ("adm1", "admin"),
    ):
        user, pw = auth.create_user(db, name, role, must_change=False)
        made[name] = {**user, "password": pw}
    return made


@pytest.fixture
def make_case(db):
    """``make_case("C1")`` inserts a case row (status default of the cases migration)."""

    def _make(case_id: str, status: str | None = None) -> str:
        add_case(db, case_id, status)
        return case_id

    return _make
