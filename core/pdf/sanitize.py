"""Remove hidden data: metadata, XMP, outlines, annotations, form fields,
embedded files, JavaScript, thumbnails, links; then save with garbage
collection so removed objects are not in the file (no incremental update)."""
from __future__ import annotations

import pymupdf


def sanitize(doc: pymupdf.Document) -> None:
    """Scrub ``doc`` in place (keeps page content as redacted)."""
    for page in doc:
        for annot in list(page.annots() or []):
            page.delete_annot(annot)
        for widget in list(page.widgets() or []):
            page.delete_widget(widget)
    doc.scrub(
        attached_files=True,
        clean_pages=True,
        embedded_files=True,
        hidden_text=False,  # invisible text was already redacted where it held identifiers
        javascript=True,
        metadata=True,
        redactions=False,
        remove_links=True,
        reset_fields=True,
        reset_responses=True,
        thumbnails=True,
        xml_metadata=True,
    )
    doc.set_toc([])
    doc.set_metadata({})
    try:
        doc.del_xml_metadata()
    except Exception:
        pass


def clean_bytes(doc: pymupdf.Document, **save_opts) -> bytes:
    """Serialise without history: full rewrite, unused objects dropped."""
    return doc.tobytes(garbage=4, deflate=True, clean=True, no_new_id=True, **save_opts)
