"""Handwriting after a signature label, and the emblem beside a hospital name, are found on rotated scans
too, through real OCR of the render.

Two ways a scan ends up rotated: the scanner stores the sheet sideways and sets /Rotate so that it shows
upright (OCR then reads lines that run down or up the unrotated page), or a page is stored upright and
/Rotate turns it on screen.  The signature and logo finders reason along lines ("right of the label",
"beside the name"); both ways must
give it lines that read left to right, and the boxes must land on the ink in the page's own points.
"""

from __future__ import annotations

import numpy as np
import pymupdf
import pytest

from core.engine import analyze_document
from core.pdf import geometry
from tests.engine.pdfs import text_page
from tools.eval import visual as visual_eval
from tools.eval.visual import coverage

KAI = "/usr/share/fonts/truetype/arphic/ukai.ttc"
DPI = 200
SIGNED = {"张秀兰": 2, "刘德海": 3}  # handwriting -> line index of its label


def _upright_sheet() -> tuple[np.ndarray, dict[str, tuple]]:
    """Grey pixels of an upright A4 sheet with two labels and handwriting; handwriting rects in points."""
    doc = pymupdf.open()
    page = text_page(doc, ["出院记录", "诊断：妊娠期高血压 G1P0", "患者签名：", "医师签名："], size=12)
    page.insert_font(fontname="kai", fontfile=KAI)
    for name, line in SIGNED.items():
        page.insert_text((110, 60 + 24 * line + 4), name, fontname="kai", fontsize=22, color=(0.1, 0.1, 0.3))
    pix = page.get_pixmap(dpi=DPI, colorspace=pymupdf.csGRAY)
    pixels = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width).copy()
    return pixels, {name: _ink(pixels, page.search_for(name)[0]) for name in SIGNED}


def _ink(pixels: np.ndarray, where: pymupdf.Rect) -> tuple:
    """The tight box (points) of the dark pixels inside ``where``: the handwriting itself."""
    k = DPI / 72
    x0, y0 = int(where.x0 * k), int(where.y0 * k)
    ys, xs = np.nonzero(pixels[y0 : int(where.y1 * k), x0 : int(where.x1 * k)] < 128)
    return ((x0 + xs.min()) / k, (y0 + ys.min()) / k, (x0 + xs.max() + 1) / k, (y0 + ys.max() + 1) / k)


def _scan(pixels: np.ndarray, rotation: int) -> pymupdf.Document:
    h, w = pixels.shape
    doc = pymupdf.open()
    page = doc.new_page(width=w * 72 / DPI, height=h * 72 / DPI)
    page.insert_image(page.rect, pixmap=pymupdf.Pixmap(pymupdf.csGRAY, w, h, pixels.tobytes(), False))
    page.set_rotation(rotation)
    return pymupdf.open(stream=doc.tobytes(), filetype="pdf")


def _signature_rects(doc: pymupdf.Document) -> list[tuple]:
    return [r for f in analyze_document(doc).findings if f.category.value == "signature" for r in f.rects]


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_sideways_scan_shown_upright(rotation):
    pixels, truth = _upright_sheet()
    stored = np.ascontiguousarray(np.rot90(pixels, k=rotation // 90))  # /Rotate turns it back, clockwise
    doc = _scan(stored, rotation)
    assert doc[0].rect.width == pytest.approx(595, abs=1)  # displayed as the upright sheet
    found = _signature_rects(doc)
    for name, shown in truth.items():
        assert coverage(geometry.from_display(doc[0], shown), found) >= 0.9, name


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_upright_scan_turned_on_screen(rotation):
    pixels, truth = _upright_sheet()
    doc = _scan(pixels, rotation)
    found = _signature_rects(doc)
    for name, rect in truth.items():
        assert coverage(rect, found) >= 0.9, name


@pytest.mark.parametrize("rotation", [90, 270])
def test_emblem_beside_the_hospital_name_on_a_sideways_scan(rotation):
    doc, truths = visual_eval.synth.POSITIVE["logo"](0)
    pix = doc[0].get_pixmap(dpi=DPI)
    pixels = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, pix.n)[:, :, :3]
    stored = np.ascontiguousarray(np.rot90(pixels, k=rotation // 90))
    h, w = stored.shape[:2]
    scan = pymupdf.open()
    page = scan.new_page(width=w * 72 / DPI, height=h * 72 / DPI)
    page.insert_image(page.rect, pixmap=pymupdf.Pixmap(pymupdf.csRGB, w, h, stored.tobytes(), False))
    page.set_rotation(rotation)
    scan = pymupdf.open(stream=scan.tobytes(), filetype="pdf")
    found = [r for f in analyze_document(scan).findings if f.category.value == "logo" for r in f.rects]
    emblem = truths[0]  # the emblem drawn left of the name in the page header (found upright as well)
    assert emblem.page_index == 0
    assert coverage(geometry.from_display(scan[0], emblem.rect), found) >= 0.9
