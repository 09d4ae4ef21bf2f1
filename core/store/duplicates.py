"""Page signatures and duplicate pages of a case (tables of migration m310)."""

from __future__ import annotations

import json
import time
from typing import Optional

from core.store.tx import transaction


def save_signatures(db, case_id: str, rows: list[dict]) -> None:
    """``rows``: {page_id, dhash, content_box, ink}; replaces the pages' earlier signatures."""
    with transaction(db):
        for r in rows:
            db.execute(
                "INSERT OR REPLACE INTO page_signatures (page_id, case_id, dhash, content_box, ink) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    r["page_id"],
                    case_id,
                    r["dhash"],
                    json.dumps([round(float(v), 5) for v in r["content_box"]]),
                    float(r["ink"]),
                ],
            )


def signature(db, page_id: int) -> Optional[dict]:
    row = db.execute(
        "SELECT page_id, dhash, content_box, ink FROM page_signatures WHERE page_id = ?", [page_id]
    ).fetchone()
    if row is None:
        return None
    return {"page_id": row[0], "dhash": row[1], "content_box": json.loads(row[2]), "ink": row[3]}


def replace_duplicates(db, case_id: str, pairs: list[dict]) -> None:
    """``pairs``: {page_id, dup_of, score, method}; the case's earlier findings of duplicates go."""
    now = time.time()
    with transaction(db):
        db.execute("DELETE FROM page_duplicates WHERE case_id = ?", [case_id])
        for p in pairs:
            db.execute(
                "INSERT OR IGNORE INTO page_duplicates (case_id, page_id, dup_of, score, method, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [case_id, p["page_id"], p["dup_of"], float(p["score"]), p["method"], now],
            )


def for_case(db, case_id: str) -> list[dict]:
    return list(
        db.query(
            "SELECT page_id, dup_of, score, method FROM page_duplicates WHERE case_id = ? "
            "ORDER BY page_id, dup_of",
            [case_id],
        )
    )


def for_page(db, page_id: int) -> list[dict]:
    """The pages this page repeats or that repeat it: {other, score, method}."""
    rows = db.execute(
        "SELECT dup_of, score, method FROM page_duplicates WHERE page_id = ? "
        "UNION SELECT page_id, score, method FROM page_duplicates WHERE dup_of = ? ORDER BY 1",
        [page_id, page_id],
    ).fetchall()
    return [{"other": r[0], "score": r[1], "method": r[2]} for r in rows]
