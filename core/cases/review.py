"""What the review page does, as plain functions over the store.

Every change checks the user's role (``core.security.auth.require``) and that the
case is not in 待审核 (``core.cases.workflow.assert_editable``: a submitted case is
read-only until the supervisor returns or approves it), writes an
``edits`` row (before/after geometry in page points) and an audit record,
and tells the workflow the case was edited (an approved case goes back to
待审核).  Geometry arrives in render pixels (the canvas) and is stored in
unrotated page points (the model's space, see ``core.pdf.geometry``).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from functools import lru_cache
from typing import Optional

import pymupdf

from core.security import audit
from core.security.auth import require
from core.models import Category, Finding, Source
from core.pdf import geometry
from core.pdf.render import render_page_png
from core.rules import load_rules
from core.store import cases as case_store
from core.store import documents as doc_store
from core.store import files
from core.store import findings as finding_store
from core.store import reviews as review_store
from core.store.tx import transaction

LOW_CONFIDENCE = 0.8
REVIEW_DPI = 100
THUMB_DPI = 16


@lru_cache(maxsize=1)
def categories() -> dict[str, dict]:
    """category value → {zh, color} (``core/rules/categories.yaml``)."""
    return load_rules("categories")


def category_label(cat: str) -> str:
    return categories().get(cat, {}).get("zh", cat)


def category_color(cat: str) -> str:
    return categories().get(cat, {}).get("color", "#000000")


# ---- reading -------------------------------------------------------------------


def documents(db, user: dict, case_id: str) -> list[dict]:
    require(user, "case.view", db, case_id=case_id)
    return doc_store.list_documents(db, case_id)


def pages(db, case_id: str) -> list[dict]:
    """Pages of included documents in review order."""
    return doc_store.list_pages(db, case_id, included_only=True)


def open_page(db, user: dict, page_id: int) -> dict:
    """Open a page for review: role check, mark viewed, audit the view (调阅) and remember it as the
    user's place in the case (a reload reopens there).  One transaction: one commit per page switch,
    not four."""
    from core.store import sessions as session_store

    page = doc_store.require_page(db, page_id)
    require(user, "page.view", db, case_id=page["case_id"])
    with transaction(db):
        first = doc_store.mark_viewed(db, page_id)
        review_store.record_page_view(
            db, page["case_id"], page_id, page["doc_id"], page["page_index"], user["username"]
        )
        audit.record(
            db,
            user["username"],
            "page.view",
            case_id=page["case_id"],
            page=page["page_index"],
            detail={"doc": page["doc_id"], "first_view": first},
        )
        session_store.save_review_place(db, user["username"], page["case_id"], page_id, time.time())
    return page


def _fitz_page(db, page: dict) -> tuple[pymupdf.Document, pymupdf.Page]:
    pdf = doc_store.open_document(db, page["document_id"])
    return pdf, pdf[page["page_index"]]


_MATRICES: "OrderedDict[tuple, pymupdf.Matrix]" = OrderedDict()
_MATRICES_MAX = 4096


def _rotation_matrix(db, page: dict) -> pymupdf.Matrix:
    """The page's rotation matrix (unrotated points → display points), remembered per document
    version and page: a page switch need not open the document for it."""
    doc = doc_store.require_document(db, page["document_id"])
    key = (page["document_id"], doc["source_sha256"], page["page_index"])
    with _mem_lock:
        held = _MATRICES.get(key)
    if held is None:
        held = _document_matrices(db, page["document_id"], doc["source_sha256"])[page["page_index"]]
    return held


def _document_matrices(db, document_id: int, sha256: str) -> list[pymupdf.Matrix]:
    """The rotation matrices of every page of a document, remembered from one open.  Geometry only:
    the working copy is opened as stored, since the layers and annotations ``as_shown`` bakes into
    the content move no page's box or rotation (baking a whole document costs a page switch
    10–20 ms)."""
    pdf = pymupdf.open(stream=doc_store.pdf_bytes(db, document_id), filetype="pdf")
    try:
        held = [pymupdf.Matrix(fpage.rotation_matrix) for fpage in pdf.pages()]
    finally:
        pdf.close()
    with _mem_lock:
        for index, matrix in enumerate(held):
            _MATRICES[(document_id, sha256, index)] = matrix
        while len(_MATRICES) > _MATRICES_MAX:
            _MATRICES.popitem(last=False)
    return held


def _display_pixels(matrix: pymupdf.Matrix, rect, dpi: float):
    """``geometry.page_to_pixels`` with the page's rotation matrix."""
    r = pymupdf.Rect(rect) * matrix
    r.normalize()
    return geometry.scale((r.x0, r.y0, r.x1, r.y1), dpi / 72.0)


def findings_view(db, page_id: int, dpi: int = REVIEW_DPI) -> list[dict]:
    """Findings of a page for display: masked text, pixel boxes (rotated display space)."""
    page = doc_store.require_page(db, page_id)
    matrix = _rotation_matrix(db, page)
    out = []
    for row in finding_store.for_page(db, page_id):
        rects = finding_store.rects_of(row)
        out.append(
            {
                "id": row["id"],
                "category": row["category"],
                "label": category_label(row["category"]),
                "color": category_color(row["category"]),
                "status": row["status"],
                "source": row["source"],
                "detector": row["detector"],
                "confidence": row["confidence"],
                "reason": finding_store.open_reason(row),
                "masked": finding_store.masked_text(row),
                "has_text": bool(row["text_sealed"]),
                "rects": rects,
                "rects_px": [_display_pixels(matrix, r, dpi) for r in rects],
            }
        )
    return out


# ---- renders (encrypted cache on disk + small memory cache) --------------------

_MEM: "OrderedDict[str, bytes]" = OrderedDict()
_MEM_MAX = 64
_mem_lock = threading.Lock()


def _mem_get(key: str) -> Optional[bytes]:
    with _mem_lock:
        if key in _MEM:
            _MEM.move_to_end(key)
            return _MEM[key]
    return None


def _mem_put(key: str, data: bytes) -> None:
    with _mem_lock:
        _MEM[key] = data
        while len(_MEM) > _MEM_MAX:
            _MEM.popitem(last=False)


def forget_cached_renders() -> None:
    """Empty the memory cache of renders (the sealed files stay): a fresh server process, as seen by bench and tests."""
    with _mem_lock:
        _MEM.clear()


def page_png(db, page_id: int, dpi: int = REVIEW_DPI) -> bytes:
    """PNG of the original page (display orientation), cached encrypted under the data dir."""
    page = doc_store.require_page(db, page_id)
    doc = doc_store.require_document(db, page["document_id"])
    rel = f"{files.case_folder(page['case_id'])}/renders/{doc['source_sha256'][:16]}_{page['page_index']}_{dpi}.png.sealed"

    def render() -> bytes:
        pdf, fpage = _fitz_page(db, page)
        try:
            return render_page_png(fpage, dpi)
        finally:
            pdf.close()

    data = _cached_render(rel, render)
    if dpi == REVIEW_DPI and page.get("render_path") != rel:  # after the sealed file exists
        doc_store.set_render_path(db, page_id, rel)
    return data


def _cached_render(rel: str, make) -> bytes:
    """A render from memory, else from its sealed file, else made by ``make()`` and sealed."""
    hit = _mem_get(rel)
    if hit is not None:
        return hit
    if files.exists(rel):
        data = files.read_sealed(rel)
    else:
        data = make()
        files.write_sealed(rel, data)
    _mem_put(rel, data)
    return data


def display_image(db, page_id: int) -> bytes:
    """The review render as sent to the browser: JPEG for scanned pages (a fifth of the PNG), PNG otherwise."""
    page = doc_store.require_page(db, page_id)
    if not page["scanned"]:
        return page_png(db, page_id)
    doc = doc_store.require_document(db, page["document_id"])
    rel = f"{files.case_folder(page['case_id'])}/renders/{doc['source_sha256'][:16]}_{page['page_index']}_{REVIEW_DPI}.jpg.sealed"
    return _cached_render(rel, lambda: pymupdf.Pixmap(page_png(db, page_id)).tobytes("jpg", jpg_quality=80))


def warm_renders(db, case_id: str, dpi: int = REVIEW_DPI, progress=None) -> int:
    """Render every page of a case into the encrypted cache (after import)."""
    n = 0
    all_pages = doc_store.list_pages(db, case_id, included_only=False)
    for i, p in enumerate(all_pages):
        page_png(db, p["id"], dpi)
        if dpi == REVIEW_DPI:
            thumbnail_png(
                db, p["id"]
            )  # the review's strip: a block of six unrendered costs a switch ≈ 100 ms
            if p["scanned"]:
                display_image(db, p["id"])
        n += 1
        if progress:
            progress(i + 1, len(all_pages))
    return n


def thumbnail_png(db, page_id: int) -> bytes:
    return page_png(db, page_id, THUMB_DPI)


def preview_png(
    db, user: dict, page_id: int, dpi: int = REVIEW_DPI, style: str = "black"
) -> tuple[bytes, dict]:
    """The page exactly as exported: redacted with the engine (the one
    plan → apply → sanitize → verify path of the CLI and the export), then
    rendered.  A page whose detection failed is blanked here as it is in the
    export; so is a page MuPDF cannot redact.

    Returns (png, info): info has the verification result of the page, the
    number of boxes and whether the page was blanked.
    """
    from core.engine import redact_document
    from core.detect.base import Seed

    page = doc_store.require_page(db, page_id)
    require(user, "page.view", db, case_id=page["case_id"])
    source = doc_store.open_document(db, page["document_id"])
    single = pymupdf.open()
    try:
        single.insert_pdf(source, from_page=page["page_index"], to_page=page["page_index"])
        found = []
        for row in finding_store.for_page(db, page_id):
            if row["status"] == finding_store.REJECTED:
                continue
            found.append(finding_store.to_finding(row, 0))
        seeds = [Seed(**s) for s in (case_store.load_seeds(db, page["case_id"]) or []) if isinstance(s, dict)]
        blank = [0] if page["page_index"] in doc_store.failed_page_indices(db, page["document_id"]) else []
        hidden = {0: page["hide_reason"]} if page.get("hide_reason") else None
        redacted, report, plan = redact_document(
            single,
            found,
            policy="review",
            style=style,
            seeds=seeds,
            blank_pages=blank,
            hidden_pages=hidden,
            verify_ocr="untrusted",  # a preview: the export's own gate OCRs the images
        )
        try:
            png = render_page_png(redacted[0], dpi)
        finally:
            redacted.close()
    finally:
        single.close()
        source.close()
    ok = bool(getattr(report, "ok", True))
    return png, {
        "ok": ok,
        "boxes": len(found),
        "blanked": bool(plan.blanked),
        "hidden": bool(plan.hidden_pages),
    }


# ---- changing boxes ------------------------------------------------------------


def record_box_edit(
    db,
    user: dict,
    action: str,
    row_or_page: dict,
    finding_id: Optional[int],
    category: str,
    before,
    after,
    reason: str = "",
) -> None:
    case_id = row_or_page["case_id"]
    page = doc_store.require_page(
        db, row_or_page["page_id"] if "page_id" in row_or_page else row_or_page["id"]
    )
    finding_store.add_edit(
        db,
        case_id=case_id,
        page_id=page["id"],
        finding_id=finding_id,
        action=action,
        category=category,
        before=json.dumps(before) if before is not None else None,
        after=json.dumps(after) if after is not None else None,
        reason=reason,
        actor=user["username"],
    )
    audit.record(
        db,
        user["username"],
        f"box.{action}",
        case_id=case_id,
        page=page["page_index"],
        detail={
            "doc": page["doc_id"],
            "finding": finding_id,
            "category": category,
            "before": before,
            "after": after,
            "reason_given": bool(reason),
        },
    )


def assert_case_editable(db, case_id: str) -> None:
    from core.cases import workflow

    workflow.assert_editable(db, case_id)


def case_editable(db, case_id: str) -> bool:
    """False while the case is in 待审核 (read-only for everybody)."""
    from core.cases import workflow

    return workflow.is_editable(db, case_id)


def after_case_edit(db, user: dict, case_id: str) -> None:
    from core.cases import workflow

    workflow.on_case_edited(db, case_id, user)


def rounded_rect(rect) -> list[float]:
    return [round(float(v), 2) for v in rect]


def add_box(
    db,
    user: dict,
    page_id: int,
    rect_px,
    category: str = Category.MANUAL.value,
    reason: str = "",
    dpi: int = REVIEW_DPI,
) -> int:
    """A person draws a box (pixels of the render at ``dpi``); returns the new finding id."""
    page = doc_store.require_page(db, page_id)
    require(user, "box.add", db, case_id=page["case_id"])
    assert_case_editable(db, page["case_id"])
    Category(category)  # validate
    pdf, fpage = _fitz_page(db, page)
    try:
        rect = geometry.pixels_to_page(fpage, rect_px, dpi)
    finally:
        pdf.close()
    return store_manual_box(db, user, page, [rect], category, reason)


def store_manual_box(
    db,
    user: dict,
    page: dict,
    rects: list,
    category: str,
    reason: str = "",
    audit_reason: Optional[str] = None,
) -> int:
    """Store an accepted box a person drew (or imported) over ``rects`` (unrotated points) of ``page``, with
    the text under it, and audit it; returns the new finding id.  ``audit_reason`` (default: ``reason``) is
    what the audit trail is told."""
    pdf, fpage = _fitz_page(db, page)
    try:
        text = " ".join(fpage.get_textbox(pymupdf.Rect(r)).strip() for r in rects).strip()
    finally:
        pdf.close()
    f = Finding(page["page_index"], Category(category), list(rects), "manual", 1.0, text, Source.MANUAL)
    with transaction(db):
        assert_case_editable(db, page["case_id"])
        fid = finding_store.add_finding(
            db,
            page["case_id"],
            page["id"],
            f,
            status=finding_store.ACCEPTED,
            actor=user["username"],
            reason=reason,
        )
        told = reason if audit_reason is None else audit_reason
        record_box_edit(db, user, "add", page, fid, category, None, [rounded_rect(r) for r in rects], told)
    after_case_edit(db, user, page["case_id"])
    return fid


def move_box(db, user: dict, finding_id: int, rect_px, rect_index: int = 0, dpi: int = REVIEW_DPI) -> None:
    """Move/resize one rectangle of a finding (the finding counts as accepted afterwards)."""
    row = finding_store.require(db, finding_id)
    require(user, "box.change", db, case_id=row["case_id"])
    assert_case_editable(db, row["case_id"])
    page = doc_store.require_page(db, row["page_id"])
    pdf, fpage = _fitz_page(db, page)
    try:
        new_rect = geometry.pixels_to_page(fpage, rect_px, dpi)
    finally:
        pdf.close()
    rects = finding_store.rects_of(row)
    before = [rounded_rect(r) for r in rects]
    rects[rect_index] = new_rect
    with transaction(db):
        assert_case_editable(db, row["case_id"])
        finding_store.update(db, finding_id, rects=rects, status=finding_store.ACCEPTED)
        record_box_edit(
            db, user, "change", row, finding_id, row["category"], before, [rounded_rect(r) for r in rects]
        )
    after_case_edit(db, user, row["case_id"])


def set_category(db, user: dict, finding_id: int, category: str, reason: str = "") -> None:
    row = finding_store.require(db, finding_id)
    require(user, "box.change", db, case_id=row["case_id"])
    Category(category)
    with transaction(db):
        assert_case_editable(db, row["case_id"])
        finding_store.update(
            db,
            finding_id,
            category=category,
            reason=finding_store.seal_reason(finding_id, reason) if reason else row["reason"],
            status=finding_store.ACCEPTED,
        )
        record_box_edit(
            db,
            user,
            "change",
            row,
            finding_id,
            category,
            {"category": row["category"]},
            {"category": category},
            reason,
        )
    after_case_edit(db, user, row["case_id"])


def delete_box(db, user: dict, finding_id: int) -> None:
    """Delete a manual box; an automatic finding is rejected instead (its history stays)."""
    row = finding_store.require(db, finding_id)
    require(user, "box.delete", db, case_id=row["case_id"])
    before = [rounded_rect(r) for r in finding_store.rects_of(row)]
    with transaction(db):
        assert_case_editable(db, row["case_id"])
        if row["source"] == Source.MANUAL.value:
            finding_store.delete(db, finding_id)
        else:
            finding_store.update(db, finding_id, status=finding_store.REJECTED)
        record_box_edit(db, user, "delete", row, finding_id, row["category"], before, None)
    after_case_edit(db, user, row["case_id"])


def decide(db, user: dict, finding_id: int, accept: bool) -> None:
    """Accept (keep hidden) or reject (leave visible) an automatic finding."""
    row = finding_store.require(db, finding_id)
    action = "accept" if accept else "reject"
    require(user, f"box.{action}", db, case_id=row["case_id"])
    status = finding_store.ACCEPTED if accept else finding_store.REJECTED
    with transaction(db):
        assert_case_editable(db, row["case_id"])
        finding_store.update(db, finding_id, status=status)
        record_box_edit(
            db, user, action, row, finding_id, row["category"], {"status": row["status"]}, {"status": status}
        )
    after_case_edit(db, user, row["case_id"])


def accept_page(db, user: dict, page_id: int) -> int:
    """Accept every undecided finding of a page; returns how many."""
    page = doc_store.require_page(db, page_id)
    assert_case_editable(db, page["case_id"])
    rows = [r for r in finding_store.for_page(db, page_id) if r["status"] == finding_store.AUTO]
    for r in rows:
        decide(db, user, r["id"], True)
    return len(rows)


def hide_everywhere(db, user: dict, finding_id: int) -> int:
    """Hide every occurrence of this finding's text in the whole case.

    Text-layer pages are searched with PyMuPDF; OCR findings with the same
    fingerprint are accepted.  Returns the number of boxes added or accepted.
    """
    row = finding_store.require(db, finding_id)
    case_id = row["case_id"]
    require(user, "box.add", db, case_id=case_id)
    text = finding_store.text_of(row)
    if not text.strip():
        return 0
    count = 0
    with transaction(db):
        assert_case_editable(db, case_id)
        for other_id in finding_store.ids_with_fingerprint(
            db, case_id, row["fingerprint"], not_status=finding_store.ACCEPTED
        ):
            finding_store.update(db, other_id, status=finding_store.ACCEPTED)
            count += 1
        for doc in doc_store.list_documents(db, case_id):
            pdf = doc_store.open_document(db, doc["id"])
            try:
                for fpage in pdf.pages():
                    hits = fpage.search_for(text)
                    if not hits:
                        continue
                    page_id = doc_store.page_id_for(db, doc["id"], fpage.number)
                    if page_id is None:  # every page of a stored document has a row
                        continue
                    existing = [
                        r
                        for f in finding_store.for_page(db, page_id)
                        if f["status"] != "rejected"
                        for r in finding_store.rects_of(f)
                    ]
                    for hit in hits:
                        rect = tuple(hit)  # search_for reports unrotated page points
                        if any(
                            geometry.intersection(rect, e) >= 0.8 * max(geometry.area(rect), 1e-6)
                            for e in existing
                        ):
                            continue
                        f = Finding(
                            fpage.number,
                            Category(row["category"]),
                            [rect],
                            "hide_all",
                            1.0,
                            text,
                            Source.MANUAL,
                        )
                        finding_store.add_finding(
                            db,
                            case_id,
                            page_id,
                            f,
                            status=finding_store.ACCEPTED,
                            actor=user["username"],
                            reason="hide_all",
                        )
                        existing.append(rect)
                        count += 1
            finally:
                pdf.close()
        page = doc_store.require_page(db, row["page_id"])
        finding_store.add_edit(
            db,
            case_id=case_id,
            page_id=row["page_id"],
            finding_id=finding_id,
            action="hide_all",
            category=row["category"],
            before=None,
            after=json.dumps({"boxes": count}),
            reason="",
            actor=user["username"],
        )
        audit.record(
            db,
            user["username"],
            "box.hide_all",
            case_id=case_id,
            page=page["page_index"],
            detail={"finding": finding_id, "category": row["category"], "boxes": count},
        )
    after_case_edit(db, user, case_id)
    return count


# ---- whole pages ------------------------------------------------------------------


def page_hide_reasons() -> dict[str, str]:
    """Reason code → Chinese name (``core/rules/page_hide_reasons.yaml``)."""
    return dict(load_rules("page_hide_reasons") or {})


def hide_page(db, user: dict, page_id: int, reason_code: str) -> None:
    """Hide a whole page (an ID-card copy, a photo page): the plan then covers
    it whole and the export shows it black with "整页隐藏：<reason>".
    ``reason_code`` is a code of :func:`page_hide_reasons`; ``""`` shows the
    page again (box by box).  The audit trail records the page and the code."""
    from core.errors import InputError

    page = doc_store.require_page(db, page_id)
    require(user, "page.hide", db, case_id=page["case_id"])
    if reason_code and reason_code not in page_hide_reasons():
        raise InputError("未知的整页隐藏原因", "unknown whole-page reason code")
    before = page.get("hide_reason") or ""
    if before == (reason_code or ""):
        return
    with transaction(db):
        assert_case_editable(db, page["case_id"])
        doc_store.set_hide_reason(db, page_id, reason_code)
        finding_store.add_edit(
            db,
            case_id=page["case_id"],
            page_id=page_id,
            finding_id=None,
            action="hide_page" if reason_code else "unhide_page",
            category="page",
            before=json.dumps({"hide_reason": before}),
            after=json.dumps({"hide_reason": reason_code or ""}),
            reason="",
            actor=user["username"],
        )
        audit.record(
            db,
            user["username"],
            "page.hide" if reason_code else "page.unhide",
            case_id=page["case_id"],
            page=page["page_index"],
            detail={"doc": page["doc_id"], "reason": reason_code or "", "before": before},
        )
    after_case_edit(db, user, page["case_id"])


def set_document_included(db, user: dict, document_id: int, included: bool) -> None:
    doc = doc_store.require_document(db, document_id)
    require(user, "document.include", db, case_id=doc["case_id"])
    if bool(doc["included"]) == bool(included):
        return
    with transaction(db):
        assert_case_editable(db, doc["case_id"])
        doc_store.set_included(db, document_id, included)
    audit.record(
        db,
        user["username"],
        "document.include" if included else "document.exclude",
        case_id=doc["case_id"],
        detail={"doc": doc["doc_id"], "type": doc["type"]},
    )
    after_case_edit(db, user, doc["case_id"])


# ---- before approving --------------------------------------------------------------

CHANGE_KINDS = {"manual": "人工添加的框", "moved": "移动或改变大小的框", "rejected": "已拒绝（不涂黑）的框"}


def approval_review(db, user: dict, case_id: str) -> dict:
    """What a supervisor sees before approving.

    ``plan_hash``: the fingerprint to show and to pass back to
    ``workflow.approve`` (the plan behind it is kept, so a later change can
    be listed); ``changes``: the preparer's manual, moved and rejected boxes
    (masked text, page, geometry; thumbnails from :func:`change_thumbnail_png`);
    ``pages_opened``: included pages this user opened since the submission;
    ``submission``: its progress and override reason.
    """
    from core.cases import workflow
    from core.masking import mask

    require(user, "case.view", db, case_id=case_id)
    plan_hash = workflow.case_plan_hash(db, case_id, snapshot=True)
    changes = []
    for row in review_store.changed_boxes(db, case_id):
        text = finding_store.text_of({**row, "id": row["finding_id"]})
        changes.append(
            {
                "kind": row["kind"],
                "finding_id": row["finding_id"],
                "page_id": row["page_id"],
                "doc_id": row["doc_id"],
                "doc_type": row["doc_type"],
                "page_index": row["page_index"],
                "category": row["category"],
                "label": category_label(row["category"]),
                "masked": mask(text, row["category"]) if text else "",
                "rects": [tuple(r) for r in json.loads(row["rects"])],
                "before": [tuple(r) for r in json.loads(row["before"])] if row["before"] else None,
            }
        )
    submission = review_store.last_submission(db, case_id)
    since = submission["at"] if submission else 0.0
    progress = review_store.review_progress(db, case_id)
    return {
        "plan_hash": plan_hash,
        "changes": changes,
        "counts": {kind: sum(1 for c in changes if c["kind"] == kind) for kind in CHANGE_KINDS},
        "pages": progress["pages"],
        "pages_opened": review_store.pages_opened(db, case_id, user["username"], since),
        "submission": submission,
    }


def change_thumbnail_png(
    db, user: dict, change: dict, dpi: int = REVIEW_DPI, margin_px: int = 48, max_width: int = 320
) -> bytes:
    """A crop of the original page around a changed box: the box in red, where
    detection had it (moved boxes) in grey."""
    import io

    from PIL import Image, ImageDraw

    page = doc_store.require_page(db, change["page_id"])
    require(user, "page.view", db, case_id=page["case_id"])
    key = f"thumb:{change['page_id']}:{change['rects']}:{change.get('before')}:{dpi}:{margin_px}:{max_width}"
    hit = _mem_get(key)
    if hit is not None:
        return hit
    pdf, fpage = _fitz_page(db, page)
    try:
        now_px = [geometry.page_to_pixels(fpage, r, dpi) for r in change["rects"]]
        before_px = [geometry.page_to_pixels(fpage, r, dpi) for r in change.get("before") or []]
    finally:
        pdf.close()
    img = Image.open(io.BytesIO(page_png(db, change["page_id"], dpi))).convert("RGB")
    boxes = now_px + before_px
    x0 = max(0, int(min(b[0] for b in boxes)) - margin_px)
    y0 = max(0, int(min(b[1] for b in boxes)) - margin_px)
    x1 = min(img.width, int(max(b[2] for b in boxes)) + margin_px)
    y1 = min(img.height, int(max(b[3] for b in boxes)) + margin_px)
    draw = ImageDraw.Draw(img)
    for b in before_px:
        draw.rectangle(b, outline=(150, 150, 150), width=2)
    for b in now_px:
        draw.rectangle(b, outline=(220, 0, 0), width=3)
    crop = img.crop((x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)))
    if crop.width > max_width:
        crop = crop.resize((max_width, max(1, int(crop.height * max_width / crop.width))))
    out = io.BytesIO()
    crop.save(out, format="PNG")
    _mem_put(key, out.getvalue())
    return out.getvalue()


# ---- canvas -----------------------------------------------------------------------


def canvas_label(finding: dict, rect_index: int) -> str:
    """Label of a stored box on the canvas: ``#<finding id>:<rect index> <category name>``."""
    return f"#{finding['id']}:{rect_index} {finding['label']}" + (
        "（已拒绝）" if finding["status"] == "rejected" else ""
    )


def canvas_hover_text(finding: dict) -> str:
    """What hovering a box on the canvas shows (the label is not painted on the page)."""
    status = {"auto": "待确认", "accepted": "已接受", "rejected": "已拒绝"}.get(
        finding["status"], finding["status"]
    )
    return " ".join(
        p for p in (f"#{finding['id']}", finding["label"], finding.get("masked") or "", f"（{status}）") if p
    )


def canvas_drawing(findings: list[dict], scale: float = 1.0, focus: Optional[int] = None) -> dict:
    """The canvas's initial drawing: one coloured outline per stored box, no text
    painted over the page (``chipSuppressed``: the box's label travels with it
    so :func:`canvas_changes` knows it, but only the pane and the hover tooltip
    show it).  The box in ``focus`` is thicker and tinted."""
    objects = []
    for f in findings:
        for ri, r in enumerate(f["rects_px"]):
            focused = f["id"] == focus
            objects.append(
                {
                    "type": "LabeledRect",
                    "label": canvas_label(f, ri),
                    "chipSuppressed": True,
                    "left": r[0] * scale,
                    "top": r[1] * scale,
                    "width": (r[2] - r[0]) * scale,
                    "height": (r[3] - r[1]) * scale,
                    "originX": "left",
                    "originY": "top",
                    "scaleX": 1,
                    "scaleY": 1,
                    "angle": 0,
                    "stroke": "#999999" if f["status"] == "rejected" else f["color"],
                    "strokeWidth": 5 if focused else 2,
                    "fill": "rgba(255, 200, 0, 0.35)" if focused else "rgba(0, 0, 0, 0)",
                    "lockRotation": True,
                    "strokeUniform": True,
                    "fontSize": 11,
                }
            )
    return {"objects": objects}


def canvas_hover_boxes(findings: list[dict], scale: float = 1.0) -> list[dict]:
    """Boxes in canvas pixels with their hover text (smallest first, so the
    innermost box under the pointer wins)."""
    out = [
        {
            "l": r[0] * scale,
            "t": r[1] * scale,
            "r": r[2] * scale,
            "b": r[3] * scale,
            "text": canvas_hover_text(f),
        }
        for f in findings
        for r in f["rects_px"]
    ]
    out.sort(key=lambda b: (b["r"] - b["l"]) * (b["b"] - b["t"]))
    return out


def canvas_changes(findings: list[dict], boxes: list[dict], scale: float = 1.0, tolerance_px: float = 1.5):
    """Compare what the canvas sends back with the stored boxes.

    ``findings`` come from :func:`findings_view`; ``boxes`` are the canvas's
    ``{label, left, top, width, height}`` in canvas pixels (render pixels ×
    ``scale``).  Returns ``(added, moved, deleted)``: rects (render pixels) of
    new boxes, ``(finding id, rect index, rect)`` of moved/resized ones, and
    ids of findings whose box was removed from the canvas.
    """
    known = {f"{f['id']}:{ri}": (f, r) for f in findings for ri, r in enumerate(f["rects_px"])}
    added, moved, seen = [], [], set()
    for box in boxes:
        if box["width"] < 2 or box["height"] < 2:
            continue
        rect = (
            box["left"] / scale,
            box["top"] / scale,
            (box["left"] + box["width"]) / scale,
            (box["top"] + box["height"]) / scale,
        )
        label = box.get("label") or ""
        if label.startswith("#"):
            ref = label[1:].split(" ", 1)[0]
            seen.add(ref)
            if ref in known:
                f, old = known[ref]
                if max(abs(a - b) for a, b in zip(old, rect)) > tolerance_px:
                    moved.append((f["id"], int(ref.split(":")[1]), rect))
            continue
        added.append(rect)
    deleted = sorted(
        {f["id"] for ref, (f, _r) in known.items() if ref not in seen and f["status"] != "rejected"}
    )
    return added, moved, deleted


# ---- navigation ------------------------------------------------------------------


def next_unreviewed(db, case_id: str, current_page_id: Optional[int] = None) -> Optional[int]:
    """The next page (after the current one, wrapping) not viewed yet."""
    ordered = pages(db, case_id)
    start = next((i for i, p in enumerate(ordered) if p["id"] == current_page_id), -1)
    for p in ordered[start + 1 :] + ordered[: start + 1]:
        if not p["viewed"]:
            return p["id"]
    return None


def next_low_confidence(
    db, case_id: str, current_page_id: Optional[int] = None, threshold: float = LOW_CONFIDENCE
) -> Optional[tuple[int, int]]:
    """(page id, finding id) of the next undecided finding below ``threshold``."""
    ordered = pages(db, case_id)
    start = next((i for i, p in enumerate(ordered) if p["id"] == current_page_id), -1)
    for p in ordered[start + 1 :] + ordered[: start + 1]:
        finding_id = finding_store.lowest_undecided_below(db, p["id"], threshold)
        if finding_id is not None:
            return p["id"], finding_id
    return None


def progress_summary(db, case_id: str, ps: Optional[list[dict]] = None) -> dict:
    """Viewed pages, open boxes and failed pages of the included documents (``ps``: the case's
    :func:`pages` when the caller has them already)."""
    ps = pages(db, case_id) if ps is None else ps
    open_findings = review_store.review_progress(db, case_id)["open_boxes"]  # included documents only
    return {
        "pages": len(ps),
        "viewed": sum(1 for p in ps if p["viewed"]),
        "open_findings": open_findings,
        "failed_pages": sum(1 for p in ps if p["detect_status"] == "failed"),
    }


# ---- the case-wide pane ------------------------------------------------------------


def case_boxes(db, case_id: str) -> list[dict]:
    """Every box of the included documents, in review order, for the redaction pane
    (masked text only)."""
    order = {p["id"]: (i, p) for i, p in enumerate(pages(db, case_id))}
    out = []
    for row in finding_store.for_case(db, case_id):
        if row["page_id"] not in order:
            continue
        seq, page = order[row["page_id"]]
        out.append(
            {
                "id": row["id"],
                "page_id": row["page_id"],
                "seq": seq + 1,
                "doc": page["doc_type"] or page["doc_id"],
                "page_no": page["page_index"] + 1,
                "category": row["category"],
                "status": row["status"],
                "confidence": row["confidence"],
                "detector": row["detector"],
                "source": row["source"],
                "masked": finding_store.masked_text(row),
            }
        )
    out.sort(key=lambda b: (b["seq"], b["id"]))
    return out


_LINES: "OrderedDict[tuple, list]" = OrderedDict()
_LINES_MAX = 512
_lines_lock = threading.Lock()
OCR_DPI = 150  # the detection's OCR resolution (core.engine.page_input): its sealed OCR cache is reused


def page_chars(db, page: dict) -> list[list]:
    """The characters of a page as lines of ``Char`` (page points, unrotated):
    the text layer, plus the OCR glyph boxes on a scanned page."""
    doc = doc_store.require_document(db, page["document_id"])
    key = (doc["source_sha256"], page["page_index"], bool(page["scanned"]))  # by content: ids are per store
    with _lines_lock:
        if key in _LINES:
            _LINES.move_to_end(key)
            return _LINES[key]
    from core.models import Char
    from core.pdf.text import text_lines

    pdf, fpage = _fitz_page(db, page)
    try:
        if page["scanned"]:
            from core.engine import page_input

            pt = page_input(fpage, ocr=True, dpi=OCR_DPI)[0].text
            lines = [
                [Char(pt.text[i], box) for i in range(s, e) if (box := pt.boxes[i]) is not None]
                for s, e in pt.lines()
            ]
        else:
            lines = text_lines(fpage)
    finally:
        pdf.close()
    with _lines_lock:
        _LINES[key] = lines
        while len(_LINES) > _LINES_MAX:
            _LINES.popitem(last=False)
    return lines


def cutting_boxes(db, case_id: str, finding_ids: Optional[set] = None) -> dict[int, list[str]]:
    """Boxes that cut through text (``core.redaction.cuts``): finding id → kinds
    (``glyph``: part of a character covered; ``word``: part of a word or number
    left readable).  Visual boxes (signatures, seals, codes …) are not checked.
    ``finding_ids`` narrows the check (e.g. to what a filter shows)."""
    from core.redaction.cuts import cut_kinds

    by_page: dict[int, list[dict]] = {}
    for row in finding_store.for_case(db, case_id):
        if finding_ids is not None and row["id"] not in finding_ids:
            continue
        try:
            if Category(row["category"]).is_visual:
                continue
        except ValueError:
            pass
        by_page.setdefault(row["page_id"], []).append(row)
    out: dict[int, list[str]] = {}
    for page_id, rows in by_page.items():
        lines = page_chars(db, doc_store.require_page(db, page_id))
        for row in rows:
            kinds = cut_kinds(finding_store.rects_of(row), lines)
            if kinds:
                out[row["id"]] = sorted(kinds)
    return out


def decide_many(db, user: dict, finding_ids: list[int], accept: bool) -> int:
    """Accept or reject each of these boxes (each one audited); returns how many changed."""
    target = finding_store.ACCEPTED if accept else finding_store.REJECTED
    changed = 0
    for finding_id in finding_ids:
        row = finding_store.get(db, finding_id)
        if row is None or row["status"] == target:
            continue
        decide(db, user, finding_id, accept)
        changed += 1
    return changed


def next_open(
    db, case_id: str, page_id: Optional[int], after_finding: Optional[int] = None
) -> Optional[tuple[int, int]]:
    """(page id, finding id) of the next undecided box after ``after_finding`` on
    ``page_id``, then on the following pages (wrapping round)."""
    ordered = pages(db, case_id)
    start = next((i for i, p in enumerate(ordered) if p["id"] == page_id), 0)
    here = (
        [
            i
            for i in finding_store.open_ids_on_page(db, ordered[start]["id"])
            if after_finding is None or i > after_finding
        ]
        if ordered
        else []
    )
    if here:
        return ordered[start]["id"], here[0]
    for p in ordered[start + 1 :] + ordered[: start + 1]:
        ids = finding_store.open_ids_on_page(db, p["id"])
        if ids:
            return p["id"], ids[0]
    return None


def last_place(db, user: dict, case_id: str) -> Optional[int]:
    from core.store import sessions as session_store

    return session_store.review_place(db, user["username"], case_id)
