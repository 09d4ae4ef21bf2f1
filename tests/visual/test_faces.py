"""Faces in photos (OpenCV's Haar cascade, shipped in the opencv wheel)."""

from __future__ import annotations

import io

import pymupdf
import pytest

from core.detect.visual.faces import face_backend
from tools.eval.visual import page_inputs, run_visual
from tools.synth.visual import face_image
from tests.engine.pdfs import rasterize, text_page

PHOTO = pymupdf.Rect(300, 200, 420, 350)


def photo_page(seed: int = 0) -> pymupdf.Document:
    doc = pymupdf.open()
    page = text_page(doc, ["伤口照片（术后第3天）", "切口愈合良好，无红肿渗出。"])
    buf = io.BytesIO()
    face_image(200, 250, seed).save(buf, format="PNG")
    page.insert_image(PHOTO, stream=buf.getvalue())
    return doc


def test_backend_is_available_offline():
    assert face_backend() == "haar"


@pytest.mark.parametrize("scanned", [False, True])
def test_face_in_photo_is_found(scanned):
    doc = photo_page()
    if scanned:
        doc = rasterize(doc)
    faces = [f for f in run_visual(page_inputs(doc, scanned=scanned)) if f.category.value == "face"]
    assert faces, "no face found"
    r = pymupdf.Rect(faces[0].rects[0])
    inter = r & PHOTO
    assert inter.get_area() >= 0.25 * PHOTO.get_area() and PHOTO.contains((r.tl + r.br) / 2)


def test_text_only_page_has_no_face():
    doc = pymupdf.open()
    text_page(doc, ["病程记录", "患者神志清，精神可，生命体征平稳。"] * 10)
    assert not [f for f in run_visual(page_inputs(doc)) if f.category.value == "face"]


def test_face_beside_dense_text_on_a_scan_is_found_through_the_engine():
    """On scans the face search skips the OCR'd text lines; a photo among
    long lines of text (real OCR) is still found."""
    from core.engine import analyze_document

    doc = pymupdf.open()
    lines = ["伤口照片（术后第3天）"] + ["切口愈合良好，无红肿渗出，继续换药观察。"] * 14
    page = text_page(doc, lines)
    buf = io.BytesIO()
    face_image(200, 250, 1).save(buf, format="PNG")
    page.insert_image(PHOTO, stream=buf.getvalue())
    scan = rasterize(doc)
    analysis = analyze_document(scan, {}, workers=1)
    assert analysis.pages[0].scanned and analysis.pages[0].ocr_chars >= 60  # text lines were there to blank
    faces = [f for f in analysis.findings if f.category.value == "face"]
    assert faces, "no face found"
    assert PHOTO.contains((pymupdf.Rect(faces[0].rects[0]).tl + pymupdf.Rect(faces[0].rects[0]).br) / 2)
