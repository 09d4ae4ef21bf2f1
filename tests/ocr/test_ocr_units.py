"""Fast checks of the OCR helpers (no model run)."""

from __future__ import annotations

import numpy as np
import pymupdf
import pytest

from core.models import Char, Source
from core.ocr.engine import OcrEngine, OcrLine, layout_chars, split_proportional
from core.ocr.page import (
    drop_duplicates,
    ocr_page_chars,
    ocr_regions,
    orientations_to_try,
    rotate_lines_back,
)

from .scans import FONT


def test_layout_inserts_space_at_wide_gap_only():
    # 6 CJK chars 20 px apart, then a 2-char gap, then 2 more
    centers = [10, 30, 50, 70, 90, 110, 170, 190]
    text, spans = layout_chars(centers, "姓名：张伟明性别", 200)
    assert text == "姓名：张伟明 性别"
    assert len(spans) == len(text)
    # touching characters share their boundary; boxes cover their centres
    for (lo, hi), c in zip(spans, [10, 30, 50, 70, 90, 110, None, 170, 190]):
        if c is not None:
            assert lo < c < hi
    assert spans[5][1] <= spans[7][0]  # the name's last char stops before the gap


def test_layout_measures_digit_width_on_the_line():
    # wide digits (as in some CJK fonts): no false spaces between them
    centers = [10, 30, 50, 70]
    text, _ = layout_chars(centers, "床号12", 80)
    assert text == "床号12"


def test_split_proportional_gives_cjk_twice_ascii():
    spans = split_proportional(0, 31, "张3")
    assert spans[0][1] - spans[0][0] == pytest.approx(20, abs=0.1)
    assert spans[1][1] - spans[1][0] == pytest.approx(11, abs=0.1)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_rotate_lines_back_maps_pixels_of_turned_image(k):
    img = np.zeros((40, 60), dtype=np.uint8)
    img[5:9, 10:20] = 1  # a mark at x 10..20, y 5..9
    turned = np.rot90(img, k)
    ys, xs = np.nonzero(turned)
    box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
    line = OcrLine("x", box, 1.0, None, [box])
    back = rotate_lines_back([line], k, 60, 40)[0]
    assert back.box == pytest.approx((10, 5, 20, 9))
    assert back.char_boxes[0] == pytest.approx((10, 5, 20, 9))


def test_orientation_search_only_for_vertical_or_weak_readings():
    flat = OcrLine("入院记录病程", (0, 0, 120, 20), 0.98, ((0, 0), (120, 0), (120, 20), (0, 20)))
    tall = OcrLine("入院记录病程", (0, 0, 20, 120), 0.98, ((0, 0), (20, 0), (20, 120), (0, 120)))
    weak = OcrLine("入院记录病程", (0, 0, 120, 20), 0.55, ((0, 0), (120, 0), (120, 20), (0, 20)))
    assert orientations_to_try([flat, flat, flat]) == []
    assert orientations_to_try([tall, tall, flat]) == [1, 3]
    assert orientations_to_try([weak]) == [2]
    assert orientations_to_try([]) == []


class CountingEngine(OcrEngine):
    """Fake engine: one fixed line, counts its calls."""

    engine_id = "fake-1"

    def __init__(self):
        self.calls = 0

    def recognize(self, img_rgb, min_score=0.5):
        self.calls += 1
        h, w = img_rgb.shape[:2]
        box = (w * 0.1, h * 0.1, w * 0.4, h * 0.2)
        x = [box[0] + i * (box[2] - box[0]) / 3 for i in range(4)]
        return [OcrLine("王小明", box, 0.99, None, [(x[i], box[1], x[i + 1], box[3]) for i in range(3)])]


def _image_page():
    doc = pymupdf.open()
    page = doc.new_page(width=300, height=200)
    img = np.full((100, 150, 3), 255, dtype=np.uint8)
    img[20:40, 20:80] = 0
    page.insert_image(page.rect, pixmap=pymupdf.Pixmap(pymupdf.csRGB, 150, 100, img.tobytes(), False))
    return doc, page


def test_second_run_of_a_page_comes_from_the_sealed_cache(isolated_data_dir):
    doc, page = _image_page()
    eng = CountingEngine()
    first = ocr_page_chars(page, 72, engine=eng, use_cache=True)
    second = ocr_page_chars(page, 72, engine=eng, use_cache=True)
    assert eng.calls == 1
    assert first == second
    assert "".join(c.c for c in first[0]) == "王小明"
    assert all(c.source == Source.OCR for c in first[0])
    files = list((isolated_data_dir / "cache" / "ocr").rglob("*.ocr"))
    assert len(files) == 1
    blob = files[0].read_bytes()
    assert blob.startswith(b"SM4G2")  # current format: key id + bound to its cache key
    assert "王小明".encode() not in blob
    # another engine (or engine version) misses the cache
    other = CountingEngine()
    other.engine_id = "fake-2"
    ocr_page_chars(page, 72, engine=other, use_cache=True)
    assert other.calls == 1
    # a damaged entry is a miss, not an error
    files[0].write_bytes(b"SM4G1" + b"\0" * 40)
    ocr_page_chars(page, 72, engine=eng, use_cache=True)
    assert eng.calls == 2


def test_fake_engine_boxes_land_in_page_points_on_rotated_page():
    doc, page = _image_page()
    page.set_rotation(90)
    eng = CountingEngine()
    lines = ocr_page_chars(page, 72, engine=eng, use_cache=False)
    # the render is 200 x 300 (rotated); box = 10%..40% of width, 10%..20% of height
    # in display points: x 20..80, y 30..60 -> unrotated (derotated) rect
    disp = (20.0, 30.0, 80.0, 60.0)
    expect = pymupdf.Rect(disp) * page.derotation_matrix
    got = pymupdf.Rect(lines[0][0].rect) | pymupdf.Rect(lines[0][-1].rect)
    assert tuple(got) == pytest.approx(tuple(expect), abs=1.0)


def test_regions_scan_is_whole_page_born_digital_gets_big_images_only():
    doc, page = _image_page()
    assert ocr_regions(page, 0) == [pytest.approx((0, 0, 300, 200))]
    doc2 = pymupdf.open()
    p2 = doc2.new_page(width=595, height=842)
    p2.insert_text((50, 60), "入院记录 " * 10, fontname="wqy", fontfile=FONT, fontsize=11)
    logo = pymupdf.Pixmap(pymupdf.csRGB, 20, 20, bytes(1200), False)
    p2.insert_image(pymupdf.Rect(500, 20, 540, 60), pixmap=logo)  # < 1 inch²
    p2.insert_image(pymupdf.Rect(100, 300, 300, 450), pixmap=logo)  # scanned insert
    p2.insert_image(pymupdf.Rect(250, 400, 400, 500), pixmap=logo)  # overlaps it
    regions = ocr_regions(p2, 50)
    assert regions == [pytest.approx((100, 300, 400, 500))]


def test_drop_duplicates_keeps_only_what_the_text_layer_lacks():
    text = [[Char("姓", (0, 0, 10, 10)), Char("名", (10, 0, 20, 10))]]
    ocr = [
        [
            Char("姓", (1, 0, 11, 10), Source.OCR),
            Char("名", (11, 0, 21, 10), Source.OCR),
            Char("张", (30, 0, 40, 10), Source.OCR),
            Char("三", (40, 0, 50, 10), Source.OCR),
        ]
    ]
    out = drop_duplicates(ocr, text)
    assert ["".join(c.c for c in ln) for ln in out] == ["张三"]


@pytest.mark.parametrize("rotation", [0, 90, 270])
def test_clip_of_a_rotated_page_maps_back_inside_the_image(rotation):
    """A scanned insert on a born-digital page: OCR of the image's clip
    lands inside the image's box (unrotated points) whatever /Rotate says."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    img_box = (100.0, 300.0, 400.0, 500.0)
    pix = pymupdf.Pixmap(pymupdf.csRGB, 60, 40, bytes(60 * 40 * 3), False)
    page.insert_image(pymupdf.Rect(img_box), pixmap=pix)
    page.set_rotation(rotation)
    eng = CountingEngine()
    lines = ocr_page_chars(page, 72, clip=img_box, engine=eng, use_cache=False)
    got = pymupdf.Rect(lines[0][0].rect) | pymupdf.Rect(lines[0][-1].rect)
    assert pymupdf.Rect(img_box).contains(got)
    # the fake line sits at 10-40 % x, 10-20 % y of the rendered (displayed) clip
    disp = pymupdf.Rect(img_box) * page.rotation_matrix
    disp.normalize()
    expect = (
        pymupdf.Rect(
            disp.x0 + 0.1 * disp.width,
            disp.y0 + 0.1 * disp.height,
            disp.x0 + 0.4 * disp.width,
            disp.y0 + 0.2 * disp.height,
        )
        * page.derotation_matrix
    )
    expect.normalize()
    assert tuple(got) == pytest.approx(tuple(expect), abs=1.5)
