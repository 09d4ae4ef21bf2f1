"""What the two-person rule needs from the store (tables of migration 150).

- the redaction plan of a case as data (``plan_payload``): included
  documents with digest and page count, and every box that will be hidden;
  its fingerprint is the approval's plan hash (``core.cases.workflow``);
- sealed snapshots of plans by fingerprint, to say what changed since a
  fingerprint was shown;
- page views per person, submissions with their progress and override;
- the preparer's changes a supervisor must see (manual, moved, rejected boxes).
"""

from __future__ import annotations

import json
import time
from typing import Optional

from core.store import sealed

IN_REVIEW_STATUSES = ("in_review", "待审核")


# ---- the plan -------------------------------------------------------------------


def plan_payload(db, case_id: str) -> dict:
    """Included documents (doc id, source SHA-256, page count) and the boxes to hide.

    Boxes are ``[doc_id, page_index, category, rects JSON, source]``, sorted,
    so equal plans give equal payloads whatever the row ids are; pages hidden
    whole are ``hidden_pages``: ``[doc_id, page_index, reason code]``.
    """
    docs = db.conn.execute(
        "SELECT doc_id, source_sha256, page_count FROM documents WHERE case_id = ? AND included = 1 "
        "ORDER BY catalog_order, doc_id",
        [case_id],
    ).fetchall()
    boxes = db.conn.execute(
        "SELECT d.doc_id, p.page_index, f.category, f.rects, f.source FROM findings f "
        "JOIN pages p ON p.id = f.page_id JOIN documents d ON d.id = p.document_id "
        "WHERE f.case_id = ? AND d.included = 1 AND f.status != 'rejected' "
        "ORDER BY d.doc_id, p.page_index, f.category, f.rects, f.source",
        [case_id],
    ).fetchall()
    out = {"documents": [list(d) for d in docs], "boxes": [list(b) for b in boxes]}
    hidden = db.conn.execute(
        "SELECT d.doc_id, p.page_index, p.hide_reason FROM pages p JOIN documents d ON d.id = p.document_id "
        "WHERE p.case_id = ? AND d.included = 1 AND p.hide_reason != '' ORDER BY d.doc_id, p.page_index",
        [case_id],
    ).fetchall()
    if hidden:  # a plan without whole-page hiding keeps the fingerprint it always had
        out["hidden_pages"] = [list(h) for h in hidden]
    return out


def save_snapshot(db, case_id: str, plan_hash: str, payload: dict) -> None:
    if db.conn.execute(
        "SELECT 1 FROM plan_snapshots WHERE case_id = ? AND plan_hash = ?", [case_id, plan_hash]
    ).fetchone():
        return
    sealed.insert_row(
        db,
        "plan_snapshots",
        {"case_id": case_id, "plan_hash": plan_hash, "created_at": time.time()},
        {"payload_sealed": json.dumps(payload, ensure_ascii=False)},
    )


def load_snapshot(db, case_id: str, plan_hash: str) -> Optional[dict]:
    row = db.conn.execute(
        "SELECT id, payload_sealed FROM plan_snapshots WHERE case_id = ? AND plan_hash = ?",
        [case_id, plan_hash],
    ).fetchone()
    return json.loads(sealed.open_value("plan_snapshots", row[0], "payload_sealed", row[1])) if row else None


# ---- read-only while in review ---------------------------------------------------


def is_in_review(db, case_id: str) -> bool:
    row = db.conn.execute("SELECT status FROM cases WHERE id = ?", [case_id]).fetchone()
    return bool(row) and row[0] in IN_REVIEW_STATUSES


# ---- progress of the preparer's review ----------------------------------------


def review_progress(db, case_id: str) -> dict:
    """Included pages, how many were viewed, undecided automatic boxes on them."""
    pages, viewed = db.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(p.viewed), 0) FROM pages p JOIN documents d ON d.id = p.document_id "
        "WHERE p.case_id = ? AND d.included = 1",
        [case_id],
    ).fetchone()
    open_boxes = db.conn.execute(
        "SELECT COUNT(*) FROM findings f JOIN pages p ON p.id = f.page_id JOIN documents d ON d.id = p.document_id "
        "WHERE f.case_id = ? AND d.included = 1 AND f.status = 'auto'",
        [case_id],
    ).fetchone()[0]
    return {
        "pages": int(pages),
        "viewed": int(viewed),
        "unviewed": int(pages) - int(viewed),
        "open_boxes": int(open_boxes),
    }


def add_submission(
    db,
    case_id: str,
    actor: str,
    plan_hash: str,
    progress: dict,
    override_reason: str = "",
    at: float | None = None,
) -> int:
    row = {
        "case_id": case_id,
        "actor": actor,
        "plan_hash": plan_hash,
        "pages_total": progress["pages"],
        "pages_viewed": progress["viewed"],
        "open_boxes": progress["open_boxes"],
        "override": int(bool(override_reason)),
        "at": time.time() if at is None else at,
    }
    return sealed.insert_row(db, "submissions", row, {"override_reason_sealed": override_reason or None})


def last_submission(db, case_id: str) -> Optional[dict]:
    cur = db.conn.execute("SELECT * FROM submissions WHERE case_id = ? ORDER BY id DESC LIMIT 1", [case_id])
    row = cur.fetchone()
    if row is None:
        return None
    out = dict(zip([c[0] for c in cur.description], row))
    out["override_reason"] = sealed.open_value(
        "submissions", out["id"], "override_reason_sealed", out.pop("override_reason_sealed")
    )
    return out


# ---- who opened which page -------------------------------------------------------


def record_page_view(db, case_id: str, page_id: int, doc_id: str, page_index: int, actor: str) -> None:
    db.conn.execute(
        "INSERT INTO page_views (case_id, page_id, doc_id, page_index, actor, at) VALUES (?, ?, ?, ?, ?, ?)",
        [case_id, page_id, doc_id, page_index, actor, time.time()],
    )


def pages_opened(db, case_id: str, actor: str, since: float = 0.0) -> list[list]:
    """Distinct ``[doc_id, page_index]`` pages ``actor`` opened since ``since``, in review order."""
    rows = db.conn.execute(
        "SELECT DISTINCT v.doc_id, v.page_index FROM page_views v "
        "JOIN documents d ON d.case_id = v.case_id AND d.doc_id = v.doc_id "
        "WHERE v.case_id = ? AND v.actor = ? AND v.at >= ? AND d.included = 1 "
        "ORDER BY d.catalog_order, d.doc_id, v.page_index",
        [case_id, actor, since],
    ).fetchall()
    return [list(r) for r in rows]


def record_approval_review(
    db, approval_id: int, submission_id: Optional[int], opened: list, total: int
) -> None:
    db.conn.execute(
        "UPDATE approvals SET submission_id = ?, pages_opened = ?, pages_total = ? WHERE id = ?",
        [submission_id, json.dumps(opened, ensure_ascii=False), total, approval_id],
    )


# ---- the preparer's changes ------------------------------------------------------


def changed_boxes(db, case_id: str) -> list[dict]:
    """Boxes of included documents a person changed: manual, moved/resized, rejected.

    Each row: finding id, page id, doc id/type, page index, category,
    rects (JSON), status, source, ``kind`` (manual | moved | rejected), and
    for moved ones the geometry detection had (``before`` JSON).
    """
    cols = (
        "f.id AS finding_id, f.page_id, d.doc_id, d.type AS doc_type, p.page_index, f.category, f.rects, "
        "f.status, f.source, f.text_sealed"
    )
    base = (
        "FROM findings f JOIN pages p ON p.id = f.page_id JOIN documents d ON d.id = p.document_id "
        "WHERE f.case_id = ? AND d.included = 1"
    )
    order = " ORDER BY d.catalog_order, d.doc_id, p.page_index, f.id"
    out = []
    for kind, where in (
        ("manual", " AND f.source = 'manual' AND f.status != 'rejected'"),
        ("rejected", " AND f.status = 'rejected'"),
    ):
        out += [
            dict(r, kind=kind, before=None)
            for r in db.query(f"SELECT {cols} {base}{where}{order}", [case_id])
        ]
    moved_sql = (
        f"SELECT {cols}, (SELECT e.before FROM edits e WHERE e.finding_id = f.id AND e.action = 'change' "
        f"AND e.before LIKE '[%' ORDER BY e.id LIMIT 1) AS before {base} "
        "AND f.source != 'manual' AND f.status != 'rejected' AND EXISTS (SELECT 1 FROM edits e "
        "WHERE e.finding_id = f.id AND e.action = 'change' AND e.before LIKE '[%')" + order
    )
    out += [dict(r, kind="moved") for r in db.query(moved_sql, [case_id])]
    return out


def page_of(db, case_id: str, doc_id: str, page_index: int) -> Optional[int]:
    row = db.conn.execute(
        "SELECT p.id FROM pages p JOIN documents d ON d.id = p.document_id "
        "WHERE p.case_id = ? AND d.doc_id = ? AND p.page_index = ?",
        [case_id, doc_id, page_index],
    ).fetchone()
    return row[0] if row else None


def recent_approvals(db, limit: int = 20) -> list[dict]:
    cur = db.conn.execute(
        "SELECT id, case_id, prepared_by, approved_by, approved_at, superseded_at, superseded_reason, pages_opened, "
        "pages_total FROM approvals ORDER BY id DESC LIMIT ?",
        [limit],
    )
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]
