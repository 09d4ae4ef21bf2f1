import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _factory():
    spec = importlib.util.spec_from_file_location(
        "deid_test_factory", ROOT / "tests" / "store" / "factory.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


factory = _factory()
PASSWORD = "Review-Pass-2024"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Temp data dir + small archive + users; case C2024001 imported and detected."""
    monkeypatch.setenv("DEID_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DEID_ARCHIVE_DIR", str(tmp_path / "archive"))
    monkeypatch.setenv("DEID_BCRYPT_ROUNDS", "4")
    for var in ("DEID_DB", "DEID_HUEY_DB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DEID_KEY_FILE", str(tmp_path / "keyring" / "storage.key"))
    from core.security import auth
    from core.archive import FolderArchive
    from core.cases.processing import run_detect, run_import
    from core.store import jobs
    from core.store.db import open_db

    factory.make_archive(tmp_path / "archive")
    db = open_db()
    users = {}
    for name, role in (("prep1", "preparer"), ("sup1", "supervisor"), ("aud1", "auditor")):
        auth.create_user(db, name, role, PASSWORD, must_change=False)
        users[name] = auth.get_user(db, name)
    run_import(db, jobs.create(db, "C2024001", "import"), FolderArchive(tmp_path / "archive"), "C2024001")
    run_detect(db, jobs.create(db, "C2024001", "detect"), "C2024001")
    return db, users
