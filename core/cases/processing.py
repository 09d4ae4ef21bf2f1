"""Import and detection of a case, as plain functions (the huey tasks in
``core.cases.tasks`` call these; tests may call them directly).

Pipeline of a case: ``run_import`` (read manifest, validate every PDF, store
encrypted copies and page rows) → detection: ``start_detect`` submits one
stateless task per document (``core.cases.worker``), ``pump_detect`` (the app-side
writer, the only code that writes SQLite) applies each document's findings as
its result arrives, follows progress per page and re-submits a task whose
worker died; ``run_detect`` does both in this process.  A failing page is
recorded on its page row, not fatal; a cancel request stops at the next page.  Re-running detection keeps manual
boxes and decisions (see ``core.store.findings.replace_auto_findings``).
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import time

from core.archive.base import ArchiveSource
from core.security.handles import case_handle
from core.store import sealed
from core.errors import DeidError
from core.models import Finding
from core.store import cases as case_store
from core.store import documents as doc_store
from core.store import files
from core.store import findings as finding_store
from core.store import job_tasks
from core.store import jobs as job_store
from core.store.blobs import document_blob, meta_blob
from core.store.tx import transaction
from core.cases.worker import CANCEL, CANCELLED, OK, RUN, job_key, lease_seconds, read_beat, seal_json

log = logging.getLogger(__name__)


class Cancelled(Exception):
    pass


def _audit(db, actor: str, action: str, case_id: str, detail: dict) -> None:
    from core.security.audit import record

    record(db, actor, action, case_id=case_id, detail=detail)


# ---- import ----------------------------------------------------------------


def run_import(db, job_id: int, archive: ArchiveSource, key: str, actor: str = "system") -> bool:
    """Import one archive case.  Validates everything before writing: a bad
    manifest or a missing/corrupt PDF fails the job and leaves the store as it was."""
    job_store.start(db, job_id, step="读取清单")
    try:
        manifest = archive.read_manifest(key)
        docs = manifest.documents
        job_store.progress(db, job_id, 0, total=len(docs), step="校验文档")
        payloads = []
        for d in docs:
            data = archive.open_document(key, d)
            try:
                doc_store.open_pdf(data).close()
            except DeidError as exc:
                raise type(exc)(
                    f"文档 {d.doc_id}：{exc.message_zh}", f"document {d.doc_id}: {exc.message_en}"
                ) from None
            payloads.append((d, data))
            _check_cancel(db, job_id)
        _void_review(db, manifest.meta.case_id, actor, "reimported")
        case = case_store.upsert_case(db, manifest)
        case_id = case["id"]
        for i, (d, data) in enumerate(payloads):
            doc_store.store_document(db, case_id, d.doc_id, data, type=d.type, title=d.title, date=d.date)
            job_store.progress(db, job_id, i + 1, step="保存文档")
        pages = len(doc_store.list_pages(db, case_id, included_only=False))
        case_store.set_progress(db, case_id, page_count=pages, current_step="已导入", error="")
        _audit(db, actor, "case.import", case_id, {"documents": len(docs), "pages": pages, "job": job_id})
        job_store.finish(db, job_id, job_store.DONE)
        return True
    except Cancelled:
        job_store.finish(db, job_id, job_store.CANCELLED)
        return False
    except DeidError as exc:
        job_store.finish(db, job_id, job_store.FAILED, exc.message)
        return False
    except Exception as exc:  # unexpected: record the type only (messages may carry content)
        log.error("import failed: %s", type(exc).__name__)  # never the message: it may quote content
        job_store.finish(db, job_id, job_store.FAILED, f"导入失败 / import failed: {type(exc).__name__}")
        return False


def _check_cancel(db, job_id: int) -> None:
    if job_store.cancel_requested(db, job_id):
        raise Cancelled()


# ---- detection: the app-side writer ------------------------------------------------
#
# A detection job is one task per document on the work queue (``core.cases.worker``
# runs it, statelessly).  The writer publishes what the workers need (sealed
# working copies, the sealed archive-index record), submits the tasks, and then
# pumps: it applies each finished task's sealed result to SQLite in one
# transaction (once per document: ``job_tasks_applied_once``), follows the
# heartbeats for progress, hands a task whose heartbeat stopped for
# ``DEID_WORKER_LEASE_S`` to another worker (at most ``MAX_ATTEMPTS``), and
# closes the job when every document is settled.

MAX_ATTEMPTS = 3
LOST_MESSAGE = "工作进程失联 / worker lost"


def run_detect(
    db, job_id: int, case_id: str | None = None, actor: str | None = None, queue=None, poll_s: float = 0.1
) -> bool:
    """Run a detection job to its end in this process (default queue: in-process, huey immediate)."""
    from core.cases.workqueue import inline_queue

    queue = queue or inline_queue()
    job = job_store.get(db, job_id)
    if case_id is not None and job and job["case_id"] != case_id:
        raise ValueError("job belongs to another case")
    if actor is not None:
        job_store.update(db, job_id, actor=actor)
    if not start_detect(db, job_id, queue):
        return False
    while True:
        try:
            finished = pump_detect(db, job_id, queue)
        except Exception as exc:
            fail_detect(db, job_id, queue, exc)
            return False
        if finished:
            break
        time.sleep(poll_s)
    return job_store.require(db, job_id)["status"] == job_store.DONE


def start_detect(db, job_id: int, queue) -> bool:
    """Publish the job's blobs and submit one task per document; False when the job failed at once."""
    job = job_store.require(db, job_id)
    case_id, actor = job["case_id"], job["actor"]
    if case_store.get_case(db, case_id) is None:
        job_store.finish(db, job_id, job_store.FAILED, "病例未导入 / case not imported")
        return False
    total = len(doc_store.list_pages(db, case_id, included_only=False))
    entered = _enter_detecting(db, case_id, actor)
    job_store.update(db, job_id, token=secrets.token_hex(16), entered_detecting=int(entered))
    job_store.start(db, job_id, total=total, step="检测")
    case_store.set_progress(
        db, case_id, page_count=total, pages_done=0, pages_failed=0, current_step="检测", error=""
    )
    job = job_store.require(db, job_id)
    try:
        handle = case_handle(case_id)
        queue.blobs.put(
            meta_blob(handle, job["token"]), seal_json(case_store.case_meta(db, case_id).to_dict())
        )
        queue.kv.put(job_key(job["token"]), RUN)
        for doc in doc_store.list_documents(db, case_id):
            name = document_blob(handle, doc["source_sha256"])
            if not queue.blobs.exists(name):  # a remote store, or a copy stored under an older name
                queue.blobs.put(name, files.read_raw(doc["stored_path"]))
            _submit(db, queue, job, doc, attempt=1)
    except Exception as exc:
        fail_detect(db, job_id, queue, exc)
        return False
    return True


def _submit(db, queue, job: dict, doc: dict, attempt: int) -> None:
    handle = case_handle(job["case_id"])
    task_id = queue.submit(job["token"], handle, doc["source_sha256"])
    job_tasks.create(db, job["id"], doc["id"], attempt, task_id, doc["page_count"])


def pump_detect(db, job_id: int, queue, now: float | None = None) -> bool:
    """One round of the writer for one job; True when the job has ended."""
    job = job_store.get(db, job_id)
    if job is None:
        return True
    if job["status"] not in job_store.ACTIVE:  # closed by a forced cancel
        _cleanup(db, job, queue)
        return True
    now = time.time() if now is None else now
    cancelling = bool(job["cancel_requested"])
    if cancelling:
        queue.kv.put(job_key(job["token"]), CANCEL)
    pending = _Pending(queue)
    for task in job_tasks.for_job(db, job_id, job_tasks.OPEN):
        _pump_task(db, queue, job, task, now, cancelling, pending)
    _update_progress(db, job)
    if job_tasks.for_job(db, job_id, job_tasks.OPEN):
        return False
    _finish_detect(db, job_id, queue)
    return True


class _Pending:
    """The ids waiting in the work queue, read at most once per round and only when needed."""

    def __init__(self, queue):
        self.queue, self._ids = queue, None

    def __contains__(self, task_id: str) -> bool:
        if self._ids is None:
            self._ids = self.queue.pending_ids()
        return task_id in self._ids


def _pump_task(db, queue, job: dict, task: dict, now: float, cancelling: bool, pending: _Pending) -> None:
    """Apply a finished task, revoke a queued one being cancelled, note a heartbeat, or declare it lost."""
    result = queue.result(task["huey_id"])
    if result is not None:
        _apply(db, job, task, result)
        queue.discard(task["huey_id"])
        return
    if cancelling and task["status"] == job_tasks.QUEUED and task["huey_id"] in pending:
        queue.revoke(task["huey_id"])
        job_tasks.close(db, task["id"], job_tasks.REVOKED)
        return
    beat = read_beat(queue.kv, task["huey_id"])
    seen = json.dumps(beat, sort_keys=True) if beat else ""
    if beat and seen != task["beat"]:
        job_tasks.update(
            db,
            task["id"],
            status=job_tasks.RUNNING,
            beat=seen,
            beat_seen_at=now,
            worker=str(beat.get("worker", "")),
            pages_done=int(beat.get("done", 0)),
        )
        return
    if now - (task["beat_seen_at"] or task["submitted_at"]) <= lease_seconds():
        return
    if not beat and task["huey_id"] in pending:  # never started: still waiting for a free worker
        job_tasks.update(db, task["id"], beat_seen_at=now)
        return
    _lost(db, queue, job, task, cancelling)


def _page_ids(db, document_id: int) -> dict[int, int]:
    return doc_store.page_ids_by_index(db, document_id)


def _apply(db, job: dict, task: dict, result: dict) -> None:
    """Write one document's result (all its pages) in one transaction, once per job."""
    status = result.get("status")
    worker = str(result.get("worker") or task["worker"])
    if status == CANCELLED:
        job_tasks.close(db, task["id"], job_tasks.CANCELLED, worker=worker)
        return
    page_ids = _page_ids(db, task["document_id"])
    try:
        with transaction(db):
            if status == OK:
                errors, pages = result.get("errors", {}), result.get("pages", {})
                new = 0
                for index, page_id in page_ids.items():
                    if str(index) in errors:
                        doc_store.set_page_detect(db, page_id, "failed", errors[str(index)])
                        continue
                    found = [Finding.from_dict(d) for d in pages.get(str(index), [])]
                    new += finding_store.replace_auto_findings(db, job["case_id"], page_id, found)
                    doc_store.set_page_detect(db, page_id, "done")
                seeds = json.dumps(result.get("seeds", []), ensure_ascii=False)
                job_tasks.close(
                    db,
                    task["id"],
                    job_tasks.DONE,
                    pages_done=len(page_ids),
                    worker=worker,
                    seeds_sealed=sealed.seal_value("job_tasks", task["id"], "seeds_sealed", seeds),
                    findings_new=new,
                )
            else:
                _fail_pages(db, page_ids, result.get("error") or "检测失败 / detection failed")
                job_tasks.close(
                    db,
                    task["id"],
                    job_tasks.FAILED,
                    result.get("error", ""),
                    pages_done=len(page_ids),
                    worker=worker,
                )
    except sqlite3.IntegrityError:  # this document was already applied for this job: keep the first result
        job_tasks.close(db, task["id"], job_tasks.REVOKED, "duplicate result ignored")


def _fail_pages(db, page_ids: dict[int, int], message: str) -> None:
    for page_id in page_ids.values():
        doc_store.set_page_detect(db, page_id, "failed", message)


def _lost(db, queue, job: dict, task: dict, cancelling: bool) -> None:
    """A task stopped beating (its worker died or hung): give the document to another worker."""
    job_tasks.close(db, task["id"], job_tasks.LOST, LOST_MESSAGE)
    queue.discard(task["huey_id"])
    log.warning("job %s: a document task lost its worker (attempt %s)", job["id"], task["attempt"])
    if cancelling:
        return
    attempts = job_tasks.attempts(db, job["id"], task["document_id"])
    if attempts >= MAX_ATTEMPTS:
        page_ids = _page_ids(db, task["document_id"])
        with transaction(db):
            _fail_pages(db, page_ids, LOST_MESSAGE)
            job_tasks.create_failed(
                db, job["id"], task["document_id"], attempts + 1, len(page_ids), LOST_MESSAGE
            )
        return
    doc = doc_store.require_document(db, task["document_id"])
    _submit(db, queue, job, doc, attempt=attempts + 1)


def _settled(rows: list[dict]) -> dict[int, dict]:
    """Per document, the row that settled it (done / failed), else its open row, else its last row."""
    out: dict[int, dict] = {}
    rank = {job_tasks.DONE: 3, job_tasks.FAILED: 3, job_tasks.RUNNING: 2, job_tasks.QUEUED: 2}
    for row in rows:
        best = out.get(row["document_id"])
        if best is None or rank.get(row["status"], 0) >= rank.get(best["status"], 0):
            out[row["document_id"]] = row
    return out


def _update_progress(db, job: dict) -> None:
    settled = _settled(job_tasks.for_job(db, job["id"])).values()
    done = sum(
        r["pages_total"]
        if r["status"] in (job_tasks.DONE, job_tasks.FAILED)
        else r["pages_done"]
        if r["status"] in job_tasks.OPEN
        else 0
        for r in settled
    )
    finished_docs = sum(1 for r in settled if r["status"] in (job_tasks.DONE, job_tasks.FAILED))
    step = f"检测 {finished_docs}/{len(settled)} 份文档"
    if (done, step) == (job["progress_done"], job["step"]):
        return  # a round with nothing new writes nothing
    job_store.progress(db, job["id"], done, step=step)
    case_store.set_progress(
        db, job["case_id"], pages_done=done, pages_failed=_failed_pages(db, job["case_id"])
    )


def _failed_pages(db, case_id: str) -> int:
    return doc_store.failed_page_count(db, case_id)


def _finish_detect(db, job_id: int, queue) -> None:
    job = job_store.require(db, job_id)
    case_id, actor, entered = job["case_id"], job["actor"], bool(job["entered_detecting"])
    rows = job_tasks.for_job(db, job_id)
    settled = _settled(rows)
    pages_done = sum(
        r["pages_total"] for r in settled.values() if r["status"] in (job_tasks.DONE, job_tasks.FAILED)
    )
    if job["cancel_requested"] or any(
        r["status"] not in (job_tasks.DONE, job_tasks.FAILED) for r in settled.values()
    ):
        _leave_detecting(db, case_id, actor, entered, ok=False)
        case_store.set_progress(db, case_id, current_step="已取消")
        _audit(db, actor, "case.detect_cancelled", case_id, {"pages_done": pages_done, "job": job_id})
        _cleanup_quietly(db, job, queue)
        job_store.finish(db, job_id, job_store.CANCELLED)  # the job's end is the writer's last word
        return
    seeds = []
    for doc in doc_store.list_documents(db, case_id):
        row = settled.get(doc["id"])
        if row and row["seeds_sealed"]:
            seeds.extend(
                json.loads(sealed.open_value("job_tasks", row["id"], "seeds_sealed", row["seeds_sealed"]))
            )
    case_store.save_seeds(db, case_id, seeds)
    _find_duplicates(db, case_id)
    _leave_detecting(db, case_id, actor, entered, ok=True)
    failed = _failed_pages(db, case_id)
    error = f"{failed} 页检测失败 / {failed} page(s) failed" if failed else ""
    case_store.set_progress(
        db,
        case_id,
        current_step="检测完成",
        error=error,
        detected_at=time.time(),
        pages_done=job["progress_total"],
        pages_failed=failed,
    )
    job_store.progress(db, job_id, job["progress_total"])
    _audit(
        db,
        actor,
        "case.detect",
        case_id,
        {
            "pages": job["progress_total"],
            "failed_pages": failed,
            "new_findings": sum(r["findings_new"] or 0 for r in settled.values()),
            "documents": len(settled),
            "lost_tasks": sum(1 for r in rows if r["status"] == job_tasks.LOST),
            "seconds": round(time.time() - (job["started_at"] or time.time()), 1),
            "job": job_id,
        },
    )
    _cleanup_quietly(db, job, queue)
    job_store.finish(db, job_id, job_store.DONE, error)


def _find_duplicates(db, case_id: str) -> None:
    """Flag repeated pages (``core.cases.duplicates``) from the review renders, which this fills
    into the encrypted render cache; a problem here never fails the detection."""
    from core.cases import duplicates, review

    try:
        duplicates.find_duplicates(db, case_id, lambda page_id: review.page_png(db, page_id))
    except Exception as exc:
        log.warning("duplicate pages: %s", type(exc).__name__)


def fail_detect(db, job_id: int, queue, exc: Exception) -> None:
    """The writer itself failed (store or queue unreachable): the job fails, nothing half-applied stays open."""
    log.error("detection failed: %s", type(exc).__name__)
    job = job_store.require(db, job_id)
    for task in job_tasks.for_job(db, job_id, job_tasks.OPEN):
        job_tasks.close(db, task["id"], job_tasks.CANCELLED, "job failed")
    _leave_detecting(db, job["case_id"], job["actor"], bool(job["entered_detecting"]), ok=False)
    msg = exc.message if isinstance(exc, DeidError) else f"检测失败 / detection failed: {type(exc).__name__}"
    case_store.set_progress(db, job["case_id"], current_step="检测失败", error=msg)
    _cleanup_quietly(db, job, queue)
    job_store.finish(db, job_id, job_store.FAILED, msg)


def signal_cancel(queue, job: dict) -> None:
    """Tell the job's workers to stop at their next page (the writer repeats it on its next round)."""
    if job.get("token"):
        queue.kv.put(job_key(job["token"]), CANCEL)


def _cleanup_quietly(db, job: dict, queue) -> None:
    """Clean up, but never let an unreachable queue keep a settled job open (blobs also expire)."""
    try:
        _cleanup(db, job, queue)
    except Exception as exc:
        log.warning("cleanup: %s", type(exc).__name__)


def _cleanup(db, job: dict, queue) -> None:
    """Remove what the job put into the queue's stores: its state key, its meta blob, uploaded copies."""
    if not job.get("token"):
        return
    handle = case_handle(job["case_id"])
    queue.blobs.delete(meta_blob(handle, job["token"]))
    if queue.blobs.remote:
        for doc in doc_store.list_documents(db, job["case_id"]):
            queue.blobs.delete(document_blob(handle, doc["source_sha256"]))
    for task in job_tasks.for_job(db, job["id"]):
        queue.discard(task["huey_id"])
    queue.kv.delete(job_key(job["token"]))


def _void_review(db, case_id: str, actor: str, cause: str) -> None:
    """New pages or boxes for a case under review, approved or exported: its
    submission and approval are void (audited) before anything is written."""
    from core.cases import workflow

    if case_store.get_case(db, case_id) is not None:
        workflow.void_for_source_change(db, case_id, actor, cause)


def _enter_detecting(db, case_id: str, actor: str) -> bool:
    """Move the case to 检测中 (a case under review, approved or exported loses
    its submission/approval first: re-detection changes its boxes)."""
    from core.cases import workflow

    _void_review(db, case_id, actor, "redetected")
    try:
        workflow.start_detection(db, case_id, actor)
        return True
    except DeidError:
        return False


def _leave_detecting(db, case_id: str, actor: str, entered: bool, ok: bool) -> None:
    from core.cases import workflow

    if entered:
        (workflow.detection_done if ok else workflow.detection_failed)(db, case_id, actor)
    elif ok:  # re-detection of a case already submitted/approved changes its boxes
        workflow.on_case_edited(db, case_id, actor)
