"""Background jobs (import, detect): status and progress the UI polls."""

from __future__ import annotations

import time
from typing import Optional

from core.errors import NotFound

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
ACTIVE = (QUEUED, RUNNING)


def create(db, case_id: str, kind: str, actor: str = "system", archive_key: str = "") -> int:
    return (
        db["jobs"]
        .insert(
            {
                "case_id": case_id,
                "kind": kind,
                "status": QUEUED,
                "actor": actor,
                "archive_key": archive_key,
                "created_at": time.time(),
            }
        )
        .last_pk
    )


def get(db, job_id: int) -> Optional[dict]:
    rows = list(db.query("SELECT * FROM jobs WHERE id = ?", [job_id]))
    return rows[0] if rows else None


def require(db, job_id: int) -> dict:
    """The job with this id; NotFound when there is none."""
    job = get(db, job_id)
    if job is None:
        raise NotFound("任务不存在", "no such job")
    return job


def update(db, job_id: int, **fields) -> None:
    db["jobs"].update(job_id, fields)


def start(db, job_id: int, total: int = 0, step: str = "") -> None:
    update(db, job_id, status=RUNNING, started_at=time.time(), progress_total=total, step=step)


def progress(db, job_id: int, done: int, total: int | None = None, step: str | None = None) -> None:
    fields: dict[str, int | str] = {"progress_done": done}
    if total is not None:
        fields["progress_total"] = total
    if step is not None:
        fields["step"] = step
    update(db, job_id, **fields)


def finish(db, job_id: int, status: str, error: str = "") -> None:
    update(db, job_id, status=status, error=error, finished_at=time.time())


def latest(db, case_id: str, kind: str | None = None) -> Optional[dict]:
    sql = (
        "SELECT * FROM jobs WHERE case_id = ?"
        + (" AND kind = ?" if kind else "")
        + " ORDER BY id DESC LIMIT 1"
    )
    rows = list(db.query(sql, [case_id, kind] if kind else [case_id]))
    return rows[0] if rows else None


def active(db, case_id: str) -> Optional[dict]:
    rows = list(
        db.query(
            "SELECT * FROM jobs WHERE case_id = ? AND status IN ('queued','running') "
            "ORDER BY id DESC LIMIT 1",
            [case_id],
        )
    )
    return rows[0] if rows else None


def request_cancel(db, job_id: int) -> None:
    update(db, job_id, cancel_requested=1)


def cancel_requested(db, job_id: int) -> bool:
    row = db.execute("SELECT cancel_requested FROM jobs WHERE id = ?", [job_id]).fetchone()
    return bool(row and row[0])
