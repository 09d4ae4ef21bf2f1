"""The review preview runs the export's path, fail-closed pages included: a
page whose detection failed, or one MuPDF cannot redact, shows blank in the
preview exactly as the export (and the CLI) release it."""

import pymupdf
import pytest

from core.cases import review
from core.export.from_store import case_documents
from core.export.options import ExportDocument
from core.cases.processing import run_detect, run_import
from core.archive import FolderArchive
from core.redaction.apply import BLANK_NOTICE
from core.store import documents as doc_store
from core.store import jobs as job_store

PREPARER = {"username": "prep1", "role": "preparer"}


@pytest.fixture
def case(db, archive_root):
    run_import(db, job_store.create(db, "C2024001", "import"), FolderArchive(archive_root), "C2024001")
    run_detect(db, job_store.create(db, "C2024001", "detect"), "C2024001")
    return "C2024001"


def _dark_share(png: bytes) -> float:
    pix = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.Pixmap(png))
    return sum(1 for v in pix.samples if v < 128) / len(pix.samples)


def _preview_text(png: bytes) -> str:
    """The preview image read back as a one-page PDF (notice text is vector in the redacted page)."""
    from core.ocr.page import ocr_page_chars

    doc = pymupdf.open()
    pix = pymupdf.Pixmap(png)
    page = doc.new_page(width=pix.width * 72 / 100, height=pix.height * 72 / 100)
    page.insert_image(page.rect, pixmap=pix)
    return "".join(c.c for line in ocr_page_chars(page, dpi=150) for c in line)


def test_page_whose_detection_failed_is_blank_in_the_preview_and_the_export(db, case):
    page = review.pages(db, case)[0]
    before, info = review.preview_png(db, PREPARER, page["id"])
    assert not info["blanked"] and _dark_share(before) > 0.01  # the page's text shows
    doc_store.set_page_detect(db, page["id"], "failed", "页面检测失败 / page analysis failed: RuntimeError")
    after, info = review.preview_png(db, PREPARER, page["id"])
    assert info["blanked"]
    assert _dark_share(after) < 0.2 * _dark_share(before)  # only the one-line notice is left
    assert "无法安全处理" in _preview_text(after)
    # the export gets the same list, so both paths blank the same page
    (doc,) = [d for d in case_documents(db, case) if d.doc_id == page["doc_id"]]
    assert doc.blank_pages == [page["page_index"]]


def test_export_pipeline_blanks_the_pages_it_is_told(db, case):
    from core.export.pipeline import ExportJob, stage_redact, stage_select
    from core.export.options import ExportOptions
    from core.models import CaseMeta

    page = review.pages(db, case)[0]
    src = next(d for d in case_documents(db, case) if d.doc_id == page["doc_id"])
    job = ExportJob(
        documents=[
            ExportDocument(src.doc_id, src.doc_type, src.pdf, src.findings, blank_pages=[page["page_index"]])
        ],
        meta=CaseMeta.from_dict({}),
        options=ExportOptions(style="black"),
        code="ZY-TEST-0000",
    )
    stage_select(job)
    job.book = None
    stage_redact(job)
    ((_, out),) = job.redacted
    text = out[page["page_index"]].get_text()
    assert BLANK_NOTICE.split(" / ")[0] in text and len(text.strip()) < 80
    assert {"doc_id": src.doc_id, "page_index": page["page_index"], "reason": "page_blanked"} in job.flags


def test_page_mupdf_cannot_redact_is_blank_in_the_preview(db, case, monkeypatch):
    import core.redaction.apply

    page = review.pages(db, case)[0]
    review.add_box(db, PREPARER, page["id"], (80, 500, 400, 560))

    def cannot(page, items, style):
        raise RuntimeError("MuPDF cannot rewrite this page")

    monkeypatch.setattr(core.redaction.apply, "_redact_page", cannot)
    png, info = review.preview_png(db, PREPARER, page["id"])
    assert info["blanked"]
    assert "无法安全处理" in _preview_text(png)
