"""The work queue as the app-side writer sees it: submit, results, heartbeats, revoke.

``HueyWorkQueue`` wraps a huey instance on which ``analyze_document_task``
is registered (``register_analyze``): SqliteHuey in the embedded default,
Redis when scaled out, a private in-memory immediate huey for direct callers
(``inline_queue``: tests, bench, CLI — the task runs at once, in-process).
Results travel through huey's result store, heartbeats and the job's
run/cancel state through its key-value store (``put_data`` / ``peek_data``),
so the same code runs on every backend.
"""

from __future__ import annotations

import logging
import threading

from huey import MemoryHuey
from huey.constants import EmptyData
from huey.exceptions import TaskException

from core.store.blobs import BlobStore, blob_store
from core.cases.worker import FAILED, KV, analyze_blob_document, beat_key, open_json

log = logging.getLogger(__name__)

TASK_NAME = "analyze_document_task"


class HueyKV:
    """huey's key-value store (the result store of a SqliteHuey / Redis queue)."""

    def __init__(self, huey):
        self.huey = huey

    def put(self, key: str, value: bytes) -> None:
        self.huey.storage.put_data(key, value, is_result=True)  # Redis: expires like results

    def get(self, key: str) -> bytes | None:
        value = self.huey.storage.peek_data(key)
        return None if value is EmptyData else bytes(value)

    def delete(self, key: str) -> None:
        self.huey.storage.delete_data(key)


def register_analyze(huey):
    """Register the stateless document task on ``huey`` (the task body is ``core.cases.worker``)."""

    @huey.task(context=True, name=TASK_NAME)
    def analyze_document_task(job_token: str, case_handle: str, doc_digest: str, task=None):
        return analyze_blob_document(HueyKV(huey), blob_store(), job_token, case_handle, doc_digest, task.id)

    return analyze_document_task


def _failure(message: str) -> dict:
    return {"status": FAILED, "error": message, "pages": {}, "errors": {}, "seeds": []}


class HueyWorkQueue:
    def __init__(self, huey, task, blobs: BlobStore | None = None):
        self.huey, self.task = huey, task
        self.kv: KV = HueyKV(huey)
        self.blobs: BlobStore = blobs or blob_store()

    def submit(self, job_token: str, case_handle: str, doc_digest: str) -> str:
        return self.task(job_token, case_handle, doc_digest).id

    def result(self, task_id: str) -> dict | None:
        """The opened result of a finished task (removed from the store), or None while it runs."""
        try:
            sealed = self.huey.result(task_id)
        except TaskException:  # the task raised outside its own guard (should not happen)
            return _failure("检测失败 / detection failed: worker error")
        if sealed is None:
            return None
        try:
            return open_json(sealed)
        except ValueError:  # wrong key on the worker, or tampered: fail closed, the pages fail
            return _failure("检测结果无法解密 / result failed authentication (worker key?)")

    def pending_ids(self) -> set[str]:
        return {t.id for t in self.huey.pending()}

    def revoke(self, task_id: str) -> None:
        self.huey.revoke_by_id(task_id, revoke_once=True)

    def discard(self, task_id: str) -> None:
        """Forget a task's heartbeat and any result it left (a lost task that finished late)."""
        for key in (beat_key(task_id), task_id):
            try:
                self.huey.storage.delete_data(key)
            except Exception as exc:
                log.warning("discard: %s", type(exc).__name__)


_inline_lock = threading.Lock()
_inline: HueyWorkQueue | None = None


def inline_queue() -> HueyWorkQueue:
    """Tasks run in-process at submit time (huey immediate mode, in memory)."""
    global _inline
    with _inline_lock:
        if _inline is None:
            huey = MemoryHuey("deid-inline", immediate=True)
            _inline = HueyWorkQueue(huey, register_analyze(huey))
    return HueyWorkQueue(_inline.huey, _inline.task)
