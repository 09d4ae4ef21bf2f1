"""Case review workflow: 待处理 → 检测中 → 待整理 → 待审核 → 已批准 | 已退回 → 已导出.

States and allowed transitions are data (``core/rules/case_states.yaml``).
``cases.status`` (table of migration 1) is written in the form the column
already uses: English codes, or the Chinese display names when the column's
default is a Chinese name.  Reading accepts both.

Rules
- submit: a preparer; approve/return: a supervisor who is neither the
  submitter nor anybody who edited the case since the last approval (four eyes).
- approve freezes the redaction plan: the approval row stores its hash.
- any edit after approval (``on_case_edited``) supersedes the approval and puts
  the case back to 待审核.
- export only from an approved case with a live approval (``assert_exportable``).
Every transition is written to ``case_events`` and the audit trail.  Submission
notes, return reasons and approval comments are free text a person typed (it
may name someone): stored sealed and bound to their row (``core.store.sealed``).
"""
from __future__ import annotations

import time

from core import audit
from core.crypto import sha256_hex
from core.auth import require
from core.errors import DeidError, PermissionDenied
from core.rules import load_rules
from core.store import sealed

PENDING, DETECTING, PREPARING, IN_REVIEW = "pending", "detecting", "preparing", "in_review"
APPROVED, RETURNED, EXPORTED = "approved", "returned", "exported"


class WorkflowError(DeidError):
    exit_code = 5


def states() -> dict[str, str]:
    """Code -> Chinese display name, in workflow order."""
    return dict(load_rules("case_states")["states"])


def transitions() -> dict[str, dict]:
    return load_rules("case_states")["transitions"]


def code_of(status: str | None) -> str:
    """English code for a stored status (accepts codes or Chinese names)."""
    if not status:
        return PENDING
    if status in states():
        return status
    for code, name in states().items():
        if name == status:
            return code
    raise WorkflowError(f"未知病例状态：{status}", f"unknown case status {status!r}")


def display_name(status: str | None) -> str:
    return states().get(code_of(status), status or "")


def _stores_chinese(db) -> bool:
    for row in db.conn.execute("PRAGMA table_info(cases)").fetchall():
        if row[1] == "status":
            default = (row[4] or "").strip("'\"")
            return bool(default) and default in states().values()
    return False


def _stored(db, code: str) -> str:
    return states()[code] if _stores_chinese(db) else code


def status_of(db, case_id: str) -> str:
    row = db.conn.execute("SELECT status FROM cases WHERE id = ?", [case_id]).fetchone()
    if row is None:
        raise WorkflowError("病例不存在", "no such case")
    return code_of(row[0])


def _transition(db, case_id: str, event: str, actor: str, *, reason: str | None = None, now: float | None = None) -> str:
    rule = transitions()[event]
    current = status_of(db, case_id)
    if current not in rule["from"]:
        raise WorkflowError(
            f"病例当前状态为「{display_name(current)}」，不能执行此操作",
            f"case is {current}; {event} needs one of {rule['from']}",
        )
    target = rule["to"]
    t = time.time() if now is None else now
    db.conn.execute("UPDATE cases SET status = ? WHERE id = ?", [_stored(db, target), case_id])
    sealed.insert_row(db, "case_events", {"case_id": case_id, "event": event, "from_status": current,
                                          "to_status": target, "actor": actor, "at": t}, {"reason": reason})
    return target


def _tx(db):
    """Context manager: one IMMEDIATE transaction unless one is open already."""
    class _T:
        def __enter__(self):
            self.own = not db.conn.in_transaction
            if self.own:
                db.conn.execute("BEGIN IMMEDIATE")

        def __exit__(self, exc_type, exc, tb):
            if self.own:
                db.conn.execute("ROLLBACK" if exc_type else "COMMIT")
            return False
    return _T()


# ---------------------------------------------------------------- detection (system steps)

def start_detection(db, case_id: str, actor: str = "system") -> str:
    with _tx(db):
        return _transition(db, case_id, "start_detection", actor)


def detection_done(db, case_id: str, actor: str = "system") -> str:
    with _tx(db):
        return _transition(db, case_id, "detection_done", actor)


def detection_failed(db, case_id: str, actor: str = "system", reason: str = "") -> str:
    with _tx(db):
        return _transition(db, case_id, "detection_failed", actor, reason=reason)


# ---------------------------------------------------------------- people

def last_submitter(db, case_id: str) -> str | None:
    row = db.conn.execute(
        "SELECT actor FROM case_events WHERE case_id = ? AND event = 'submit' ORDER BY id DESC LIMIT 1", [case_id]
    ).fetchone()
    return row[0] if row else None


def editors_since_approval(db, case_id: str) -> set[str]:
    """Users who submitted or edited the case since its last approval."""
    last = db.conn.execute(
        "SELECT COALESCE(MAX(id), 0) FROM case_events WHERE case_id = ? AND event = 'approve'", [case_id]
    ).fetchone()[0]
    rows = db.conn.execute(
        "SELECT DISTINCT actor FROM case_events WHERE case_id = ? AND id > ? AND event IN ('submit', 'edit', 'edited_after_approval')",
        [case_id, last],
    ).fetchall()
    editors = {r[0] for r in rows}
    # box edits recorded by the review pages (table ``edits`` of migration 1), when present
    since = db.conn.execute(
        "SELECT COALESCE(MAX(approved_at), 0) FROM approvals WHERE case_id = ?", [case_id]
    ).fetchone()[0]
    try:
        editors |= {r[0] for r in db.conn.execute(
            "SELECT DISTINCT actor FROM edits WHERE case_id = ? AND at > ?", [case_id, since]).fetchall()}
    except Exception:  # no edits table in this store
        pass
    return editors - {"system"}


def submit(db, case_id: str, user: dict, *, comment: str | None = None) -> str:
    require(user, "case.submit", db, case_id=case_id)
    with _tx(db):
        target = _transition(db, case_id, "submit", user["username"], reason=comment)
        audit.record(db, user["username"], "case.submit", case_id=case_id)
    return target


def approve(db, case_id: str, user: dict, plan_hash: str, *, comment: str | None = None,
            now: float | None = None) -> dict:
    """Approve a case in 待审核; returns the approval row (with the frozen plan hash)."""
    require(user, "case.approve", db, case_id=case_id)
    if not plan_hash or not isinstance(plan_hash, str):
        raise WorkflowError("缺少脱敏方案指纹", "approval needs the redaction plan hash")
    name = user["username"]
    preparer = last_submitter(db, case_id)
    if name == preparer or name in editors_since_approval(db, case_id):
        audit.record(db, name, "permission.denied", case_id=case_id, detail={"action": "case.approve", "rule": "four_eyes"})
        raise PermissionDenied("不能审核批准自己整理或提交的病例（双人复核）",
                               "four-eyes rule: you cannot approve a case you prepared or submitted")
    t = time.time() if now is None else now
    with _tx(db):
        _transition(db, case_id, "approve", name, reason=comment, now=t)
        approval_id = sealed.insert_row(db, "approvals", {"case_id": case_id, "plan_hash": plan_hash,
                                                          "prepared_by": preparer or "", "approved_by": name,
                                                          "approved_at": t}, {"comment": comment})
        audit.record(db, name, "case.approve", case_id=case_id,
                     detail={"approval_id": approval_id, "plan_hash": plan_hash, "prepared_by": preparer,
                             "has_comment": bool(comment)})
    return approval(db, approval_id)


def return_case(db, case_id: str, user: dict, reason: str) -> str:
    require(user, "case.return", db, case_id=case_id)
    if not (reason or "").strip():
        raise WorkflowError("退回时必须填写原因", "a return needs a reason")
    name = user["username"]
    if name == last_submitter(db, case_id):
        raise PermissionDenied("不能审核自己提交的病例（双人复核）", "four-eyes rule: not your own submission")
    with _tx(db):
        target = _transition(db, case_id, "return", name, reason=reason.strip())
        audit.record(db, name, "case.return", case_id=case_id, detail={"reason_length": len(reason.strip())})
    return target


def on_case_edited(db, case_id: str, user: dict | str) -> str:
    """Call after every change to a case's boxes/documents.

    An approved (or exported) case goes back to 待审核 and its approval is
    superseded; otherwise the edit is only noted (for the four-eyes check).
    Returns the case's status code afterwards.
    """
    name = user if isinstance(user, str) else user["username"]
    t = time.time()
    with _tx(db):
        current = status_of(db, case_id)
        if current in (APPROVED, EXPORTED):
            _transition(db, case_id, "edited_after_approval", name, now=t)
            db.conn.execute(
                "UPDATE approvals SET superseded_at = ?, superseded_reason = 'edited' WHERE case_id = ? AND superseded_at IS NULL",
                [t, case_id],
            )
            audit.record(db, name, "case.reopened", case_id=case_id, detail={"from": current})
            return IN_REVIEW
        db.conn.execute(
            "INSERT INTO case_events (case_id, event, from_status, to_status, actor, reason, at) VALUES (?, 'edit', ?, ?, ?, NULL, ?)",
            [case_id, current, current, name, t],
        )
        return current


# ---------------------------------------------------------------- approvals and export

def _opened_approval(cur) -> dict | None:
    row = cur.fetchone()
    if not row:
        return None
    out = dict(zip([c[0] for c in cur.description], row))
    out["comment"] = sealed.open_value("approvals", out["id"], "comment", out["comment"]) or None
    return out


def approval(db, approval_id: int) -> dict | None:
    return _opened_approval(db.conn.execute("SELECT * FROM approvals WHERE id = ?", [approval_id]))


def active_approval(db, case_id: str) -> dict | None:
    return _opened_approval(db.conn.execute(
        "SELECT * FROM approvals WHERE case_id = ? AND superseded_at IS NULL ORDER BY id DESC LIMIT 1", [case_id]
    ))


def assert_exportable(db, case_id: str, plan_hash: str | None = None) -> dict:
    """The approval an export may use; raises ``WorkflowError`` otherwise.

    With ``plan_hash`` the plan about to be exported must be the approved one.
    """
    status = status_of(db, case_id)
    if status not in (APPROVED, EXPORTED):
        raise WorkflowError(f"病例未经审核批准（当前：{display_name(status)}），不能导出",
                            f"case is {status}; only approved cases can be exported")
    appr = active_approval(db, case_id)
    if appr is None:
        raise WorkflowError("找不到有效的审核批准记录", "no live approval for this case")
    if plan_hash is not None and plan_hash != appr["plan_hash"]:
        raise WorkflowError("脱敏方案在批准后已改变，请重新提交审核",
                            "the redaction plan differs from the approved one")
    return appr


def case_plan_hash(db, case_id: str) -> str:
    """SHA-256 of what the export will hide: included documents and their non-rejected boxes.

    Independent of the export style/policy options, so approving freezes the
    review result; any box or include/exclude change gives a different hash.
    Uses the tables of migration 1 (documents, pages, findings).
    """
    docs = db.conn.execute(
        "SELECT id, doc_id FROM documents WHERE case_id = ? AND included = 1 ORDER BY catalog_order, doc_id", [case_id]
    ).fetchall()
    boxes = db.conn.execute(
        "SELECT d.doc_id, p.page_index, f.category, f.rects, f.source FROM findings f "
        "JOIN pages p ON p.id = f.page_id JOIN documents d ON d.id = p.document_id "
        "WHERE f.case_id = ? AND d.included = 1 AND f.status != 'rejected' "
        "ORDER BY d.doc_id, p.page_index, f.category, f.rects", [case_id]
    ).fetchall()
    payload = {"documents": [d[1] for d in docs], "boxes": [list(b) for b in boxes]}
    return sha256_hex(audit.canonical_json(payload).encode("utf-8"))


def mark_exported(db, case_id: str, user: dict | str, approval_id: int) -> str:
    name = user if isinstance(user, str) else user["username"]
    with _tx(db):
        return _transition(db, case_id, "export", name, reason=f"approval {approval_id}")


def history(db, case_id: str) -> list[dict]:
    """Status transitions of a case, oldest first (notes and reasons unsealed: show only to its reviewers)."""
    cur = db.conn.execute("SELECT * FROM case_events WHERE case_id = ? ORDER BY id", [case_id])
    names = [c[0] for c in cur.description]
    events = [dict(zip(names, r)) for r in cur.fetchall()]
    for e in events:
        e["reason"] = sealed.open_value("case_events", e["id"], "reason", e["reason"]) or None
    return events


def cases_in(db, status_code: str) -> list[str]:
    values = {status_code, states()[status_code]}
    rows = db.conn.execute(
        f"SELECT id FROM cases WHERE status IN ({', '.join('?' for _ in values)}) ORDER BY id", list(values)
    ).fetchall()
    return [r[0] for r in rows]
