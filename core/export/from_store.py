"""Export an approved case from the store (UI export page and CLI).

Checks the role (``case.export``) and that the case is approved with the
plan being exported (``core.cases.workflow.assert_exportable``), gathers the
included documents with their reviewed findings, seeds and every identifier
known for the case, runs the pipeline, then stores the result sealed and
audited (or the blocked attempt with its report).
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from core.cases import workflow
from core.security.auth import require, role_name
from core.errors import LeakError
from core.export.options import DEFAULT_WATERMARK, ExportDocument, ExportOptions, ExportResult
from core.export.pipeline import export_case
from core.export.store import record_blocked, record_export
from core.store import cases, documents, findings


def case_documents(db, case_id: str) -> list[ExportDocument]:
    out = []
    for row in documents.list_documents(db, case_id):
        out.append(
            ExportDocument(
                doc_id=row["doc_id"],
                doc_type=row["type"],
                title=row["title"],
                date=row["date"],
                pdf=documents.pdf_bytes(db, row["id"]),
                findings=findings.for_document(db, row["id"]),
                include=bool(row["included"]),
                blank_pages=documents.failed_page_indices(db, row["id"]),
                hidden_pages=documents.hidden_pages(db, row["id"]),
            )
        )
    return out


def case_seeds(db, case_id: str) -> list:
    raw = cases.load_seeds(db, case_id) or []
    out = []
    for s in raw:
        if isinstance(s, dict) and s.get("value"):
            out.append(
                SimpleNamespace(
                    value=s["value"], category=s.get("category", ""), origin=s.get("origin", "seed")
                )
            )
    return out


def approval_record(appr: dict | None) -> list[dict]:
    """Roles and times only — never user names."""
    if not appr:
        return []
    when = (
        dt.datetime.fromtimestamp(appr["approved_at"]).strftime("%Y-%m-%d %H:%M")
        if appr.get("approved_at")
        else ""
    )
    return [
        {"role": role_name("preparer"), "action": "整理并提交审核"},
        {"role": role_name("supervisor"), "action": "审核批准（双人复核）", "at": when},
    ]


def export_from_store(
    db, case_id: str, user, options: ExportOptions | None = None, progress=None
) -> tuple[int, ExportResult]:
    options = options or ExportOptions()
    require(user, "case.export", db, case_id=case_id)
    appr = workflow.assert_exportable(db, case_id, workflow.case_plan_hash(db, case_id))
    case_row = cases.get_case(db, case_id) or {}
    if options.watermark == "default":
        options.watermark = DEFAULT_WATERMARK
    if not options.committee:
        options.committee = case_row.get("review_type") or "评审"
    docs = case_documents(db, case_id)
    meta = cases.case_meta(db, case_id)
    try:
        result = export_case(
            docs,
            meta,
            options,
            seeds=case_seeds(db, case_id),
            extra_identifiers=sorted(findings.case_identifiers(db, case_id)),
            approval=approval_record(appr),
            progress=progress,
        )
    except LeakError as err:
        record_blocked(
            db,
            case_id,
            getattr(err, "report", {"leaks": err.leaks}),
            user,
            options=options,
            approval_id=appr["id"],
        )
        raise
    export_id = record_export(db, case_id, result, user, options=options, approval_id=appr["id"])
    workflow.mark_exported(db, case_id, user, appr["id"])
    return export_id, result
