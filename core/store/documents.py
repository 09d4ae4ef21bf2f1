"""Documents and pages of a case; encrypted working copies of the PDFs."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Optional

import pymupdf

from core.crypto import sha256_hex
from core.errors import NotFound
from core.pdf.open import as_shown, open_pdf
from core.security.handles import case_handle
from core.store import files
from core.store.blobs import document_blob
from core.store.catalog import catalog_order
from core.store.tx import transaction

_PDF_CACHE: "OrderedDict[tuple, bytes]" = OrderedDict()
_PDF_CACHE_MAX = 24
_lock = threading.Lock()


def store_document(
    db, case_id: str, doc_id: str, data: bytes, *, type: str = "", title: str = "", date: str = ""
) -> dict:
    """Validate ``data`` as a PDF, store an encrypted copy, and (re)create the document + page rows.

    Raises InputError (nothing written) when the PDF is unusable.
    """
    pdf = open_pdf(data)
    digest = sha256_hex(data)
    rel = document_blob(case_handle(case_id), digest)  # the working copy is the worker's blob
    files.write_sealed(rel, data)
    existing = get_document(db, case_id, doc_id)
    row = {
        "case_id": case_id,
        "doc_id": doc_id,
        "type": type,
        "title": title or type,
        "date": date,
        "catalog_order": catalog_order(type),
        "source_sha256": digest,
        "stored_path": rel,
        "page_count": pdf.page_count,
    }
    with transaction(db):
        if existing and existing["source_sha256"] == digest:
            db["documents"].update(existing["id"], row)
            doc_pk = existing["id"]
        else:
            if existing:  # the archive file changed: its pages (and their findings) are stale
                db.execute("DELETE FROM documents WHERE id = ?", [existing["id"]])
            doc_pk = db["documents"].insert(row).last_pk
            db["pages"].insert_all(_page_rows(pdf, doc_pk, case_id))
    pdf.close()
    if existing:
        _remove_unused_copy(db, existing["stored_path"], keep=rel)
    _forget(doc_pk)
    return require_document(db, doc_pk)


def _remove_unused_copy(db, rel: str, keep: str) -> None:
    """Delete a replaced working copy unless another document still uses the same file."""
    if (
        rel
        and rel != keep
        and not db.execute("SELECT 1 FROM documents WHERE stored_path = ?", [rel]).fetchone()
    ):
        files.remove(rel)


def _page_rows(pdf: pymupdf.Document, doc_pk: int, case_id: str) -> list[dict]:
    rows = []
    for page in pdf.pages():
        rect = page.cropbox  # unrotated
        rows.append(
            {
                "document_id": doc_pk,
                "case_id": case_id,
                "page_index": page.number,
                "width": rect.width,
                "height": rect.height,
                "rotation": page.rotation,
                "scanned": int(is_scanned(page)),
            }
        )
    return rows


def is_scanned(page: pymupdf.Page) -> bool:
    """No usable text layer but images on the page: needs OCR."""
    text = page.get_text("text").strip()
    return len(text) < 20 and bool(page.get_images(full=False))


def get_document(db, case_id: str, doc_id: str) -> Optional[dict]:
    rows = list(db.query("SELECT * FROM documents WHERE case_id = ? AND doc_id = ?", [case_id, doc_id]))
    return rows[0] if rows else None


def get_document_by_id(db, document_id: int) -> Optional[dict]:
    rows = list(db.query("SELECT * FROM documents WHERE id = ?", [document_id]))
    return rows[0] if rows else None


def require_document(db, document_id: int) -> dict:
    """The document with this id; NotFound when there is none."""
    doc = get_document_by_id(db, document_id)
    if doc is None:
        raise NotFound("文档不存在", "no such document")
    return doc


def list_documents(db, case_id: str, included_only: bool = False) -> list[dict]:
    sql = "SELECT * FROM documents WHERE case_id = ?"
    if included_only:
        sql += " AND included = 1"
    return list(db.query(sql + " ORDER BY catalog_order, date, doc_id", [case_id]))


def set_included(db, document_id: int, included: bool) -> None:
    db["documents"].update(document_id, {"included": int(bool(included))})


def pdf_bytes(db, document_id: int) -> bytes:
    """The (decrypted) working copy of a document, cached in memory."""
    doc = require_document(db, document_id)
    key = (document_id, doc["stored_path"], doc["source_sha256"])
    with _lock:
        if key in _PDF_CACHE:
            _PDF_CACHE.move_to_end(key)
            return _PDF_CACHE[key]
    data = files.read_sealed(doc["stored_path"])
    with _lock:
        _PDF_CACHE[key] = data
        while len(_PDF_CACHE) > _PDF_CACHE_MAX:
            _PDF_CACHE.popitem(last=False)
    return data


def open_document(db, document_id: int) -> pymupdf.Document:
    """Open the working copy as a PyMuPDF document (a fresh object each call: caller closes it).

    Shown as ``core.pdf.open.as_shown`` (every layer on, annotations and fields baked), so review sees what
    detection saw and what the export redacts."""
    doc = pymupdf.open(stream=pdf_bytes(db, document_id), filetype="pdf")
    as_shown(doc)
    return doc


def _forget(document_id: int) -> None:
    with _lock:
        for key in [k for k in _PDF_CACHE if k[0] == document_id]:
            del _PDF_CACHE[key]


# ---- pages -----------------------------------------------------------------


def list_pages(db, case_id: str, included_only: bool = True) -> list[dict]:
    """Every page of the case in review order (catalog order of documents, then page index)."""
    sql = """
        SELECT p.*, d.doc_id, d.type AS doc_type, d.title AS doc_title, d.included,
               (SELECT COUNT(*) FROM findings f WHERE f.page_id = p.id AND f.status != 'rejected') AS n_boxes,
               (SELECT COUNT(*) FROM findings f WHERE f.page_id = p.id AND f.status = 'auto') AS n_open
        FROM pages p JOIN documents d ON d.id = p.document_id
        WHERE p.case_id = ? {inc}
        ORDER BY d.catalog_order, d.date, d.doc_id, p.page_index
    """.format(inc="AND d.included = 1" if included_only else "")
    return list(db.query(sql, [case_id]))


def get_page(db, page_id: int) -> Optional[dict]:
    rows = list(
        db.query(
            "SELECT p.*, d.doc_id, d.type AS doc_type, d.title AS doc_title FROM pages p "
            "JOIN documents d ON d.id = p.document_id WHERE p.id = ?",
            [page_id],
        )
    )
    return rows[0] if rows else None


def require_page(db, page_id: int) -> dict:
    """The page with this id (with its document's doc_id, type and title); NotFound when there is none."""
    page = get_page(db, page_id)
    if page is None:
        raise NotFound("页面不存在", "no such page")
    return page


def page_id_for(db, document_id: int, page_index: int) -> Optional[int]:
    row = db.execute(
        "SELECT id FROM pages WHERE document_id = ? AND page_index = ?", [document_id, page_index]
    ).fetchone()
    return row[0] if row else None


def mark_viewed(db, page_id: int) -> bool:
    """Mark a page viewed; returns True when it was not viewed before."""
    cur = db.execute("UPDATE pages SET viewed = 1 WHERE id = ? AND viewed = 0", [page_id])
    return cur.rowcount > 0


def failed_page_indices(db, document_id: int) -> list[int]:
    """Page indices of a document whose detection failed: the export and the
    review preview blank them (fail closed), like the CLI does."""
    rows = db.execute(
        "SELECT page_index FROM pages WHERE document_id = ? AND detect_status = 'failed' ORDER BY page_index",
        [document_id],
    ).fetchall()
    return [r[0] for r in rows]


def hidden_pages(db, document_id: int) -> dict[int, str]:
    """Pages of a document hidden whole: page index -> reason code."""
    return {
        r[0]: r[1]
        for r in db.execute(
            "SELECT page_index, hide_reason FROM pages WHERE document_id = ? "
            "AND hide_reason != '' ORDER BY page_index",
            [document_id],
        ).fetchall()
    }


def set_hide_reason(db, page_id: int, code: str) -> None:
    """Hide a page whole (``code``: a reason code) or show it again (``''``)."""
    db.execute("UPDATE pages SET hide_reason = ? WHERE id = ?", [code or "", page_id])


def set_page_detect(db, page_id: int, status: str, error: str = "") -> None:
    db.execute("UPDATE pages SET detect_status = ?, detect_error = ? WHERE id = ?", [status, error, page_id])


def set_render_path(db, page_id: int, rel: str) -> None:
    """Where the page's sealed review render lies (relative to the data dir)."""
    db.execute("UPDATE pages SET render_path = ? WHERE id = ?", [rel, page_id])


def page_ids_by_index(db, document_id: int) -> dict[int, int]:
    """page index → page id of one document."""
    rows = db.execute("SELECT page_index, id FROM pages WHERE document_id = ?", [document_id]).fetchall()
    return {index: page_id for index, page_id in rows}


def failed_page_count(db, case_id: str) -> int:
    """Pages of the case whose detection failed."""
    row = db.execute(
        "SELECT COUNT(*) FROM pages WHERE case_id = ? AND detect_status = 'failed'", [case_id]
    ).fetchone()
    return int(row[0])
