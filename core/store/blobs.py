"""Where a worker gets the sealed working copies it analyses (issue 14).

A blob is a sealed byte string (``core.crypto.seal``) under a name that holds
no identifier: ``cases/<case handle>/docs/<document digest>.pdf.sealed`` for a
working copy, ``cases/<case handle>/jobs/<job token>.meta.sealed`` for the
archive-index record a detection job needs.  Two stores:

- ``LocalBlobs`` (default): files under ``settings().data_dir``.  A working
  copy *is* its blob (``core.store.documents`` writes it under the same name),
  so the embedded worker reads what the app stored, with no copy.
- ``RedisBlobs`` (``DEID_BLOB_STORE=redis``, the default with
  ``DEID_HUEY_BACKEND=redis``): keys ``deid:blob:<name>`` on the queue's own
  Redis (``DEID_REDIS_URL``), with a safety expiry (``DEID_BLOB_TTL_S``,
  default one day) for jobs whose app side died.  Workers need no shared
  file system.

Nothing here unseals: a blob stays sealed in every store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from core.config import settings

REDIS_PREFIX = "deid:blob:"
DEFAULT_TTL_S = 86400


class BlobStore(Protocol):
    #: True when the app must upload working copies before a job (they are not already there)
    remote: bool

    def put(self, name: str, sealed: bytes) -> None: ...

    def get(self, name: str) -> bytes: ...

    def exists(self, name: str) -> bool: ...

    def delete(self, name: str) -> None: ...


class BlobMissing(LookupError):
    """The named blob is not in the store (never uploaded, expired or removed)."""


def document_blob(case_handle: str, doc_digest: str) -> str:
    return f"cases/{_safe(case_handle)}/docs/{_safe(doc_digest)}.pdf.sealed"


def meta_blob(case_handle: str, job_token: str) -> str:
    return f"cases/{_safe(case_handle)}/jobs/{_safe(job_token)}.meta.sealed"


def _safe(part: str) -> str:
    """Handles, digests and tokens are opaque, but never a path (no '/', no '..')."""
    part = str(part)
    if not part or "/" in part or "\\" in part or part.startswith("."):
        raise ValueError("not a blob name part")
    return part


class LocalBlobs:
    remote = False

    def __init__(self, root: Path | None = None):
        self._root = root

    @property
    def root(self) -> Path:
        return self._root or settings().data_dir

    def _path(self, name: str) -> Path:
        return self.root / name

    def put(self, name: str, sealed: bytes) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(sealed)
        os.replace(tmp, path)

    def get(self, name: str) -> bytes:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            raise BlobMissing("blob not found") from None

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)


class RedisBlobs:
    remote = True

    def __init__(self, conn, ttl_s: int = DEFAULT_TTL_S):
        self.conn = conn
        self.ttl_s = ttl_s

    def put(self, name: str, sealed: bytes) -> None:
        self.conn.set(REDIS_PREFIX + name, sealed, ex=self.ttl_s)

    def get(self, name: str) -> bytes:
        value = self.conn.get(REDIS_PREFIX + name)
        if value is None:
            raise BlobMissing("blob not found")
        return value

    def exists(self, name: str) -> bool:
        return bool(self.conn.exists(REDIS_PREFIX + name))

    def delete(self, name: str) -> None:
        self.conn.delete(REDIS_PREFIX + name)


def redis_url() -> str:
    return os.environ.get("DEID_REDIS_URL", "redis://localhost:6379/0")


_redis_clients: dict[str, object] = {}


def _redis_conn(url: str):
    import redis

    if url not in _redis_clients:
        _redis_clients[url] = redis.Redis.from_url(url)
    return _redis_clients[url]


def blob_store_kind() -> str:
    default = "redis" if os.environ.get("DEID_HUEY_BACKEND", "sqlite").lower() == "redis" else "local"
    kind = os.environ.get("DEID_BLOB_STORE", default).lower()
    if kind not in ("local", "redis"):
        raise ValueError("DEID_BLOB_STORE must be local or redis")
    return kind


def blob_store() -> BlobStore:
    """The store this process is configured for (read from the environment each call)."""
    if blob_store_kind() == "redis":
        ttl = int(os.environ.get("DEID_BLOB_TTL_S", str(DEFAULT_TTL_S)))
        return RedisBlobs(_redis_conn(redis_url()), ttl_s=ttl)
    return LocalBlobs()
