"""Per-document tasks of a detection job (the app-side writer's bookkeeping, issue 14)."""

from __future__ import annotations

import time
from typing import Optional

QUEUED, RUNNING, DONE, FAILED, CANCELLED, LOST, REVOKED = (
    "queued",
    "running",
    "done",
    "failed",
    "cancelled",
    "lost",
    "revoked",
)
OPEN = (QUEUED, RUNNING)


def create(db, job_id: int, document_id: int, attempt: int, huey_id: str, pages_total: int) -> int:
    now = time.time()
    return (
        db["job_tasks"]
        .insert(
            {
                "job_id": job_id,
                "document_id": document_id,
                "attempt": attempt,
                "huey_id": huey_id,
                "status": QUEUED,
                "pages_total": pages_total,
                "submitted_at": now,
                "beat_seen_at": now,
            }
        )
        .last_pk
    )


def create_failed(db, job_id: int, document_id: int, attempt: int, pages_total: int, error: str) -> int:
    """A document the writer gave up on (every attempt lost its worker): settled as failed."""
    now = time.time()
    return (
        db["job_tasks"]
        .insert(
            {
                "job_id": job_id,
                "document_id": document_id,
                "attempt": attempt,
                "status": FAILED,
                "pages_total": pages_total,
                "pages_done": pages_total,
                "error": error,
                "submitted_at": now,
                "finished_at": now,
            }
        )
        .last_pk
    )


def get(db, task_id: int) -> Optional[dict]:
    rows = list(db.query("SELECT * FROM job_tasks WHERE id = ?", [task_id]))
    return rows[0] if rows else None


def for_job(db, job_id: int, statuses: tuple[str, ...] | None = None) -> list[dict]:
    sql = "SELECT * FROM job_tasks WHERE job_id = ?"
    params: list = [job_id]
    if statuses:
        sql += f" AND status IN ({','.join('?' * len(statuses))})"
        params += list(statuses)
    return list(db.query(sql + " ORDER BY id", params))


def update(db, task_id: int, **fields) -> None:
    db["job_tasks"].update(task_id, fields)


def close(db, task_id: int, status: str, error: str = "", **fields) -> None:
    update(db, task_id, status=status, error=error, finished_at=time.time(), **fields)


def attempts(db, job_id: int, document_id: int) -> int:
    row = db.execute(
        "SELECT COUNT(*) FROM job_tasks WHERE job_id = ? AND document_id = ?", [job_id, document_id]
    ).fetchone()
    return int(row[0])
