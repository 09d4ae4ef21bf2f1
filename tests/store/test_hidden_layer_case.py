"""Issue 11, row "name + ID in an optional-content layer switched off": in
the app the layer is shown for review (its boxes are listed and its pixels
are in the review image), the case can be approved and exported, and the
export has no hidden layer and neither value anywhere.  A case built here
through the archive, import, detection, review, approval and export."""

from __future__ import annotations

import subprocess

import pymupdf

from core.archive import FolderArchive
from core.cases import review, workflow
from core.cases.processing import run_detect, run_import
from core.cli import main
from core.security import auth
from core.store import jobs as job_store
from factory import FONT, make_case, review_everything

CASE = "C2025111"
PATIENT = "周晓梅"
ID_NUMBER = "320102199701011234"  # the case index's id_number (factory)
RELATIVE = "陈志强"  # the case index's family member (factory)
LAYER_RECT = pymupdf.Rect(
    60, 420, 420, 470
)  # where the hidden layer writes, PDF page space (top left origin)


def _add_hidden_layer(path) -> None:
    doc = pymupdf.open(path)
    off = doc.add_ocg("审核隐藏层", on=False)
    page = doc[0]
    page.insert_font(fontname="wqy", fontfile=FONT)
    page.insert_text(
        (LAYER_RECT.x0, LAYER_RECT.y0 + 14), f"身份证号：{ID_NUMBER}", fontname="wqy", fontsize=12, oc=off
    )
    page.insert_text(
        (LAYER_RECT.x0, LAYER_RECT.y0 + 40),
        f"联系人：{RELATIVE}（丈夫）",
        fontname="wqy",
        fontsize=12,
        oc=off,
    )
    assert (
        ID_NUMBER not in page.get_text() and RELATIVE not in page.get_text()
    )  # a plain reader does not show it
    doc.saveIncr()


def _dark_share(png: bytes, rect: pymupdf.Rect, dpi: int) -> float:
    pix = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.Pixmap(png))
    s = dpi / 72
    x0, y0, x1, y1 = (int(v * s) for v in rect)
    dark = total = 0
    for y in range(y0, min(y1, pix.height)):
        for x in range(x0, min(x1, pix.width)):
            total += 1
            dark += pix.pixel(x, y)[0] < 128
    return dark / max(total, 1)


def _object_bytes(doc: pymupdf.Document, xref: int) -> bytes:
    """One object and its decompressed stream ('' for a free slot)."""
    try:
        data = doc.xref_object(xref, compressed=False).encode()
    except RuntimeError:
        return b""
    return data + ((doc.xref_stream(xref) or b"") if doc.xref_is_stream(xref) else b"")


def test_hidden_layer_is_reviewed_and_exported_without_layers(db, tmp_path, monkeypatch):
    monkeypatch.setenv("DEID_BCRYPT_ROUNDS", "4")
    root = tmp_path / "archive"
    folder = make_case(
        root, CASE, patient_name=PATIENT, inpatient_no="ZY20251111", docs=(("d01", "入院记录", 1),)
    )
    _add_hidden_layer(folder / "d01.pdf")
    assert run_import(db, job_store.create(db, CASE, "import"), FolderArchive(root), CASE)
    assert run_detect(db, job_store.create(db, CASE, "detect"), CASE)

    users = {}
    for name, role in (("prep1", "preparer"), ("sup1", "supervisor")):
        users[role], _ = auth.create_user(db, name, role, "Str0ng-Passw0rd!", must_change=False)
    (page,) = review.pages(db, CASE)
    review.open_page(db, users["preparer"], page["id"])

    # shown for review: boxes over the layer's values, and the layer's ink in the review image
    boxes = review.findings_view(db, page["id"])
    in_layer = [f for f in boxes if any(pymupdf.Rect(r).intersects(LAYER_RECT) for r in f["rects"])]
    assert {f["category"] for f in in_layer} >= {"id_number"}, boxes
    assert any(f["category"].endswith("name") for f in in_layer), boxes
    assert _dark_share(review.page_png(db, page["id"]), LAYER_RECT, review.REVIEW_DPI) > 0.01
    png, info = review.preview_png(db, users["preparer"], page["id"])
    assert info["ok"]

    # approved and exported: nothing hidden survives
    review_everything(db, users["preparer"], CASE)
    workflow.submit(db, CASE, users["preparer"])
    workflow.approve(db, CASE, users["supervisor"], workflow.case_plan_hash(db, CASE))
    out = tmp_path / "out"
    assert main(["export", CASE, "--out", str(out), "--user", "sup1"]) == 0
    (pdf,) = out.glob("*.pdf")
    doc = pymupdf.open(pdf)
    assert doc.xref_get_key(doc.pdf_catalog(), "OCProperties")[0] == "null"
    assert not doc.layer_ui_configs()
    raw = b"".join(_object_bytes(doc, x) for x in range(1, doc.xref_length()))
    assert b"/OC " not in raw and b"/OC/" not in raw and b"/OCG" not in raw
    text = "".join(p.get_text() for p in doc)
    poppler = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    for value in (ID_NUMBER, RELATIVE, PATIENT):
        assert value not in text and value not in poppler
        assert value.encode("utf-16-be").hex().encode() not in raw.lower()
    assert "重度子痫前期" in text.replace(" ", "")  # the clinical text around them stays
