"""The stateless half of detection (issue 14): analyse one document, touch no database.

A worker task carries three opaque strings: the job token, the case handle and
the document digest.  It reads the sealed working copy and the job's sealed
archive-index record from the blob store (``core.store.blobs``), runs the
engine, and returns the findings *sealed* through the work queue's result
store.  While it runs it writes a heartbeat (pages done, a counter, its
``host:pid``) into the queue's key-value store and reads the job's state there
(``run`` / ``cancel``); nothing else.  Only the app-side writer
(``core.cases.processing``) opens SQLite, and it applies each result once.

The same function runs in every mode: in-process for direct callers, in the
embedded huey consumer (SqliteHuey), on any number of worker machines (Redis).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections import defaultdict
from dataclasses import asdict, is_dataclass
from typing import Callable, Protocol

from core.crypto import file_aad, seal, unseal
from core.store.blobs import BlobMissing, BlobStore, document_blob, meta_blob

log = logging.getLogger(__name__)

RESULT_VERSION = 1
RUN, CANCEL = b"run", b"cancel"
OK, FAILED, CANCELLED = "ok", "failed", "cancelled"
DEFAULT_LEASE_S = 60.0


class KV(Protocol):
    def put(self, key: str, value: bytes) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def delete(self, key: str) -> None: ...


class Cancelled(Exception):
    pass


def job_key(job_token: str) -> str:
    return f"deid.job.{job_token}"


def beat_key(task_id: str) -> str:
    return f"deid.beat.{task_id}"


def lease_seconds() -> float:
    """How long a task may go without a heartbeat before the writer gives it to another worker."""
    return float(os.environ.get("DEID_WORKER_LEASE_S", str(DEFAULT_LEASE_S)))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ---- sealed messages between writer and worker ------------------------------------


def seal_json(obj) -> bytes:
    return seal(json.dumps(obj, ensure_ascii=False, default=_jsonable).encode("utf-8"))


def open_json(blob: bytes):
    return json.loads(unseal(blob).decode("utf-8"))


def _jsonable(obj):
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if is_dataclass(obj):
        return asdict(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


# ---- heartbeat ---------------------------------------------------------------------


class Heartbeat:
    """Pages done plus a counter, written on every page and every ``interval`` seconds."""

    def __init__(self, kv: KV, task_id: str, interval: float):
        self.kv, self.key, self.interval = kv, beat_key(task_id), interval
        self.done, self.total, self.n = 0, 0, 0
        self.worker = worker_name()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="deid-heartbeat", daemon=True)

    def start(self) -> "Heartbeat":
        self.write()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def write(self, done: int | None = None, total: int | None = None) -> None:
        with self._lock:
            if done is not None:
                self.done = done
            if total is not None:
                self.total = total
            self.n += 1
            record = {"done": self.done, "total": self.total, "n": self.n, "worker": self.worker}
        try:
            self.kv.put(self.key, json.dumps(record).encode())
        except Exception as exc:  # the queue store hiccuped: the next beat tries again
            log.warning("heartbeat: %s", type(exc).__name__)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.write()


def read_beat(kv: KV, task_id: str) -> dict | None:
    raw = kv.get(beat_key(task_id))
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


# ---- the task body -------------------------------------------------------------------


def analyze_blob_document(
    kv: KV, blobs: BlobStore, job_token: str, case_handle: str, doc_digest: str, task_id: str
) -> bytes:
    """Analyse one document of a job; the sealed result (never raises, never returns plain data)."""
    beat = Heartbeat(kv, task_id, interval=max(0.2, lease_seconds() / 8)).start()
    try:
        return seal_json(_analyze(kv, blobs, job_token, case_handle, doc_digest, beat))
    except Cancelled:
        return seal_json(_message(CANCELLED))
    except BlobMissing:
        return seal_json(_message(FAILED, "工作副本不可用 / working copy not available to the worker"))
    except Exception as exc:  # the type only: a message may quote the record
        log.error("document analysis failed: %s", type(exc).__name__)
        return seal_json(_message(FAILED, f"检测失败 / detection failed: {type(exc).__name__}"))
    finally:
        beat.stop()


def _message(status: str, error: str = "") -> dict:
    return {
        "v": RESULT_VERSION,
        "status": status,
        "error": error,
        "worker": worker_name(),
        "page_count": 0,
        "pages": {},
        "errors": {},
        "seeds": [],
    }


def _analyze(
    kv: KV, blobs: BlobStore, job_token: str, case_handle: str, doc_digest: str, beat: Heartbeat
) -> dict:
    import pymupdf

    from core.pdf.open import as_shown

    def check_cancel() -> None:
        if kv.get(job_key(job_token)) != RUN:  # cancelled, or the job is gone
            raise Cancelled()

    check_cancel()
    name = document_blob(case_handle, doc_digest)
    data = unseal(blobs.get(name), aad=file_aad("data", name))  # the working copy is bound to its path
    meta = open_json(blobs.get(meta_blob(case_handle, job_token)))
    pdf = pymupdf.open(stream=data, filetype="pdf")
    try:
        as_shown(pdf)
        beat.write(0, pdf.page_count)

        def progress(*args, **_kw):
            beat.write(min(_progress_count(args), pdf.page_count))
            check_cancel()

        by_page, errors, seeds = analyze_pdf(pdf, meta, progress)
        out = _message(OK)
        out.update(
            page_count=pdf.page_count,
            seeds=seeds,
            errors={str(i): e for i, e in errors.items()},
            pages={str(i): [f.to_dict() for f in found] for i, found in by_page.items()},
        )
        return out
    finally:
        pdf.close()


def _progress_count(args) -> int:
    """Pages done from the engine's progress callback arguments (``(done, total, …)`` or a dict)."""
    if not args:
        return 0
    first = args[0]
    if isinstance(first, dict):
        return int(first.get("done", first.get("page")) or 0)
    try:
        return int(first)
    except (TypeError, ValueError):
        return 0


def analyze_pdf(pdf, meta: dict, progress: Callable):
    """Findings per page index, errors per page index, seeds (as dicts).

    The whole document is analysed at once (seeds found on one page are
    searched on the others).  When that fails, pages are analysed one by one
    so a single broken page is recorded and the rest still get findings.
    """
    import pymupdf

    from core import engine

    try:
        analysis = engine.analyze_document(pdf, meta, progress=progress)
        errors = {
            p.index: f"页面检测失败 / page analysis failed: {p.error}"
            for p in getattr(analysis, "pages", [])
            if getattr(p, "error", "")
        }
        return _group(analysis.findings), errors, _seed_dicts(getattr(analysis, "seeds", []))
    except Cancelled:
        raise
    except Exception as exc:
        log.warning("document analysis failed (%s); retrying page by page", type(exc).__name__)
    by_page, errors, seeds = defaultdict(list), {}, []
    for index in range(pdf.page_count):
        single = pymupdf.open()
        try:
            single.insert_pdf(pdf, from_page=index, to_page=index)
            analysis = engine.analyze_document(single, meta)
            if any(getattr(p, "error", "") for p in getattr(analysis, "pages", [])):
                raise RuntimeError(analysis.pages[0].error)
            for f in analysis.findings:
                f.page_index = index
                f.id = f.make_id()
                by_page[index].append(f)
            seeds.extend(_seed_dicts(getattr(analysis, "seeds", [])))
        except Exception as exc:
            errors[index] = f"页面检测失败 / page analysis failed: {type(exc).__name__}"
        finally:
            single.close()
        progress(index + 1, pdf.page_count)
    return by_page, errors, seeds


def _seed_dicts(seeds) -> list:
    return [asdict(s) if is_dataclass(s) and not isinstance(s, type) else s for s in seeds or []]


def _group(findings) -> dict[int, list]:
    out = defaultdict(list)
    for f in findings:
        out[f.page_index].append(f)
    return out
