"""Import and detection of a case, as plain functions (the huey tasks in
``core.tasks`` call these; tests may call them directly).

Pipeline of a case: ``run_import`` (read manifest, validate every PDF, store
encrypted copies and page rows) → ``run_detect`` (engine per document, one
page's findings stored as soon as its document is analysed, progress per page
in ``jobs``).  A failing page is recorded on its page row, not fatal; a
cancel request stops at the next page.  Re-running detection keeps manual
boxes and decisions (see ``core.store.findings.replace_auto_findings``).
"""
from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import asdict, is_dataclass

import pymupdf

from core.archive.base import ArchiveSource
from core.errors import DeidError
from core.store import cases as case_store
from core.store import documents as doc_store
from core.store import findings as finding_store
from core.store import jobs as job_store

log = logging.getLogger(__name__)


class Cancelled(Exception):
    pass


def _audit(db, actor: str, action: str, case_id: str, detail: dict) -> None:
    from core.audit import record

    record(db, actor, action, case_id=case_id, detail=detail)


# ---- import ----------------------------------------------------------------

def run_import(db, job_id: int, archive: ArchiveSource, key: str, actor: str = "system") -> bool:
    """Import one archive case.  Validates everything before writing: a bad
    manifest or a missing/corrupt PDF fails the job and leaves the store as it was."""
    job_store.start(db, job_id, step="读取清单")
    try:
        manifest = archive.read_manifest(key)
        docs = manifest.documents
        job_store.progress(db, job_id, 0, total=len(docs), step="校验文档")
        payloads = []
        for i, d in enumerate(docs):
            data = archive.open_document(key, d)
            try:
                doc_store.open_pdf(data).close()
            except DeidError as exc:
                raise type(exc)(f"文档 {d.doc_id}：{exc.message_zh}", f"document {d.doc_id}: {exc.message_en}") from None
            payloads.append((d, data))
            _check_cancel(db, job_id)
        _void_review(db, manifest.meta.case_id, actor, "reimported")
        case = case_store.upsert_case(db, manifest)
        case_id = case["id"]
        for i, (d, data) in enumerate(payloads):
            doc_store.store_document(db, case_id, d.doc_id, data, type=d.type, title=d.title, date=d.date)
            job_store.progress(db, job_id, i + 1, step="保存文档")
        pages = len(doc_store.list_pages(db, case_id, included_only=False))
        case_store.set_progress(db, case_id, page_count=pages, current_step="已导入", error="")
        _audit(db, actor, "case.import", case_id, {"documents": len(docs), "pages": pages, "job": job_id})
        job_store.finish(db, job_id, job_store.DONE)
        return True
    except Cancelled:
        job_store.finish(db, job_id, job_store.CANCELLED)
        return False
    except DeidError as exc:
        job_store.finish(db, job_id, job_store.FAILED, exc.message)
        return False
    except Exception as exc:  # unexpected: record the type only (messages may carry content)
        log.error("import failed: %s", type(exc).__name__)  # never the message: it may quote content
        job_store.finish(db, job_id, job_store.FAILED, f"导入失败 / import failed: {type(exc).__name__}")
        return False


def _check_cancel(db, job_id: int) -> None:
    if job_store.cancel_requested(db, job_id):
        raise Cancelled()


# ---- detection ---------------------------------------------------------------

def run_detect(db, job_id: int, case_id: str, actor: str = "system") -> bool:
    """Run the engine over every document of the case; store findings per page."""
    from core import engine

    case = case_store.get_case(db, case_id)
    if case is None:
        job_store.finish(db, job_id, job_store.FAILED, "病例未导入 / case not imported")
        return False
    pages = doc_store.list_pages(db, case_id, included_only=False)
    total = len(pages)
    job_store.start(db, job_id, total=total, step="检测")
    entered = _enter_detecting(db, case_id, actor)
    case_store.set_progress(db, case_id, page_count=total, pages_done=0, pages_failed=0, current_step="检测", error="")
    meta = case_store.case_meta(db, case_id)
    done, failed, n_findings, seeds = 0, 0, 0, []
    t0 = time.time()
    try:
        for doc in doc_store.list_documents(db, case_id):
            page_ids = {p["page_index"]: p["id"] for p in pages if p["document_id"] == doc["id"]}
            base = done

            def progress(*args, **_kw):
                current = _progress_count(args)
                job_store.progress(db, job_id, base + current, step=f"检测 {doc['type'] or doc['doc_id']}")
                case_store.set_progress(db, case_id, pages_done=base + current)
                _check_cancel(db, job_id)

            by_page, page_errors, doc_seeds = _analyze_document(db, engine, doc, meta, progress)
            seeds.extend(doc_seeds)
            for index, page_id in page_ids.items():
                if index in page_errors:
                    failed += 1
                    doc_store.set_page_detect(db, page_id, "failed", page_errors[index])
                    continue
                n_findings += finding_store.replace_auto_findings(db, case_id, page_id, by_page.get(index, []))
                doc_store.set_page_detect(db, page_id, "done")
            done += len(page_ids)
            job_store.progress(db, job_id, done)
            case_store.set_progress(db, case_id, pages_done=done, pages_failed=failed)
            _check_cancel(db, job_id)
    except Cancelled:
        _leave_detecting(db, case_id, actor, entered, ok=False)
        case_store.set_progress(db, case_id, current_step="已取消")
        job_store.finish(db, job_id, job_store.CANCELLED)
        _audit(db, actor, "case.detect_cancelled", case_id, {"pages_done": done, "job": job_id})
        return False
    except Exception as exc:
        log.error("detection failed: %s", type(exc).__name__)
        _leave_detecting(db, case_id, actor, entered, ok=False)
        msg = exc.message if isinstance(exc, DeidError) else f"检测失败 / detection failed: {type(exc).__name__}"
        case_store.set_progress(db, case_id, current_step="检测失败", error=msg)
        job_store.finish(db, job_id, job_store.FAILED, msg)
        return False
    case_store.save_seeds(db, case_id, seeds)
    _leave_detecting(db, case_id, actor, entered, ok=True)
    error = f"{failed} 页检测失败 / {failed} page(s) failed" if failed else ""
    case_store.set_progress(db, case_id, current_step="检测完成", error=error, detected_at=time.time())
    job_store.finish(db, job_id, job_store.DONE, error)
    _audit(db, actor, "case.detect", case_id, {"pages": total, "failed_pages": failed, "new_findings": n_findings,
                                               "seconds": round(time.time() - t0, 1), "job": job_id})
    return True


def _void_review(db, case_id: str, actor: str, cause: str) -> None:
    """New pages or boxes for a case under review, approved or exported: its
    submission and approval are void (audited) before anything is written."""
    from core import workflow

    if case_store.get_case(db, case_id) is not None:
        workflow.void_for_source_change(db, case_id, actor, cause)


def _enter_detecting(db, case_id: str, actor: str) -> bool:
    """Move the case to 检测中 (a case under review, approved or exported loses
    its submission/approval first: re-detection changes its boxes)."""
    from core import workflow

    _void_review(db, case_id, actor, "redetected")
    try:
        workflow.start_detection(db, case_id, actor)
        return True
    except DeidError:
        return False


def _leave_detecting(db, case_id: str, actor: str, entered: bool, ok: bool) -> None:
    from core import workflow

    if entered:
        (workflow.detection_done if ok else workflow.detection_failed)(db, case_id, actor)
    elif ok:  # re-detection of a case already submitted/approved changes its boxes
        workflow.on_case_edited(db, case_id, actor)


def _progress_count(args) -> int:
    """Pages done from the engine's progress callback arguments (``(done, total, …)`` or a dict)."""
    if not args:
        return 0
    first = args[0]
    if isinstance(first, dict):
        return int(first.get("done", first.get("page", 0)))
    try:
        return int(first)
    except (TypeError, ValueError):
        return 0


def _seed_dicts(seeds) -> list:
    out = []
    for s in seeds or []:
        out.append(asdict(s) if is_dataclass(s) else s)
    return out


def _analyze_document(db, engine, doc: dict, meta, progress):
    """Findings per page index, errors per page index, seeds.

    The whole document is analysed at once (seeds found on one page are
    searched on the others).  When that fails, pages are analysed one by one
    so a single broken page is recorded and the rest still get findings.
    """
    pdf = doc_store.open_document(db, doc["id"])
    try:
        try:
            analysis = engine.analyze_document(pdf, meta, progress=progress)
            errors = {p.index: f"页面检测失败 / page analysis failed: {p.error}"
                      for p in getattr(analysis, "pages", []) if getattr(p, "error", "")}
            return _group(analysis.findings), errors, _seed_dicts(getattr(analysis, "seeds", []))
        except Cancelled:
            raise
        except Exception as exc:
            log.warning("document analysis failed (%s); retrying page by page", type(exc).__name__)
        by_page, errors, seeds = defaultdict(list), {}, []
        for index in range(pdf.page_count):
            single = pymupdf.open()
            try:
                single.insert_pdf(pdf, from_page=index, to_page=index)
                analysis = engine.analyze_document(single, meta)
                if any(getattr(p, "error", "") for p in getattr(analysis, "pages", [])):
                    raise RuntimeError(analysis.pages[0].error)
                for f in analysis.findings:
                    f.page_index = index
                    f.id = f.make_id()
                    by_page[index].append(f)
                seeds.extend(_seed_dicts(getattr(analysis, "seeds", [])))
            except Exception as exc:
                errors[index] = f"页面检测失败 / page analysis failed: {type(exc).__name__}"
            finally:
                single.close()
            progress(index + 1, pdf.page_count)
        return by_page, errors, seeds
    finally:
        pdf.close()


def _group(findings) -> dict[int, list]:
    out = defaultdict(list)
    for f in findings:
        out[f.page_index].append(f)
    return out
