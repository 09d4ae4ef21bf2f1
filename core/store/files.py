"""Encrypted working files under the data dir (PDF copies, page renders).

Folders are named by the case's opaque handle (a keyed digest, never the id
itself, which may be a record number); every file is sealed with ``core.crypto.seal``, bound
to its relative path (associated data), so files cannot be swapped.
Paths stored in the database are relative to ``settings().data_dir``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from core.config import settings
from core.crypto import file_aad, seal, sha256_hex, unseal
from core.security.handles import case_handle  # keyed: a record number cannot be tried against it


def case_folder(case_id: str) -> str:
    return "cases/" + case_handle(case_id)


def _unkeyed_case_folder(case_id: str) -> str:
    """Folder name of stores written before handles (an unkeyed digest); still read via stored paths."""
    return "cases/" + sha256_hex(("case|" + case_id).encode())[:20]


def absolute(rel: str) -> Path:
    return settings().data_dir / rel


def write_sealed(rel: str, data: bytes) -> str:
    path = absolute(rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(seal(data, aad=file_aad("data", rel)))
    os.replace(tmp, path)
    return rel


def read_sealed(rel: str) -> bytes:
    """The plain bytes of a sealed working file (bound to its path: a file moved elsewhere fails)."""
    return unseal(read_raw(rel), aad=file_aad("data", rel))


def read_raw(rel: str) -> bytes:
    """The stored bytes as they are (still sealed)."""
    return absolute(rel).read_bytes()


def remove(rel: str) -> None:
    if rel:
        absolute(rel).unlink(missing_ok=True)


def exists(rel: str) -> bool:
    return bool(rel) and absolute(rel).is_file()


def remove_case_files(case_id: str) -> None:
    for folder in (case_folder(case_id), _unkeyed_case_folder(case_id)):
        shutil.rmtree(absolute(folder), ignore_errors=True)
