"""A stored document's form fields are what detection, review and the export all see: a name typed into
a field is found by the store's detection and is gone from the export, the field's clinical value stays."""

from __future__ import annotations

import pymupdf

from core.archive import FolderArchive
from core.cases.processing import run_detect, run_import
from core.export.from_store import case_documents
from core.export.options import ExportOptions
from core.export.pipeline import ExportJob, stage_redact, stage_select
from core.models import CaseMeta
from core.store import jobs as job_store
from factory import make_case

HUSBAND = "陈志强"  # in the case index (family), typed into a form field here
DIAGNOSIS = "妊娠期高血压"


def _add_fields(pdf_path) -> None:
    doc = pymupdf.open(pdf_path)
    page = doc[0]
    for y, value, field in ((700, HUSBAND, "contact"), (730, DIAGNOSIS, "diagnosis")):
        widget = pymupdf.Widget()
        widget.field_type, widget.field_name, widget.field_value = pymupdf.PDF_WIDGET_TYPE_TEXT, field, value
        widget.rect, widget.text_font, widget.text_fontsize = pymupdf.Rect(120, y, 360, y + 18), "china-s", 12
        page.add_widget(widget)
    doc.save(pdf_path, incremental=True, encryption=pymupdf.PDF_ENCRYPT_KEEP)


def test_field_value_is_detected_in_the_store_and_gone_from_the_export(db, tmp_path):
    folder = make_case(tmp_path / "arch", "CFORM", docs=(("d01", "入院记录", 1),))
    _add_fields(folder / "d01.pdf")
    run_import(db, job_store.create(db, "CFORM", "import"), FolderArchive(tmp_path / "arch"), "CFORM")
    run_detect(db, job_store.create(db, "CFORM", "detect"), "CFORM")
    (src,) = case_documents(db, "CFORM")
    assert any(f.text == HUSBAND for f in src.findings)
    job = ExportJob(
        documents=[src],
        meta=CaseMeta.from_dict({}),
        options=ExportOptions(style="black"),
        code="ZY-TEST-0001",
    )
    stage_select(job)
    job.book = None
    stage_redact(job)
    ((_, out),) = job.redacted
    text = out[0].get_text()
    assert HUSBAND not in text and DIAGNOSIS in text
    assert not list(out[0].widgets())
