"""Shared fixtures: every test gets its own data dir (DB, keys, caches)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path, monkeypatch):
    """Point DEID_DATA_DIR (DB, key file, OCR cache, exports) at tmp_path; demo mode on."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("DEID_DATA_DIR", str(data))
    monkeypatch.setenv("DEID_AUDIT_ANCHOR_DIR", str(tmp_path / "audit-anchors"))  # checkpoints: outside the data dir
    # tests run on generated data: demo signing keys may be generated (tests of the
    # refusal outside demo mode remove this)
    monkeypatch.setenv("DEID_DEMO", "1")
    for var in ("DEID_PADES_SIGNER", "DEID_SIGN_CERT", "DEID_SIGN_KEY", "DEID_SM2_KEY", "DEID_SM2_PUBLIC_KEY"):
        monkeypatch.delenv(var, raising=False)
    yield data


@pytest.fixture
def cjk_font() -> str:
    assert os.path.exists(CJK_FONT), "CJK font missing: run `make setup` (fonts-wqy-zenhei)"
    return CJK_FONT
