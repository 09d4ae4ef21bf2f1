"""Settings from environment variables (documented in README, Configuration).

Everything has a default that works for the bundled demo; a hospital sets
the variables in the service unit.  ``settings()`` re-reads the environment
each call so tests can point at temporary folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_path: Path
    key_file: Path
    ocr_cache_dir: Path
    archive_dir: Path
    export_dir: Path
    huey_db: Path
    ocr_dpi: int
    ocr_threads: int
    workers: int


def default_key_file() -> Path:
    """``$XDG_CONFIG_HOME/deid/storage.key`` (``~/.config/deid/``): outside the data folder,
    so copying or backing up the data never copies its key."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "deid" / "storage.key"


def settings() -> Settings:
    env = os.environ.get
    data = Path(env("DEID_DATA_DIR", str(PROJECT_ROOT / "data")))
    return Settings(
        data_dir=data,
        db_path=Path(env("DEID_DB", str(data / "deid.sqlite"))),
        key_file=Path(env("DEID_KEY_FILE", str(default_key_file()))),
        ocr_cache_dir=Path(env("DEID_OCR_CACHE_DIR", str(data / "cache" / "ocr"))),
        archive_dir=Path(env("DEID_ARCHIVE_DIR", str(data / "demo_archive"))),
        export_dir=Path(env("DEID_EXPORT_DIR", str(data / "exports"))),
        huey_db=Path(env("DEID_HUEY_DB", str(data / "huey.sqlite"))),
        ocr_dpi=int(env("DEID_OCR_DPI", "150")),
        ocr_threads=int(env("DEID_OCR_THREADS", "2")),
        workers=int(env("DEID_WORKERS", str(min(2, os.cpu_count() or 1)))),
    )
