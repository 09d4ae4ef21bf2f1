"""Export verification never writes the plain final PDF to the system temp folder (issue 12)."""

from __future__ import annotations

import tempfile

import pytest

from core.export.options import ExportOptions
from core.export.pipeline import export_case
from core.verify.ocr import ocr_pages
from core.verify.sources import pdftotext_pages
from tests.export import helpers

IDS = [(v, c) for c, v, _ in helpers.IDENTIFIERS]


@pytest.fixture
def no_system_temp(monkeypatch):
    """Fail on any temp file or folder in the system temp dir (a ``dir=`` inside the store is fine)."""
    made = []
    real_mkdtemp, real_mkstemp = tempfile.mkdtemp, tempfile.mkstemp

    def mkdtemp(suffix=None, prefix=None, dir=None):
        if dir is None:
            made.append(("dir", prefix))
            raise AssertionError(f"temp folder in the system temp dir ({prefix})")
        return real_mkdtemp(suffix, prefix, dir)

    def mkstemp(suffix=None, prefix=None, dir=None, text=False):
        if dir is None:
            made.append(("file", prefix))
            raise AssertionError(f"temp file in the system temp dir ({prefix})")
        return real_mkstemp(suffix, prefix, dir, text)

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    return made


def test_leak_gate_reads_the_final_pdf_from_memory(no_system_temp):
    pdf = helpers.admission_pdf()
    assert helpers.PATIENT in "".join(pdftotext_pages(pdf))
    texts = ocr_pages(helpers.scanned_pdf(), "", [(0, None)], dpi=150, workers=1)
    assert helpers.PATIENT[:1] in texts[0]
    assert no_system_temp == []


def test_export_with_ocr_verification_writes_no_plain_temp_file(no_system_temp):
    result = export_case(
        helpers.case_documents(scanned=True),
        helpers.META,
        ExportOptions(cover=False, verify_ocr="images"),
        extra_identifiers=IDS,
    )
    assert result.pdf.startswith(b"%PDF")
    assert no_system_temp == []
