"""A grey scan is drawn grey (MuPDF then does not convert the image's colours):
the OCR render is pixel for pixel the RGB render, and a page that shows any
colour (a colour image, an Indexed or Separation image, a red stamp drawn
over the scan) is still drawn in colour."""

from __future__ import annotations

import numpy as np
import pymupdf

from core.ocr.page import _grey_images_only, render
from core.pdf.render import is_grey_image
from tests.ocr.scans import pixels, scan_of, source_page


def _grey_scan() -> pymupdf.Document:
    _, src = source_page(["姓名：张伟明  住院号：20250117", "诊断：社区获得性肺炎"])
    grey = pixels(src).mean(axis=2).astype(np.uint8)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=300)
    pix = pymupdf.Pixmap(pymupdf.csGRAY, grey.shape[1], grey.shape[0], grey.tobytes(), False)
    page.insert_image(page.rect, stream=pix.tobytes("jpg", jpg_quality=80))
    return pymupdf.open("pdf", doc.tobytes())


def _rgb_render(page: pymupdf.Page, dpi: int = 150) -> np.ndarray:
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csRGB, alpha=False)
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3)


def test_a_grey_scan_is_drawn_grey_with_the_pixels_of_its_rgb_render():
    page = _grey_scan()[0]
    assert _grey_images_only(page)
    img, _ = render(page, 150)
    assert img.shape[2] == 3 and np.array_equal(img, _rgb_render(page))


def test_a_red_stamp_drawn_over_a_grey_scan_keeps_its_colour():
    doc = _grey_scan()
    page = doc[0]
    page.draw_circle((400, 150), 30, color=(0.9, 0.1, 0.1), width=3)
    assert not _grey_images_only(page)
    img, _ = render(page, 150)
    r, g, b = (int(v) for v in img[int(120 * 150 / 72) + 1, int(400 * 150 / 72)])
    assert r - max(g, b) > 80, (r, g, b)


def test_a_colour_scan_is_drawn_in_colour():
    _, src = source_page(["姓名：张伟明"])
    src.draw_rect(pymupdf.Rect(300, 100, 400, 200), color=None, fill=(0.9, 0.1, 0.1))
    doc, page = scan_of(pixels(src), 595, 300)
    assert not _grey_images_only(page)
    img, _ = render(page, 150)
    r, g, b = (int(v) for v in img[int(150 * 150 / 72), int(350 * 150 / 72)])
    assert r - max(g, b) > 80, (r, g, b)


def test_one_component_colourspaces_that_show_colour_are_not_grey():
    assert is_grey_image({"colorspace": 1, "cs-name": "DeviceGray"})
    assert is_grey_image({"colorspace": 1, "cs-name": "ICCBased(Gray,Artifex Software sGray ICC Profile)"})
    assert not is_grey_image({"colorspace": 1, "cs-name": "Indexed(1,DeviceRGB)"})
    assert not is_grey_image({"colorspace": 1, "cs-name": "Separation(DeviceRGB,Red)"})
    assert not is_grey_image({"colorspace": 3, "cs-name": "DeviceRGB"})
