"""Cases in the store: create from a manifest, list with filters, status and progress."""

from __future__ import annotations

import json
import time
from typing import Optional

from core.archive.base import CaseFilter, Manifest
from core.errors import NotFound
from core.store.sealed import open_value, seal_value
from core.models import CaseMeta

# Workflow states (the workflow module of issue 6 owns the transitions after 待整理).
PENDING, DETECTING, TO_REVIEW = "待处理", "检测中", "待整理"
NOT_IMPORTED = "未导入"


def upsert_case(db, manifest: Manifest) -> dict:
    """Create the case row (or refresh its archive facts); keeps status and review work."""
    meta = manifest.meta
    now = time.time()
    row = {
        "id": meta.case_id,
        "archive_key": manifest.key,
        "department": meta.department,
        "admission_date": meta.admission_date,
        "discharge_date": meta.discharge_date,
        "review_type": manifest.review_type,
        "meta_sealed": seal_value(
            "cases", meta.case_id, "meta_sealed", json.dumps(meta.to_dict(), ensure_ascii=False)
        ),
        "document_count": len(manifest.documents),
        "updated_at": now,
    }
    if get_case(db, meta.case_id) is None:
        db["cases"].insert({**row, "status": PENDING, "imported_at": now})
    else:
        db["cases"].update(meta.case_id, row)
    return require_case(db, meta.case_id)


def case_for_handle(db, handle: str) -> Optional[str]:
    """The case id behind an opaque handle (``core.security.handles``), or None."""
    from core.security.handles import case_handle

    for (case_id,) in db.execute("SELECT id FROM cases").fetchall():
        if case_handle(case_id) == handle:
            return case_id
    return None


def get_case(db, case_id: str) -> Optional[dict]:
    rows = list(db.query("SELECT * FROM cases WHERE id = ?", [case_id]))
    return rows[0] if rows else None


def require_case(db, case_id: str) -> dict:
    """The case with this id; NotFound when there is none."""
    case = get_case(db, case_id)
    if case is None:
        raise NotFound("病例不存在", "no such case")
    return case


def case_meta(db, case_id: str) -> CaseMeta:
    """The archive-index record (unsealed; sensitive — never log it)."""
    row = get_case(db, case_id)
    if not row or not row["meta_sealed"]:
        return CaseMeta(case_id=case_id)
    return CaseMeta.from_dict(json.loads(open_value("cases", case_id, "meta_sealed", row["meta_sealed"])))


def list_cases(db, flt: Optional[CaseFilter] = None, status: str = "") -> list[dict]:
    flt = flt or CaseFilter()
    out = []
    for row in db.query("SELECT * FROM cases ORDER BY discharge_date DESC, id"):
        if status and row["status"] != status:
            continue
        if flt.matches(row["department"], row["discharge_date"], row["review_type"], row["id"]):
            out.append({k: v for k, v in row.items() if not k.endswith("_sealed")})
    return out


def set_status(db, case_id: str, status: str) -> None:
    db["cases"].update(case_id, {"status": status, "updated_at": time.time()})


def set_progress(db, case_id: str, **fields) -> None:
    """Update progress fields (page_count, pages_done, pages_failed, current_step, error)."""
    fields["updated_at"] = time.time()
    db["cases"].update(case_id, fields)


def save_seeds(db, case_id: str, seeds) -> None:
    text = json.dumps(seeds, ensure_ascii=False, default=_jsonable)
    db["cases"].update(case_id, {"seeds_sealed": seal_value("cases", case_id, "seeds_sealed", text)})


def load_seeds(db, case_id: str):
    row = get_case(db, case_id)
    if not row or not row["seeds_sealed"]:
        return None
    return json.loads(open_value("cases", case_id, "seeds_sealed", row["seeds_sealed"]))


def _jsonable(obj):
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if hasattr(obj, "__dict__"):
        return obj.__dict__
    return str(obj)


def departments(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT DISTINCT department FROM cases ORDER BY 1").fetchall()]


def statuses(db) -> dict[str, str]:
    """case id → status for every imported case."""
    return {r[0]: r[1] for r in db.execute("SELECT id, status FROM cases").fetchall()}


# ---------------------------------------------------------------- the workflow's status column (core.cases.workflow)


def status_default(db) -> str | None:
    """The declared default of ``cases.status`` as SQLite reports it ('' when none; None without the column)."""
    for row in db.conn.execute("PRAGMA table_info(cases)").fetchall():
        if row[1] == "status":
            return row[4] or ""
    return None


def case_status(db, case_id: str) -> tuple[bool, str | None]:
    """``(the case exists, its stored status)``."""
    row = db.conn.execute("SELECT status FROM cases WHERE id = ?", [case_id]).fetchone()
    return (row is not None, row[0] if row else None)


def write_status(db, case_id: str, status: str) -> None:
    """Set the stored status only (``set_status`` also stamps ``updated_at``)."""
    db.conn.execute("UPDATE cases SET status = ? WHERE id = ?", [status, case_id])


def cases_with_status(db, values) -> list[str]:
    """Ids of the cases whose stored status is one of ``values``, by id."""
    values = list(values)
    rows = db.conn.execute(
        f"SELECT id FROM cases WHERE status IN ({', '.join('?' for _ in values)}) ORDER BY id", values
    ).fetchall()
    return [r[0] for r in rows]
