"""Case review workflow: 待处理 → 检测中 → 待整理 → 待审核 → 已批准 | 已退回 → 已导出.

States and allowed transitions are data (``core/rules/case_states.yaml``).
``cases.status`` (table of migration 1) is written in the form the column
already uses: English codes, or the Chinese display names when the column's
default is a Chinese name.  Reading accepts both.

Rules
- submit: a preparer, once every included page was viewed and no box is left
  undecided — or with an explicit override and its reason (audited).
- a case in 待审核 is read-only (``assert_editable``; store triggers of
  migration 150 refuse any box or document change whatever the code path).
- approve/return: a supervisor who is neither the submitter nor anybody who
  edited the case since the last approval (four eyes).
- approve is a compare-and-set: the supervisor passes the fingerprint their
  page showed; when the case's plan differs, the approval is refused with
  what changed (``ApprovalConflict.diff``).  The approval stores the plan
  hash and the pages the supervisor opened.
- the fingerprint covers every included document's digest and page count and
  every box to hide; re-import or re-detection of a case under review,
  approved or exported voids its submission/approval (``void_for_source_change``).
- any edit after approval (``on_case_edited``) supersedes the approval and puts
  the case back to 待审核.
- export only from an approved case with a live approval (``assert_exportable``).
Every transition is written to ``case_events`` and the audit trail.  Submission
notes, return reasons and approval comments are free text a person typed (it
may name someone): stored sealed and bound to their row (``core.store.sealed``).
"""

from __future__ import annotations

import json
import time

from core.security import audit
from core.crypto import sha256_hex
from core.security.auth import require
from core.errors import DeidError, PermissionDenied
from core.rules import load_rules
from core.store import approvals, reviews, sealed
from core.store import cases as case_store
from core.store.tx import transaction

PENDING, DETECTING, PREPARING, IN_REVIEW = "pending", "detecting", "preparing", "in_review"
APPROVED, RETURNED, EXPORTED = "approved", "returned", "exported"


class WorkflowError(DeidError):
    exit_code = 5


class CaseReadOnly(WorkflowError):
    """The case is in 待审核: nobody may change its boxes or documents."""


class SubmissionIncomplete(WorkflowError):
    """Pages not viewed or boxes undecided, and no override given."""

    def __init__(self, progress: dict):
        self.progress = progress
        super().__init__(
            f"还有 {progress['unviewed']} 页未查看、{progress['open_boxes']} 个待确认框："
            "请查看全部页面并确认每个框，或填写理由强制提交（记入审计）",
            f"{progress['unviewed']} page(s) not viewed and {progress['open_boxes']} open box(es); "
            "view every page and decide every box, or give an override reason",
        )


class ApprovalConflict(WorkflowError):
    """The plan changed since the supervisor's page showed its fingerprint."""

    def __init__(self, diff: dict):
        self.diff = diff
        summary = "；".join(describe_plan_diff(diff)[:6]) or "方案指纹不同"
        super().__init__(
            f"批准被拒绝：您页面上显示的脱敏方案已改变（{summary}），请查看变化后重新批准",
            "approval refused: the redaction plan changed since your page showed it",
        )


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
    default = (case_store.status_default(db) or "").strip("'\"")
    return bool(default) and default in states().values()


def _stored(db, code: str) -> str:
    return states()[code] if _stores_chinese(db) else code


def status_of(db, case_id: str) -> str:
    exists, status = case_store.case_status(db, case_id)
    if not exists:
        raise WorkflowError("病例不存在", "no such case")
    return code_of(status)


def _assert_allowed(db, case_id: str, event: str) -> str:
    """The case's status code, when ``event`` may happen now; ``WorkflowError`` otherwise."""
    rule = transitions()[event]
    current = status_of(db, case_id)
    if current not in rule["from"]:
        raise WorkflowError(
            f"病例当前状态为「{display_name(current)}」，不能执行此操作",
            f"case is {current}; {event} needs one of {rule['from']}",
        )
    return current


def _transition(
    db, case_id: str, event: str, actor: str, *, reason: str | None = None, now: float | None = None
) -> str:
    current = _assert_allowed(db, case_id, event)
    target = transitions()[event]["to"]
    t = time.time() if now is None else now
    case_store.write_status(db, case_id, _stored(db, target))
    sealed.insert_row(
        db,
        "case_events",
        {
            "case_id": case_id,
            "event": event,
            "from_status": current,
            "to_status": target,
            "actor": actor,
            "at": t,
        },
        {"reason": reason},
    )
    return target


# ---------------------------------------------------------------- detection (system steps)


def start_detection(db, case_id: str, actor: str = "system") -> str:
    with transaction(db):
        return _transition(db, case_id, "start_detection", actor)


def detection_done(db, case_id: str, actor: str = "system") -> str:
    with transaction(db):
        return _transition(db, case_id, "detection_done", actor)


def detection_failed(db, case_id: str, actor: str = "system", reason: str = "") -> str:
    with transaction(db):
        return _transition(db, case_id, "detection_failed", actor, reason=reason)


# ---------------------------------------------------------------- people


def last_submitter(db, case_id: str) -> str | None:
    return approvals.last_event_actor(db, case_id, "submit")


def editors_since_approval(db, case_id: str) -> set[str]:
    """Users who submitted or edited the case since its last approval."""
    last = approvals.last_event_id(db, case_id, "approve")
    editors = approvals.event_actors_after(db, case_id, last, ("submit", "edit", "edited_after_approval"))
    # box edits recorded by the review pages (table ``edits`` of migration 1), when present
    since = approvals.last_approved_at(db, case_id)
    try:
        editors |= approvals.edit_actors_since(db, case_id, since)
    except Exception:  # no edits table in this store
        pass
    return editors - {"system"}


def submit(
    db, case_id: str, user: dict, *, comment: str | None = None, override_reason: str | None = None
) -> str:
    """Submit for review.  Needs every included page viewed and no undecided box,
    unless ``override_reason`` says why not (stored sealed, audited)."""
    require(user, "case.submit", db, case_id=case_id)
    reason = (override_reason or "").strip()
    with transaction(db):
        _assert_allowed(db, case_id, "submit")
        _assert_no_job(db, case_id)
        progress = reviews.review_progress(db, case_id)
        incomplete = progress["unviewed"] > 0 or progress["open_boxes"] > 0
        if incomplete and not reason:
            raise SubmissionIncomplete(progress)
        target = _transition(db, case_id, "submit", user["username"], reason=comment)
        plan_hash = case_plan_hash(db, case_id, snapshot=True)
        submission_id = reviews.add_submission(
            db, case_id, user["username"], plan_hash, progress, override_reason=reason if incomplete else ""
        )
        audit.record(
            db,
            user["username"],
            "case.submit",
            case_id=case_id,
            detail={
                "submission_id": submission_id,
                "plan_hash": plan_hash,
                "pages": progress["pages"],
                "pages_unviewed": progress["unviewed"],
                "open_boxes": progress["open_boxes"],
                "override": incomplete,
                "override_reason_length": len(reason) if incomplete else 0,
            },
        )
    return target


class JobRunning(WorkflowError):
    """An import or detection of the case is queued or running: its pages and boxes are still changing."""


def _assert_no_job(db, case_id: str) -> None:
    from core.store import jobs as job_store

    if job_store.active(db, case_id):
        raise JobRunning(
            "该病例的导入或检测任务正在进行，完成后才能提交审核",
            "an import or detection of this case is still running",
        )


def assert_editable(db, case_id: str) -> None:
    """Refuse changes to a case in 待审核 (read-only until approved or returned)."""
    if reviews.is_in_review(db, case_id):
        raise CaseReadOnly(
            "病例已提交审核（待审核），整理人不能修改；如需修改，请审核人退回",
            "the case is in review and read-only; ask the supervisor to return it",
        )


def is_editable(db, case_id: str) -> bool:
    return not reviews.is_in_review(db, case_id)


def approve(
    db, case_id: str, user: dict, plan_hash: str, *, comment: str | None = None, now: float | None = None
) -> dict:
    """Approve a case in 待审核 whose plan still has the fingerprint ``plan_hash``
    (the one the supervisor's page showed); returns the approval row.

    Raises ``ApprovalConflict`` (with the diff) when the plan changed since.
    The approval records the included pages this supervisor opened since the
    submission.
    """
    require(user, "case.approve", db, case_id=case_id)
    if not plan_hash or not isinstance(plan_hash, str):
        raise WorkflowError("缺少脱敏方案指纹", "approval needs the redaction plan hash")
    name = user["username"]
    preparer = last_submitter(db, case_id)
    if name == preparer or name in editors_since_approval(db, case_id):
        audit.record(
            db,
            name,
            "permission.denied",
            case_id=case_id,
            detail={"action": "case.approve", "rule": "four_eyes"},
        )
        raise PermissionDenied(
            "不能审核批准自己整理或提交的病例（双人复核）",
            "four-eyes rule: you cannot approve a case you prepared or submitted",
        )
    t = time.time() if now is None else now
    conflict = None
    with transaction(db):
        current = case_plan_hash(db, case_id, snapshot=True)
        if current != plan_hash:
            conflict = plan_diff_since(db, case_id, plan_hash)
        else:
            _transition(db, case_id, "approve", name, reason=comment, now=t)
            approval_id = sealed.insert_row(
                db,
                "approvals",
                {
                    "case_id": case_id,
                    "plan_hash": plan_hash,
                    "prepared_by": preparer or "",
                    "approved_by": name,
                    "approved_at": t,
                },
                {"comment": comment},
            )
            submission = reviews.last_submission(db, case_id)
            opened = reviews.pages_opened(db, case_id, name, since=submission["at"] if submission else 0.0)
            total = reviews.review_progress(db, case_id)["pages"]
            reviews.record_approval_review(
                db, approval_id, submission["id"] if submission else None, opened, total
            )
            audit.record(
                db,
                name,
                "case.approve",
                case_id=case_id,
                detail={
                    "approval_id": approval_id,
                    "plan_hash": plan_hash,
                    "prepared_by": preparer,
                    "has_comment": bool(comment),
                    "pages_opened": len(opened),
                    "pages": total,
                    "submission_override": bool(submission and submission["override"]),
                },
            )
    if conflict is not None:
        audit.record(
            db,
            name,
            "case.approve_refused",
            case_id=case_id,
            detail={"shown": plan_hash, "current": current, "changes": diff_counts(conflict)},
        )
        raise ApprovalConflict(conflict)
    out = approval(db, approval_id)
    assert out is not None  # written in the transaction above
    return out


def return_case(db, case_id: str, user: dict, reason: str) -> str:
    require(user, "case.return", db, case_id=case_id)
    if not (reason or "").strip():
        raise WorkflowError("退回时必须填写原因", "a return needs a reason")
    name = user["username"]
    if name == last_submitter(db, case_id):
        raise PermissionDenied(
            "不能审核自己提交的病例（双人复核）", "four-eyes rule: not your own submission"
        )
    with transaction(db):
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
    with transaction(db):
        current = status_of(db, case_id)
        if current in (APPROVED, EXPORTED):
            _transition(db, case_id, "edited_after_approval", name, now=t)
            approvals.supersede_live_approvals(db, case_id, t, "edited")
            audit.record(db, name, "case.reopened", case_id=case_id, detail={"from": current})
            return IN_REVIEW
        approvals.add_edit_event(db, case_id, current, name, t)
        return current


# ---------------------------------------------------------------- approvals and export


def _opened_approval(out: dict | None) -> dict | None:
    if not out:
        return None
    out["comment"] = sealed.open_value("approvals", out["id"], "comment", out["comment"]) or None
    return out


def approval(db, approval_id: int) -> dict | None:
    return _opened_approval(approvals.approval_row(db, approval_id))


def active_approval(db, case_id: str) -> dict | None:
    return _opened_approval(approvals.live_approval_row(db, case_id))


def assert_exportable(db, case_id: str, plan_hash: str | None = None) -> dict:
    """The approval an export may use; raises ``WorkflowError`` otherwise.

    With ``plan_hash`` the plan about to be exported must be the approved one.
    """
    status = status_of(db, case_id)
    if status not in (APPROVED, EXPORTED):
        raise WorkflowError(
            f"病例未经审核批准（当前：{display_name(status)}），不能导出",
            f"case is {status}; only approved cases can be exported",
        )
    appr = active_approval(db, case_id)
    if appr is None:
        raise WorkflowError("找不到有效的审核批准记录", "no live approval for this case")
    if plan_hash is not None and plan_hash != appr["plan_hash"]:
        raise WorkflowError(
            "脱敏方案在批准后已改变，请重新提交审核", "the redaction plan differs from the approved one"
        )
    return appr


def case_plan_hash(db, case_id: str, *, snapshot: bool = False) -> str:
    """The case's fingerprint: SHA-256 of what the export will hide and from what.

    Covers every included document (doc id, source SHA-256, page count) and
    every box not rejected.  Independent of the export style/policy options,
    so approving freezes the review result; any box, include/exclude or
    source file change gives a different hash.  With ``snapshot`` the plan is
    kept (sealed) under its fingerprint, so a later change can be shown.
    """
    payload = reviews.plan_payload(db, case_id)
    digest = plan_hash_of(payload)
    if snapshot:
        reviews.save_snapshot(db, case_id, digest, payload)
    return digest


def plan_hash_of(payload: dict) -> str:
    return sha256_hex(audit.canonical_json({"fingerprint": 2, **payload}).encode("utf-8"))


def plan_diff(before: dict | None, after: dict) -> dict:
    """What changed from plan ``before`` to plan ``after`` (payloads of ``reviews.plan_payload``).

    Documents: added, removed, changed (digest or page count); boxes: added and
    removed, as ``{doc_id, page_index, category, rects, source}``.  ``before``
    None means the shown plan is not known (only the current one is listed).
    """
    if before is None:
        return {
            "unknown_before": True,
            "documents_added": [],
            "documents_removed": [],
            "documents_changed": [],
            "boxes_added": [],
            "boxes_removed": [],
        }
    b_docs = {d[0]: d for d in before["documents"]}
    a_docs = {d[0]: d for d in after["documents"]}
    changed = [
        {
            "doc_id": k,
            "before": {"sha256": b_docs[k][1], "pages": b_docs[k][2]},
            "after": {"sha256": a_docs[k][1], "pages": a_docs[k][2]},
        }
        for k in sorted(set(b_docs) & set(a_docs))
        if list(b_docs[k]) != list(a_docs[k])
    ]

    def boxes(payload):
        out: dict = {}
        for box in payload["boxes"]:
            key = json.dumps(box, ensure_ascii=False)
            out[key] = out.get(key, 0) + 1
        return out

    b_boxes, a_boxes = boxes(before), boxes(after)

    def listed(src, other):
        rows = []
        for key, n in sorted(src.items()):
            for _ in range(n - other.get(key, 0)):
                doc_id, page_index, category, rects, source = json.loads(key)
                rows.append(
                    {
                        "doc_id": doc_id,
                        "page_index": page_index,
                        "category": category,
                        "rects": json.loads(rects) if isinstance(rects, str) else rects,
                        "source": source,
                    }
                )
        return rows

    return {
        "unknown_before": False,
        "documents_added": sorted(set(a_docs) - set(b_docs)),
        "documents_removed": sorted(set(b_docs) - set(a_docs)),
        "documents_changed": changed,
        "boxes_added": listed(a_boxes, b_boxes),
        "boxes_removed": listed(b_boxes, a_boxes),
    }


def plan_diff_since(db, case_id: str, plan_hash: str) -> dict:
    """The diff from the plan with fingerprint ``plan_hash`` (if it was ever shown or submitted) to now."""
    return plan_diff(reviews.load_snapshot(db, case_id, plan_hash), reviews.plan_payload(db, case_id))


def diff_counts(diff: dict) -> dict:
    return {k: len(v) for k, v in diff.items() if isinstance(v, list)}


def describe_plan_diff(diff: dict) -> list[str]:
    """One Chinese line per change (document ids, pages, categories, counts — never box text)."""
    if diff.get("unknown_before"):
        return ["页面显示的方案指纹不是本病例提交或显示过的方案"]
    lines = [f"新增文档 {d}" for d in diff["documents_added"]]
    lines += [f"移除文档 {d}" for d in diff["documents_removed"]]
    lines += [
        f"文档 {c['doc_id']} 的文件已改变（{c['before']['pages']} 页 → {c['after']['pages']} 页）"
        for c in diff["documents_changed"]
    ]
    for key, verb in (("boxes_added", "新增"), ("boxes_removed", "移除")):
        per_page: dict = {}
        for b in diff[key]:
            per_page[(b["doc_id"], b["page_index"])] = per_page.get((b["doc_id"], b["page_index"]), 0) + 1
        lines += [f"{doc} 第 {page + 1} 页{verb} {n} 个框" for (doc, page), n in sorted(per_page.items())]
    return lines


def void_for_source_change(db, case_id: str, actor: str, cause: str) -> bool:
    """Re-import or re-detection of a case under review, approved or exported:
    its submission and approval no longer describe the pages.  The case goes
    back to 待整理, live approvals are superseded, the audit trail says why.
    Returns True when something was voided."""
    t = time.time()
    with transaction(db):
        current = status_of(db, case_id)
        if current not in transitions()["source_changed"]["from"]:
            return False
        _transition(db, case_id, "source_changed", actor, reason=cause, now=t)
        voided = approvals.live_approval_ids(db, case_id)
        approvals.supersede_live_approvals(db, case_id, t, cause)
        audit.record(
            db,
            actor,
            "case.approval_voided",
            case_id=case_id,
            detail={"from": current, "cause": cause, "approval_ids": voided},
        )
    return True


def mark_exported(db, case_id: str, user: dict | str, approval_id: int) -> str:
    name = user if isinstance(user, str) else user["username"]
    with transaction(db):
        return _transition(db, case_id, "export", name, reason=f"approval {approval_id}")


def history(db, case_id: str) -> list[dict]:
    """Status transitions of a case, oldest first (notes and reasons unsealed: show only to its reviewers)."""
    events = approvals.case_events(db, case_id)
    for e in events:
        e["reason"] = sealed.open_value("case_events", e["id"], "reason", e["reason"]) or None
    return events


def cases_in(db, status_code: str) -> list[str]:
    values = {status_code, states()[status_code]}
    return case_store.cases_with_status(db, values)
