"""Encrypted working files under the data dir (PDF copies, page renders).

Folders are named by a digest of the case id (never the id itself, which may
be a record number); every file is sealed with ``core.crypto.seal``.
Paths stored in the database are relative to ``settings().data_dir``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from core.config import settings
from core.crypto import seal, sha256_hex, unseal


def case_handle(case_id: str) -> str:
    """The opaque name of a case outside the database (folders, blob names, worker tasks)."""
    return sha256_hex(("case|" + case_id).encode())[:20]


def case_folder(case_id: str) -> str:
    return "cases/" + case_handle(case_id)


def absolute(rel: str) -> Path:
    return settings().data_dir / rel


def write_sealed(rel: str, data: bytes) -> str:
    path = absolute(rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(seal(data))
    os.replace(tmp, path)
    return rel


def read_sealed(rel: str) -> bytes:
    return unseal(read_raw(rel))


def read_raw(rel: str) -> bytes:
    """The stored bytes as they are (still sealed)."""
    return absolute(rel).read_bytes()


def remove(rel: str) -> None:
    if rel:
        absolute(rel).unlink(missing_ok=True)


def exists(rel: str) -> bool:
    return bool(rel) and absolute(rel).is_file()


def remove_case_files(case_id: str) -> None:
    shutil.rmtree(absolute(case_folder(case_id)), ignore_errors=True)
