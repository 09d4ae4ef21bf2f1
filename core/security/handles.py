"""Opaque case handles: what URLs (``?case=``), task arguments, logs and the
audit trail carry instead of the case id (which may be a record number).

``case_handle(case_id)`` = ``"k"`` + 19 hex digits of HMAC-SHA256 under the
installation's root key (``core.crypto.storage_key``, which never rotates):
stable, the same in every process, and not computable from a record number
without the key.  Only the store maps a handle back to its case
(``core.store.cases.case_for_handle``).
"""

from __future__ import annotations

import hashlib
import hmac
import re

from core.crypto import storage_key

HANDLE_RE = re.compile(r"k[0-9a-f]{19}")


def case_handle(case_id: str) -> str:
    if is_handle(case_id):
        return case_id
    mac = hmac.new(storage_key(), b"case-handle|" + str(case_id).encode("utf-8"), hashlib.sha256).hexdigest()
    return "k" + mac[:19]


def is_handle(value) -> bool:
    return isinstance(value, str) and HANDLE_RE.fullmatch(value) is not None
