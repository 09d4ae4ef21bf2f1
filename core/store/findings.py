"""Findings (automatic and manual boxes) of a case's pages.

Text a finding covers is sealed (``text_sealed``) and fingerprinted with a
per-installation salt derived from the storage key, so equal texts can be
grouped ("hide every occurrence") without unsealing.
"""

from __future__ import annotations

import json
import time
from typing import Iterable, Optional

from core.crypto import sha256_hex, storage_key
from core.errors import NotFound
from core.masking import fingerprint as _fingerprint
from core.masking import mask
from core.models import Category, Finding, Source
from core.store.sealed import next_id, open_value, seal_free_text, seal_value
from core.store.tx import transaction

AUTO, ACCEPTED, REJECTED = "auto", "accepted", "rejected"


def fingerprint(text: str) -> str:
    if not (text or "").strip():
        return ""
    return _fingerprint(text, salt=sha256_hex(storage_key())[:16])


def seal_reason(finding_id: int, reason: str):
    """A reason typed by a person may name someone: stored sealed (bound to its finding), like text."""
    return seal_free_text("findings", finding_id, "reason", reason or "")


def open_reason(row: dict) -> str:
    """A finding's reason as typed (rows written before sealing hold plain text)."""
    return open_value("findings", row["id"], "reason", row.get("reason"))


def _row(
    row_id: int,
    case_id: str,
    page_id: int,
    f: Finding,
    status: str = AUTO,
    actor: str = "system",
    reason: str = "",
) -> dict:
    now = time.time()
    return {
        "id": row_id,
        "case_id": case_id,
        "page_id": page_id,
        "finding_key": f.id,
        "category": f.category.value,
        "rects": json.dumps([list(r) for r in f.rects]),
        "detector": f.detector,
        "confidence": float(f.confidence),
        "source": f.source.value,
        "role_hint": f.role_hint or "",
        "text_sealed": seal_value("findings", row_id, "text_sealed", f.text) if f.text else None,
        "fingerprint": fingerprint(f.text),
        "status": status,
        "reason": seal_reason(row_id, reason),
        "created_by": actor,
        "created_at": now,
        "updated_at": now,
    }


def replace_auto_findings(db, case_id: str, page_id: int, new: Iterable[Finding]) -> int:
    """Store a fresh detection result for one page.

    Keeps manual boxes and every finding a person decided on (accepted,
    rejected, moved): only undecided automatic findings are replaced.  A new
    finding whose key matches a kept one is skipped (the decision stands).
    Returns the number of findings inserted.
    """
    with transaction(db):
        db.execute(
            "DELETE FROM findings WHERE page_id = ? AND status = 'auto' AND source != 'manual'", [page_id]
        )
        kept = {
            r[0]
            for r in db.execute("SELECT finding_key FROM findings WHERE page_id = ?", [page_id]).fetchall()
        }
        first = next_id(db, "findings")
        rows = [
            _row(first + i, case_id, page_id, f) for i, f in enumerate(x for x in new if x.id not in kept)
        ]
        if rows:
            db["findings"].insert_all(rows)
    return len(rows)


def add_finding(
    db, case_id: str, page_id: int, f: Finding, *, status: str, actor: str, reason: str = ""
) -> int:
    with transaction(db):
        return (
            db["findings"]
            .insert(_row(next_id(db, "findings"), case_id, page_id, f, status, actor, reason))
            .last_pk
        )


def add_edit(
    db,
    *,
    case_id: str,
    page_id: int,
    finding_id: Optional[int],
    action: str,
    category: str,
    before: Optional[str],
    after: Optional[str],
    reason: str,
    actor: str,
) -> int:
    """One row of the review history; the reason typed by the person is sealed to the row."""
    with transaction(db):
        edit_id = next_id(db, "edits")
        db["edits"].insert(
            {
                "id": edit_id,
                "case_id": case_id,
                "page_id": page_id,
                "finding_id": finding_id,
                "action": action,
                "category": category,
                "before": before,
                "after": after,
                "reason": seal_free_text("edits", edit_id, "reason", reason or ""),
                "actor": actor,
                "at": time.time(),
            }
        )
    return edit_id


def get(db, finding_id: int) -> Optional[dict]:
    rows = list(db.query("SELECT * FROM findings WHERE id = ?", [finding_id]))
    return rows[0] if rows else None


def require(db, finding_id: int) -> dict:
    """The finding (box) with this id; NotFound when there is none."""
    row = get(db, finding_id)
    if row is None:
        raise NotFound("标注框不存在", "no such box")
    return row


def for_page(db, page_id: int) -> list[dict]:
    return list(db.query("SELECT * FROM findings WHERE page_id = ? ORDER BY id", [page_id]))


def ids_with_fingerprint(db, case_id: str, fingerprint: str, *, not_status: str) -> list[int]:
    """Ids of the case's findings with this text fingerprint whose status is not ``not_status``."""
    return [
        r["id"]
        for r in db.query(
            "SELECT id FROM findings WHERE case_id = ? AND fingerprint = ? AND status != ?",
            [case_id, fingerprint, not_status],
        )
    ]


def lowest_undecided_below(db, page_id: int, threshold: float) -> Optional[int]:
    """Id of the page's undecided (``auto``) finding of lowest confidence below ``threshold``, or None."""
    row = db.execute(
        "SELECT id FROM findings WHERE page_id = ? AND status = 'auto' AND confidence < ? "
        "ORDER BY confidence LIMIT 1",
        [page_id, threshold],
    ).fetchone()
    return row[0] if row else None


def count_for_case(db, case_id: str) -> int:
    return db.execute("SELECT COUNT(*) FROM findings WHERE case_id = ?", [case_id]).fetchone()[0]


def update(db, finding_id: int, **fields) -> None:
    if "rects" in fields and not isinstance(fields["rects"], str):
        fields["rects"] = json.dumps([list(r) for r in fields["rects"]])
    fields["updated_at"] = time.time()
    db["findings"].update(finding_id, fields)


def delete(db, finding_id: int) -> None:
    db.execute("DELETE FROM findings WHERE id = ?", [finding_id])


def rects_of(row: dict) -> list[tuple]:
    return [tuple(r) for r in json.loads(row["rects"])]


def text_of(row: dict) -> str:
    """The covered text (sensitive: do not log)."""
    return open_value("findings", row["id"], "text_sealed", row.get("text_sealed"))


def masked_text(row: dict) -> str:
    return mask(text_of(row), row["category"])


def to_finding(row: dict, page_index: int) -> Finding:
    """A stored row as the engine's ``Finding`` (page_index within its document)."""
    return Finding(
        page_index=page_index,
        category=Category(row["category"]),
        rects=rects_of(row),
        detector=row["detector"],
        confidence=row["confidence"],
        text=text_of(row),
        source=Source(row["source"]),
        role_hint=row["role_hint"],
        id=row["finding_key"] or "",
    )


def for_document(db, document_id: int, include_rejected: bool = False) -> list[Finding]:
    """Every finding of a document to redact (rejected ones left out unless asked)."""
    sql = (
        "SELECT f.*, p.page_index FROM findings f JOIN pages p ON p.id = f.page_id "
        "WHERE p.document_id = ?"
        + ("" if include_rejected else " AND f.status != 'rejected'")
        + " ORDER BY p.page_index, f.id"
    )
    return [to_finding(r, r["page_index"]) for r in db.query(sql, [document_id])]


def case_identifiers(db, case_id: str) -> set[str]:
    """Every distinct text known to be an identifier in the case (for leak verification)."""
    out = set()
    for r in db.query(
        "SELECT id, text_sealed, category FROM findings WHERE case_id = ? AND status != 'rejected' "
        "AND text_sealed IS NOT NULL",
        [case_id],
    ):
        if r["category"] in (Category.AGE.value, Category.DATE.value):
            continue
        t = text_of(r).strip()
        if t:
            out.add(t)
    return out


def counts_by_category(db, case_id: str) -> dict[str, int]:
    return {
        r[0]: r[1]
        for r in db.execute(
            "SELECT category, COUNT(*) FROM findings WHERE case_id = ? AND status != 'rejected' GROUP BY 1",
            [case_id],
        ).fetchall()
    }


def for_case(db, case_id: str) -> list[dict]:
    """Every box of a case (the review's case-wide pane)."""
    return list(
        db.query(
            "SELECT id, page_id, category, status, confidence, detector, source, text_sealed, rects "
            "FROM findings WHERE case_id = ? ORDER BY page_id, id",
            [case_id],
        )
    )


def case_version(db, case_id: str) -> tuple:
    """Changes whenever a box of the case is added, changed or removed (cache key of the pane)."""
    return tuple(
        db.execute(
            "SELECT COUNT(*), MAX(id), MAX(updated_at), SUM(status = 'auto') FROM findings WHERE case_id = ?",
            [case_id],
        ).fetchone()
    )


def open_ids_on_page(db, page_id: int) -> list[int]:
    return [
        r[0]
        for r in db.execute(
            "SELECT id FROM findings WHERE page_id = ? AND status = 'auto' ORDER BY id", [page_id]
        ).fetchall()
    ]
