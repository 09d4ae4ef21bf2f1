"""Background tasks on huey: import and detect cases outside the page script.

Two roles (issue 14):

- **App side** (``app_huey``, always a SqliteHuey on ``settings().huey_db``):
  import (reads the archive, writes the store) and the detection *writer*
  (``detect_case_task`` submits one task per document, ``pump_detect_task``
  applies results and re-schedules itself until the job ends).  Only these
  touch SQLite.  Their arguments are job ids only.
- **Work side** (``huey``): ``analyze_document_task`` (``core.cases.worker``),
  stateless; its arguments are a job token, a case handle and a document
  digest.  Embedded default: the same SqliteHuey as the app side, so one
  consumer runs everything::

      .venv/bin/huey_consumer core.cases.tasks.huey -w 2 -k thread

  Scaled out (``DEID_HUEY_BACKEND=redis``, ``DEID_REDIS_URL``): a Redis queue;
  the app server runs ``huey_consumer core.cases.tasks.app_huey``, every worker
  machine ``huey_consumer core.cases.tasks.huey``.  Workers get the sealed working
  copies from Redis (``core.store.blobs``) and need no shared file system.

Task arguments are the job id, the acting user name and flags — never a case
id or archive folder (a case id may be a record number); the worker reads
both from the ``jobs`` row.

The SQLite file is resolved when a connection is opened, so a process that
changes ``DEID_DATA_DIR`` / ``DEID_HUEY_DB`` (tests) gets the new queue.
"""

from __future__ import annotations

import os

from huey import RedisExpireHuey, crontab

from core.store.queue import DeidSqliteHuey

QUEUE_NAME = "deid"

PUMP_DELAY_S = 0.5  # the writer's next scheduled round (run at the consumer's next scheduler tick)
PUMP_ROUND_S = 0.2  # between rounds inside one writer slice
PUMP_SLICE_S = 30.0  # how long one writer task keeps its thread (separate app queue only)


def scaled_out() -> bool:
    return os.environ.get("DEID_HUEY_BACKEND", "sqlite").lower() == "redis"


def _immediate() -> bool:
    return os.environ.get("DEID_HUEY_IMMEDIATE") == "1"


def make_huey():
    """The work queue: Redis when scaled out (results and heartbeats expire after a day), else SQLite."""
    if scaled_out():
        from core.store.blobs import redis_url

        expire = int(os.environ.get("DEID_BLOB_TTL_S", "86400"))
        return RedisExpireHuey(QUEUE_NAME, url=redis_url(), expire_time=expire, immediate=_immediate())
    return DeidSqliteHuey(QUEUE_NAME, immediate=_immediate())


huey = make_huey()
app_huey = DeidSqliteHuey(QUEUE_NAME, immediate=_immediate()) if scaled_out() else huey


def _register_work_task():
    from core.cases.workqueue import register_analyze

    return register_analyze(huey)


analyze_document_task = _register_work_task()


def work_queue():
    """The app side's view of the work queue (blob store from the environment)."""
    from core.cases.workqueue import HueyWorkQueue

    return HueyWorkQueue(huey, analyze_document_task)


@app_huey.on_startup()
def _checkpoint_on_start():
    """App-side consumer start (the only SQLite writer): anchor the audit chain head outside the database if a day has passed."""
    _daily_checkpoint(reason="worker_start")


@app_huey.periodic_task(crontab(minute="7", hour="3"))
def daily_audit_checkpoint():
    _daily_checkpoint(reason="daily")


def _daily_checkpoint(reason: str) -> None:
    from core.security.audit_anchor import checkpoint_if_due

    db = _db()
    try:
        checkpoint_if_due(db, reason=reason)
    finally:
        db.conn.close()


def _db(job_id: int | None = None):
    """The store, bound to its key.  Without the key (a consumer pointed at the
    wrong key file) the job is marked failed with the reason — that needs no
    key — and the task stops: nothing is sealed under a stray new key."""
    from core.crypto import KeyError_
    from core.store import jobs as job_store
    from core.store.db import open_db

    try:
        return open_db()
    except KeyError_ as exc:
        if job_id is None:
            raise
        bare = open_db(check_key=False)
        job_store.finish(bare, job_id, job_store.FAILED, exc.message)
        bare.conn.close()
        raise


@app_huey.task()
def import_case_task(job_id: int, detect: bool = True):
    from core.archive import default_archive
    from core.cases.processing import run_import
    from core.store import jobs as job_store

    db = _db(job_id)
    job = job_store.require(db, job_id)
    ok = run_import(db, job_id, default_archive(), job["archive_key"], job["actor"])
    if ok and detect:
        detect_job = job_store.create(db, job["case_id"], "detect", job["actor"])
        _enqueue(db, detect_job, detect_case_task, detect_job)
    db.conn.close()
    return ok


@app_huey.task()
def detect_case_task(job_id: int):
    """The writer's first round: publish blobs, submit the documents, then pump."""
    from core.cases.processing import start_detect

    db = _db(job_id)
    try:
        if start_detect(db, job_id, work_queue()):
            _pump(db, job_id)
    finally:
        db.conn.close()


@app_huey.task()
def pump_detect_task(job_id: int):
    db = _db(job_id)
    try:
        _pump(db, job_id)
    finally:
        db.conn.close()


def _pump(db, job_id: int) -> None:
    """Writer rounds until the job ends, or a slice, then the rest is re-scheduled.

    Embedded (one queue for both roles): one round per scheduled task, so a
    consumer thread never waits on work that needs that same thread.  With a
    separate app queue (scaled out) a round every ``PUMP_ROUND_S`` for up to
    ``PUMP_SLICE_S`` (cancels reach the workers within a round).  Immediate
    mode: rounds until the end.
    """
    import logging
    import time

    from core.cases.processing import pump_detect
    from core.store import jobs as job_store

    queue = work_queue()
    slice_end = time.monotonic() + (PUMP_SLICE_S if app_huey is not huey else 0)
    while True:
        try:
            finished = pump_detect(db, job_id, queue)
        except Exception as exc:  # queue or store briefly unreachable: try again next round
            logging.getLogger(__name__).warning("detection writer: %s", type(exc).__name__)
            finished = False
        if finished:
            job = job_store.get(db, job_id)
            if job and job["status"] == job_store.DONE:
                _warm_renders(db, job["case_id"])
            return
        if not app_huey.immediate and time.monotonic() >= slice_end:
            pump_detect_task.schedule((job_id,), delay=PUMP_DELAY_S)
            return
        time.sleep(PUMP_ROUND_S)


def _warm_renders(db, case_id: str) -> None:
    """Fill the encrypted render cache so the review page switches pages fast."""
    import logging

    from core.cases import review

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
        from core.security.auth import require

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
    job_id = job_store.create(db, case_id, "import", actor)
    job_store.update(db, job_id, archive_key=archive_key)  # the task carries the job id only
    return _enqueue(db, job_id, import_case_task, job_id, detect)


def enqueue_detect(db, case_id: str, user) -> int:
    """Queue (re-)detection of an imported case (also the 'retry' action)."""
    from core.store import jobs as job_store

    actor = _actor(db, user, "case.detect", case_id)

    running = job_store.active(db, case_id)
    if running:
        return running["id"]
    job_id = job_store.create(db, case_id, "detect", actor)
    return _enqueue(db, job_id, detect_case_task, job_id)


def cancel_job(db, job_id: int, user) -> None:
    """Ask a job to stop: a queued task is revoked, a running one stops at its next page.

    Asking again for a job that is still marked running (its worker died) closes it,
    so the case can be imported or detected again.
    """
    from core.security.audit import record
    from core.cases.processing import signal_cancel
    from core.store import jobs as job_store

    job = job_store.get(db, job_id)
    if not job or job["status"] not in job_store.ACTIVE:
        return
    actor = _actor(db, user, "case.cancel", job["case_id"])
    forced = bool(job["cancel_requested"])  # asked before and still active: its worker is gone
    job_store.request_cancel(db, job_id)
    try:
        signal_cancel(work_queue(), job)  # workers stop at their next page; the writer repeats it
    except Exception as exc:
        import logging

        logging.getLogger(__name__).warning("cancel signal: %s", type(exc).__name__)
    if job["status"] == job_store.QUEUED and job["huey_id"]:
        app_huey.revoke_by_id(job["huey_id"])
        job_store.finish(db, job_id, job_store.CANCELLED)
    elif forced:
        job_store.finish(db, job_id, job_store.CANCELLED, "强制取消 / force-cancelled")
    record(
        db,
        actor,
        "job.cancel",
        case_id=job["case_id"],
        detail={"job": job_id, "kind": job["kind"], "forced": forced},
    )
