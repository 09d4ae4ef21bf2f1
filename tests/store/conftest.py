import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    d = tmp_path / "data"
    monkeypatch.setenv("DEID_DATA_DIR", str(d))
    monkeypatch.setenv("DEID_ARCHIVE_DIR", str(tmp_path / "archive"))
    for var in ("DEID_DB", "DEID_HUEY_DB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DEID_KEY_FILE", str(tmp_path / "keyring" / "storage.key"))
    return d


@pytest.fixture
def db(data_dir):
    from core.store.db import open_db

    return open_db()


@pytest.fixture
def archive_root(tmp_path):
    from factory import make_archive

    return make_archive(tmp_path / "archive")
