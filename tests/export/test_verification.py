"""The final check blocks a planted leak: metadata, annotation, white-on-
white text, an image (OCR); fuzzy OCR matching."""

from __future__ import annotations

import pymupdf
import pytest

from core.errors import LeakError
from core.export.check import verify_final
from core.export.matcher import Identifier, Matcher
from core.export.options import ExportDocument, ExportOptions
from core.export.pipeline import export_case
from tests.export import helpers

IDS = [(v, c) for c, v, _ in helpers.IDENTIFIERS]
IDENTS = [Identifier(v, c) for c, v, _ in helpers.IDENTIFIERS]


@pytest.fixture(scope="module")
def clean_export(tmp_path_factory):
    import os

    os.environ["DEID_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    demo = os.environ.get("DEID_DEMO")
    os.environ["DEID_KEY_FILE"] = str(tmp_path_factory.mktemp("keyring") / "storage.key")
    os.environ["DEID_DEMO"] = "1"  # generated demo keys (module fixture: before the autouse one)
    try:
        return export_case(
            helpers.case_documents(), helpers.META, ExportOptions(cover=False), extra_identifiers=IDS
        )
    finally:
        del os.environ["DEID_DATA_DIR"], os.environ["DEID_KEY_FILE"]
        if demo is None:
            del os.environ["DEID_DEMO"]
        else:
            os.environ["DEID_DEMO"] = demo


def _planted(pdf: bytes, plant) -> bytes:
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    plant(doc)
    return doc.tobytes()


def test_clean_export_passes(clean_export):
    assert verify_final(clean_export.pdf, IDENTS, ocr="none")["ok"]


def test_metadata_planted_after_sanitize_is_caught(clean_export):
    pdf = _planted(clean_export.pdf, lambda d: d.set_metadata({"author": helpers.PATIENT}))
    report = verify_final(pdf, IDENTS, ocr="none")
    assert not report["ok"]
    assert any(l["where"] == "metadata" and l["category"] == "patient_name" for l in report["leaks"])
    assert helpers.PATIENT not in str(report)  # the report masks


def test_annotation_planted_after_sanitize_is_caught(clean_export):
    pdf = _planted(clean_export.pdf, lambda d: d[1].add_text_annot((100, 100), f"联系 {helpers.ID_NUMBER}"))
    report = verify_final(pdf, IDENTS, ocr="none")
    assert not report["ok"]
    assert any(l["where"] == "annotation" and l["page"] == 2 for l in report["leaks"])


def test_outline_and_attachment_planted_are_caught(clean_export):
    def plant(d):
        d.set_toc([[1, helpers.HUSBAND, 1]])
        d.embfile_add("x.txt", helpers.INPATIENT_NO.encode())

    report = verify_final(_planted(clean_export.pdf, plant), IDENTS, ocr="none")
    wheres = {l["where"] for l in report["leaks"]}
    assert "outline" in wheres and "attachment" in wheres


def test_white_on_white_text_blocks_the_export():
    doc = pymupdf.open(stream=helpers.progress_pdf(), filetype="pdf")
    doc[0].insert_text((60, 700), f"备注 {helpers.HUSBAND}", fontname="china-s", fontsize=11, color=(1, 1, 1))
    data = doc.tobytes()
    findings = [f for f in helpers.findings_for(data) if f.rects[0][1] < 650]  # the detector missed it
    with pytest.raises(LeakError) as err:
        export_case(
            [ExportDocument("d01", "病程记录", data, findings)],
            helpers.META,
            ExportOptions(cover=False),
            extra_identifiers=IDS,
        )
    leaks = err.value.leaks
    assert any(l["where"] == "text" and l["page"] == 1 and l["category"] == "relative_name" for l in leaks)
    assert helpers.HUSBAND not in err.value.message


def test_identifier_in_an_image_blocks_the_export():
    scan = helpers.scanned_pdf(f"姓名 {helpers.PATIENT}  住院号 {helpers.INPATIENT_NO}")
    docs = [ExportDocument("d01", "辅助检查报告", scan, [])]
    with pytest.raises(LeakError) as err:
        export_case(docs, helpers.META, ExportOptions(cover=False, verify_workers=1), extra_identifiers=IDS)
    ocr_hits = [l for l in err.value.leaks if l["where"] == "ocr"]
    assert ocr_hits and all(l["page"] == 1 for l in ocr_hits)
    assert {"patient_name", "record_number"} & {l["category"] for l in ocr_hits}


def test_fuzzy_match_tolerates_one_ocr_confusion_for_long_values():
    m = Matcher(
        [
            Identifier(helpers.HOSPITAL, "institution"),
            Identifier(helpers.PATIENT, "patient_name"),
            Identifier(helpers.ID_NUMBER, "id_number"),
        ]
    )
    assert [h.fuzzy for h in m.search("由南京市妇幻保健院转入")] == [True]  # one character misread
    assert [h.fuzzy for h in m.search("由南京市妇幼保 健院转入")] == [False]  # spaces ignored
    assert m.search("南京市妇幼保院") and m.search("南京市妇幼保健医院")  # one missing / extra
    assert not m.search("南京市儿童医院")
    assert not m.search("王小江")  # short names: exact only
    assert m.search("３２０１０２１９９００１０１１２３４")  # full-width digits
    assert m.search("32010219900101I234")  # I read for 1
    assert m.search("320102199001011284")  # one digit confused, long number


def test_identifier_in_a_small_image_on_a_text_page_is_caught():
    """Only the image region is OCRed (fast), and it is enough."""
    src = pymupdf.open()
    sp = src.new_page(width=300, height=60)
    sp.insert_text((10, 38), f"签名 {helpers.HUSBAND}", fontname="china-s", fontsize=20)
    stamp = sp.get_pixmap(dpi=150).tobytes("png")
    doc = pymupdf.open(stream=helpers.progress_pdf(), filetype="pdf")
    doc[0].insert_image(pymupdf.Rect(300, 500, 450, 530), stream=stamp)
    data = doc.tobytes()
    from core.export.check import ocr_tasks

    final = pymupdf.open(stream=data, filetype="pdf")
    tasks = ocr_tasks(final, "images")
    assert len(tasks) == 1 and tasks[0][0] == 0 and tasks[0][1] is not None  # a clip, not the page
    report = verify_final(data, IDENTS, ocr="images", workers=1)
    assert any(l["where"] == "ocr" and l["category"] == "relative_name" for l in report["leaks"])


def test_ocr_runs_in_a_process_pool_with_progress():
    """Three image pages, two worker processes; the leak is on page 3."""
    doc = pymupdf.open()
    for line in ["血常规 正常", "尿常规 正常", f"家属 {helpers.HUSBAND} 签字"]:
        src = pymupdf.open()
        sp = src.new_page(width=300, height=120)
        sp.insert_text((20, 60), line, fontname="china-s", fontsize=18)
        page = doc.new_page(width=300, height=120)
        page.insert_image(page.rect, stream=sp.get_pixmap(dpi=150).tobytes("png"))
    seen = []
    report = verify_final(
        doc.tobytes(),
        IDENTS,
        ocr="images",
        workers=2,
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    assert [(l["page"], l["where"], l["category"]) for l in report["leaks"]] == [(3, "ocr", "relative_name")]
    assert report["ocr_pages"] == 3
    assert [s for s in seen if s[0] == "verify_ocr"] == [
        ("verify_ocr", 1, 3),
        ("verify_ocr", 2, 3),
        ("verify_ocr", 3, 3),
    ]
