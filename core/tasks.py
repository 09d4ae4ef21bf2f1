"""Background tasks on huey: import and detect cases outside the page script.

Embedded default: ``SqliteHuey`` on ``settings().huey_db`` (one server; the
consumer is started by ``make run``)::

    .venv/bin/huey_consumer core.tasks.huey -w 2 -k thread

Several machines: set ``DEID_HUEY_BACKEND=redis`` and ``DEID_REDIS_URL``
(e.g. ``redis://queue-host:6379/0``) for the app and for every worker; all
must share the same store (``DEID_DB`` / ``DEID_DATA_DIR`` on shared storage).

Task arguments are the job id, the acting user name and flags — never a case
id or archive folder (a case id may be a record number); the worker reads
both from the ``jobs`` row.

The SQLite file is resolved when a connection is opened, so a process that
changes ``DEID_DATA_DIR`` / ``DEID_HUEY_DB`` (tests) gets the new queue.
"""
from __future__ import annotations

import os
from pathlib import Path

from huey import RedisHuey, SqliteHuey
from huey.storage import SqliteStorage

from core.config import settings

QUEUE_NAME = "deid"


class SettingsSqliteStorage(SqliteStorage):
    """SqliteStorage whose file follows ``settings().huey_db``."""

    def __init__(self, name="huey", **kwargs):
        kwargs["create_tables"] = False
        super().__init__(name=name, filename="", **kwargs)
        self._opened_for = None

    @property
    def conn(self):
        path = str(settings().huey_db)
        if self._conn is None or self._opened_for != path:
            if self._conn is not None:
                self._conn.close()
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.filename = path
            conn = self._create_connection()
            for ddl in self.ddl:  # initialize_schema() would re-enter self.lock
                conn.execute(ddl)
            self._conn = conn
            self._opened_for = path
        return self._conn


class DeidSqliteHuey(SqliteHuey):
    storage_class = SettingsSqliteStorage


def make_huey():
    backend = os.environ.get("DEID_HUEY_BACKEND", "sqlite").lower()
    if backend == "redis":
        return RedisHuey(QUEUE_NAME, url=os.environ.get("DEID_REDIS_URL", "redis://localhost:6379/0"))
    return DeidSqliteHuey(QUEUE_NAME, immediate=os.environ.get("DEID_HUEY_IMMEDIATE") == "1")


huey = make_huey()


def _db(job_id: int):
    """The store, bound to its key.  Without the key (a worker pointed at the
    wrong key file) the job is marked failed with the reason — that needs no
    key — and the task stops: nothing is sealed under a stray new key."""
    from core.crypto import KeyError_
    from core.store import jobs as job_store
    from core.store.db import open_db

    try:
        return open_db()
    except KeyError_ as exc:
        bare = open_db(check_key=False)
        job_store.finish(bare, job_id, job_store.FAILED, exc.message)
        bare.conn.close()
        raise


@huey.task()
def import_case_task(job_id: int, actor: str = "system", detect: bool = True):
    """Arguments carry no case id or archive folder: both are read from the job row."""
    from core.archive import default_archive
    from core.processing import run_import
    from core.store import jobs as job_store

    db = _db(job_id)
    archive_key = job_store.get(db, job_id)["archive_key"]
    ok = run_import(db, job_id, default_archive(), archive_key, actor)
    if ok and detect:
        case_id = default_archive().read_manifest(archive_key).case_id
        detect_job = job_store.create(db, case_id, "detect", actor)
        _enqueue(db, detect_job, detect_case_task, detect_job, actor)
    db.conn.close()
    return ok


@huey.task()
def detect_case_task(job_id: int, actor: str = "system"):
    from core.processing import run_detect
    from core.store import jobs as job_store

    db = _db(job_id)
    case_id = job_store.get(db, job_id)["case_id"]
    ok = run_detect(db, job_id, case_id, actor)
    if ok:
        _warm_renders(db, case_id)
    db.conn.close()
    return ok


def _warm_renders(db, case_id: str) -> None:
    """Fill the encrypted render cache so the review page switches pages fast."""
    import logging

    from core import review

    try:
        review.warm_renders(db, case_id)
    except Exception as exc:  # a render problem must not fail the detection job
        logging.getLogger(__name__).warning("render cache: %s", type(exc).__name__)


def _enqueue(db, job_id: int, task, *args) -> int:
    from core.store import jobs as job_store

    result = task(*args)
    task_id = getattr(result, "id", None) or getattr(getattr(result, "task", None), "id", "")
    job_store.update(db, job_id, huey_id=str(task_id or ""))
    return job_id


# ---- what the app calls ---------------------------------------------------------

def _actor(db, user, action: str, case_id: str) -> str:
    """A user dict is checked against the role table; a plain name is a trusted caller (CLI, worker)."""
    if isinstance(user, dict):
        from core.auth import require

        require(user, action, db, case_id=case_id)
        return user["username"]
    return str(user)


def enqueue_import(db, archive_key: str, case_id: str, user, detect: bool = True) -> int:
    """Queue the import (then detection) of one archive case; returns the job id."""
    from core.store import jobs as job_store

    actor = _actor(db, user, "case.import", case_id)

    running = job_store.active(db, case_id)
    if running:
        return running["id"]
    job_id = job_store.create(db, case_id, "import", actor, archive_key=archive_key)
    return _enqueue(db, job_id, import_case_task, job_id, actor, detect)


def enqueue_detect(db, case_id: str, user) -> int:
    """Queue (re-)detection of an imported case (also the 'retry' action)."""
    from core.store import jobs as job_store

    actor = _actor(db, user, "case.detect", case_id)

    running = job_store.active(db, case_id)
    if running:
        return running["id"]
    job_id = job_store.create(db, case_id, "detect", actor)
    return _enqueue(db, job_id, detect_case_task, job_id, actor)


def cancel_job(db, job_id: int, user) -> None:
    """Ask a job to stop: a queued task is revoked, a running one stops at its next page.

    Asking again for a job that is still marked running (its worker died) closes it,
    so the case can be imported or detected again.
    """
    from core.audit import record
    from core.store import jobs as job_store

    job = job_store.get(db, job_id)
    if not job or job["status"] not in job_store.ACTIVE:
        return
    actor = _actor(db, user, "case.cancel", job["case_id"])
    forced = bool(job["cancel_requested"])  # asked before and still active: its worker is gone
    job_store.request_cancel(db, job_id)
    if job["status"] == job_store.QUEUED and job["huey_id"]:
        huey.revoke_by_id(job["huey_id"])
        job_store.finish(db, job_id, job_store.CANCELLED)
    elif forced:
        job_store.finish(db, job_id, job_store.CANCELLED, "强制取消 / force-cancelled")
    record(db, actor, "job.cancel", case_id=job["case_id"], detail={"job": job_id, "kind": job["kind"], "forced": forced})
