"""A case's review decisions as CSV, so work survives a re-detection or moves
between installations.

One row per box and one per page hidden whole::

    kind,doc_id,page,box_id,rects,category,status,source,detector,reason_code

``page`` is 1-based within its document; ``rects`` is JSON of the box's
rectangles in unrotated page points; ``reason_code`` is a code only
(``hide_all`` for a box of 全案隐藏此文字, the reason code of a page hidden
whole, ``typed`` when the preparer typed a reason, which is never written).
No covered text, masked or not, and no typed reason is ever in the file.

Import matches each box row to a box of the same document page and category
whose geometry overlaps it (intersection over union ≥ ``MATCH_IOU``, best
first, each box used once), then applies the row's status (and its geometry
when the box was moved).  A manual row that matches nothing is drawn again;
an automatic row that matches nothing is reported as unmatched.  Every change
goes through the review functions (role check, read-only in review, edits row,
audit record).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Optional

from core.errors import InputError
from core.models import Category, Source
from core.pdf import geometry
from core.security import audit
from core.security.auth import require
from core.store import documents as doc_store
from core.store import findings as finding_store
from core.store.tx import transaction

COLUMNS = [
    "kind",
    "doc_id",
    "page",
    "box_id",
    "rects",
    "category",
    "status",
    "source",
    "detector",
    "reason_code",
]
MATCH_IOU = 0.5
SAME_IOU = 0.95  # above this the box is where the row says (not moved)
STATUSES = (finding_store.AUTO, finding_store.ACCEPTED, finding_store.REJECTED)


def _reason_code(row: dict) -> str:
    reason = finding_store.open_reason(row) if row.get("reason") else ""
    if not reason:
        return ""
    return "hide_all" if reason == "hide_all" else "typed"


def export_csv(db, user: dict, case_id: str) -> str:
    """The case's decisions as CSV text (UTF-8; write it with a BOM for spreadsheet programs)."""
    require(user, "decisions.export", db, case_id=case_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    boxes = pages = 0
    all_pages = doc_store.list_pages(db, case_id, included_only=False)
    for doc in doc_store.list_documents(db, case_id):
        hidden = doc_store.hidden_pages(db, doc["id"])
        for page_index, code in sorted(hidden.items()):
            writer.writerow(["page", doc["doc_id"], page_index + 1, "", "", "", "", "", "", code])
            pages += 1
        for page in (p for p in all_pages if p["document_id"] == doc["id"]):
            for row in finding_store.for_page(db, page["id"]):
                rects = [
                    [float(v) for v in r] for r in finding_store.rects_of(row)
                ]  # exact: a round trip keeps the plan
                writer.writerow(
                    [
                        "box",
                        doc["doc_id"],
                        page["page_index"] + 1,
                        row["id"],
                        json.dumps(rects, separators=(",", ":")),
                        row["category"],
                        row["status"],
                        row["source"],
                        row["detector"],
                        _reason_code(row),
                    ]
                )
                boxes += 1
    audit.record(
        db, user["username"], "decisions.export", case_id=case_id, detail={"boxes": boxes, "pages": pages}
    )
    return out.getvalue()


def _parse(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or [c.strip() for c in reader.fieldnames] != COLUMNS:
        raise InputError("审阅决定文件的列不对（应为本系统导出的 CSV）", "not a decisions CSV: wrong columns")
    rows = []
    for n, raw in enumerate(reader, 2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        try:
            row["page"] = int(row["page"])
            if row["kind"] == "box":
                rects = json.loads(row["rects"])
                row["rects"] = [tuple(float(v) for v in r) for r in rects]
                if not row["rects"] or any(len(r) != 4 for r in row["rects"]):
                    raise ValueError("rects")
                Category(row["category"])
                if row["status"] not in STATUSES:
                    raise ValueError("status")
            elif row["kind"] != "page":
                raise ValueError("kind")
        except (ValueError, TypeError, KeyError):
            raise InputError(
                f"审阅决定文件第 {n} 行无法读取", f"decisions CSV: line {n} cannot be read"
            ) from None
        rows.append(row)
    return rows


def _iou(a: list, b: list) -> float:
    if not a or not b:
        return 0.0
    ua, ub = geometry.union(a), geometry.union(b)
    inter = sum(geometry.intersection(ra, rb) for ra in a for rb in b)
    whole = sum(geometry.area(r) for r in a) + sum(geometry.area(r) for r in b) - inter
    if whole <= 0:
        return 0.0
    # boxes split into a different number of rects still compare by their extent
    return max(inter / whole, _rect_iou(ua, ub) if len(a) != len(b) else 0.0)


def _rect_iou(a, b) -> float:
    inter = geometry.intersection(a, b)
    whole = geometry.area(a) + geometry.area(b) - inter
    return inter / whole if whole > 0 else 0.0


def import_csv(db, user: dict, case_id: str, text: str) -> dict:
    """Apply a decisions CSV to the case; returns counts:
    ``rows, matched, changed, added, unmatched, pages_hidden, unknown_pages``."""
    from core.cases import review

    require(user, "decisions.import", db, case_id=case_id)
    review.assert_case_editable(db, case_id)
    rows = _parse(text)
    counts = {
        "rows": len(rows),
        "matched": 0,
        "changed": 0,
        "added": 0,
        "unmatched": 0,
        "pages_hidden": 0,
        "unknown_pages": 0,
    }
    page_ids: dict[tuple, Optional[int]] = {}

    def page_of(doc_id: str, page_no: int) -> Optional[int]:
        key = (doc_id, page_no)
        if key not in page_ids:
            doc = doc_store.get_document(db, case_id, doc_id)
            page_ids[key] = doc_store.page_id_for(db, doc["id"], page_no - 1) if doc else None
        return page_ids[key]

    reasons = review.page_hide_reasons()
    used: set[int] = set()
    by_page: dict[int, list[dict]] = {}
    for row in rows:
        page_id = page_of(row["doc_id"], row["page"])
        if page_id is None:
            counts["unknown_pages"] += 1
            continue
        if row["kind"] == "page":
            if row["reason_code"] in reasons:
                page = doc_store.require_page(db, page_id)
                if page.get("hide_reason") != row["reason_code"]:
                    review.hide_page(db, user, page_id, row["reason_code"])
                counts["pages_hidden"] += 1
            else:
                counts["unmatched"] += 1
            continue
        by_page.setdefault(page_id, []).append(row)
    for page_id, page_rows in by_page.items():
        current = finding_store.for_page(db, page_id)
        # best matches first, so a near-identical pair is never split by a weaker one
        pairs = sorted(
            (
                (_iou(r["rects"], finding_store.rects_of(f)), i, f["id"])
                for i, r in enumerate(page_rows)
                for f in current
                if f["category"] == r["category"]
            ),
            reverse=True,
        )
        matched: dict[int, int] = {}
        for score, i, fid in pairs:
            if score < MATCH_IOU or i in matched or fid in used:
                continue
            matched[i] = fid
            used.add(fid)
        for i, row in enumerate(page_rows):
            fid = matched.get(i)
            if fid is None:
                if row["source"] == Source.MANUAL.value and row["status"] != finding_store.REJECTED:
                    _add(db, user, page_id, row)
                    counts["added"] += 1
                else:
                    counts["unmatched"] += 1
                continue
            counts["matched"] += 1
            counts["changed"] += _apply(db, user, finding_store.require(db, fid), row)
    audit.record(
        db, user["username"], "decisions.import", case_id=case_id, detail={k: v for k, v in counts.items()}
    )
    return counts


def _apply(db, user: dict, box: dict, row: dict) -> int:
    """Bring one matched box to the row's decision; returns 1 when it changed."""
    from core.cases import review

    changed = 0
    moved = (
        row["status"] == finding_store.ACCEPTED and _iou(row["rects"], finding_store.rects_of(box)) < SAME_IOU
    )
    if moved:
        _set_rects(db, user, box, row["rects"])
        changed = 1
    if (
        row["status"] != finding_store.AUTO
        and (moved or box["status"] != row["status"])
        and finding_store.require(db, box["id"])["status"] != row["status"]
    ):
        review.decide(db, user, box["id"], row["status"] == finding_store.ACCEPTED)
        changed = 1
    return changed


def _set_rects(db, user: dict, box: dict, rects: list) -> None:
    from core.cases import review

    require(user, "box.change", db, case_id=box["case_id"])
    before = [review.rounded_rect(r) for r in finding_store.rects_of(box)]
    with transaction(db):
        review.assert_case_editable(db, box["case_id"])
        finding_store.update(db, box["id"], rects=rects, status=finding_store.ACCEPTED)
        review.record_box_edit(
            db,
            user,
            "change",
            box,
            box["id"],
            box["category"],
            before,
            [review.rounded_rect(r) for r in rects],
        )
    review.after_case_edit(db, user, box["case_id"])


def _add(db, user: dict, page_id: int, row: dict) -> int:
    """A manual box of the file drawn again (page points), accepted, audited like a drawn one."""
    from core.cases import review

    page = doc_store.require_page(db, page_id)
    require(user, "box.add", db, case_id=page["case_id"])
    reason = "hide_all" if row["reason_code"] == "hide_all" else ""
    return review.store_manual_box(
        db, user, page, list(row["rects"]), row["category"], reason, audit_reason=""
    )
