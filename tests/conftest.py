"""Shared fixtures: every test gets its own data dir (DB, keys, caches)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pytest_configure(config):
    """Session-wide guard: a fixture that runs before the per-test one below
    (module scope) must not reach the developer's ~/.config/deid key or the
    clone's data/ store either."""
    import tempfile

    session = Path(tempfile.mkdtemp(prefix="deid-test-session-"))
    os.environ["XDG_CONFIG_HOME"] = str(session / "xdg-config")
    os.environ["DEID_DATA_DIR"] = str(
        session / "data"
    )  # never the clone's data/ (a demo store may live there)


CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path, monkeypatch):
    """Point DEID_DATA_DIR (DB, OCR cache, exports) and DEID_KEY_FILE (outside
    the data dir, as in production) at tmp_path; XDG_CONFIG_HOME too, so no
    test ever reads or writes the developer's ~/.config/deid key."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("DEID_DATA_DIR", str(data))
    monkeypatch.setenv("DEID_KEY_FILE", str(key_file_for(tmp_path)))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv(
        "DEID_AUDIT_ANCHOR_DIR", str(tmp_path / "audit-anchors")
    )  # checkpoints: outside the data dir
    # tests run on generated data: demo signing keys may be generated (tests of the
    # refusal outside demo mode remove this)
    monkeypatch.setenv("DEID_DEMO", "1")
    for var in (
        "DEID_PADES_SIGNER",
        "DEID_SIGN_CERT",
        "DEID_SIGN_KEY",
        "DEID_SM2_KEY",
        "DEID_SM2_PUBLIC_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    yield data


def key_file_for(tmp_path: Path) -> Path:
    """Where a test's storage key lives: beside, not inside, its data dir."""
    return tmp_path / "keyring" / "storage.key"


@pytest.fixture
def cjk_font() -> str:
    assert os.path.exists(CJK_FONT), "CJK font missing: run `make setup` (fonts-wqy-zenhei)"
    return CJK_FONT
