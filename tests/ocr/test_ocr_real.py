"""Real OCR (RapidOCR, PP-OCRv4) on rasterised pages.

Pages are small (few lines) so the whole file runs in seconds on 2 cores.
Ground truth comes from the born-digital source page that was "scanned":
a scan placed over the whole page keeps the source's coordinates.
"""

from __future__ import annotations

import numpy as np
import pymupdf
import pytest

from core.ocr.page import ocr_page_chars, ocr_page_text, ocr_regions
from core.pdf.geometry import page_to_pixels

from .scans import FONT, SCAN_DPI, find, glyph_box, ink_covered, ink_mask, pixels, scan_of, source_page, union

CLINICAL = "初步诊断：社区获得性肺炎，予头孢曲松抗感染治疗"
ID_NUMBER = "320102198803154321"
NAME = "张伟明"
LINES = [f"姓名：{NAME}    性别：男    年龄：35岁", f"身份证号：{ID_NUMBER}", CLINICAL, "主治医师：李建国"]


def text_of(line) -> str:
    return "".join(c.c for c in line)


def assert_box_fits(page_shown: pymupdf.Page, truth, got, tol_pt: float = 5.0):
    """``got`` (unrotated points) covers the ink of ``truth`` and is not
    much bigger than it."""
    img = pixels(page_shown, SCAN_DPI)
    ink = ink_mask(img)
    cov = ink_covered(
        ink, page_to_pixels(page_shown, truth, SCAN_DPI), page_to_pixels(page_shown, got, SCAN_DPI)
    )
    assert cov >= 0.97, f"box covers only {cov:.0%} of the ink"
    # text-layer glyph boxes are taller than the ink (ascent/descent): compare x tightly, y loosely
    assert got[0] >= truth[0] - tol_pt and got[2] <= truth[2] + tol_pt
    assert got[1] >= truth[1] - 2 * tol_pt and got[3] <= truth[3] + 2 * tol_pt


@pytest.fixture(scope="module")
def scanned():
    src_doc, src = source_page(LINES, width=595, height=260)
    doc, page = scan_of(pixels(src), 595, 260)
    return src, doc, page


def test_scanned_page_reads_clinical_line_and_id_and_boxes_fit_the_name(scanned):
    src, doc, page = scanned
    assert page.get_text().strip() == ""
    assert ocr_regions(page, 0) == [pytest.approx(tuple(page.rect))]
    lines = ocr_page_chars(page, SCAN_DPI, use_cache=False)
    texts = [text_of(ln) for ln in lines]
    assert CLINICAL in texts
    id_line, i = find(lines, ID_NUMBER)
    assert_box_fits(page, glyph_box(src, ID_NUMBER), union(c.rect for c in id_line[i : i + len(ID_NUMBER)]))
    name_line, j = find(lines, NAME)
    name_box = union(c.rect for c in name_line[j : j + len(NAME)])
    assert_box_fits(page, glyph_box(src, NAME), name_box)
    # the name's box stops before the next field (性别) and after the label
    assert name_box[2] < glyph_box(src, "性别")[0]
    assert name_box[0] > glyph_box(src, "姓名：")[2] - 3
    # fields separated by wide gaps come out as separate words
    assert f"{NAME} 性别" in text_of(name_line)


def test_page_with_rotate_maps_boxes_to_unrotated_space(tmp_path):
    src_doc, src = source_page(LINES[:2], width=595, height=160)
    doc, page = scan_of(pixels(src), 595, 160, rotate=90)
    lines = ocr_page_chars(page, SCAN_DPI, use_cache=False)
    line, i = find(lines, ID_NUMBER)
    got = union(c.rect for c in line[i : i + len(ID_NUMBER)])
    # /Rotate does not move content in unrotated space: source boxes still hold
    assert_box_fits(page, glyph_box(src, ID_NUMBER), got)


def _turned_rect(r, k: int, w: float, h: float):
    """Where rect ``r`` of a w×h page lands when the page image is turned
    by ``np.rot90(img, k)``."""
    if k == 1:  # counter-clockwise: (x, y) -> (y, w - x)
        return (r[1], w - r[2], r[3], w - r[0])
    if k == 3:  # clockwise: (x, y) -> (h - y, x)
        return (h - r[3], r[0], h - r[1], r[2])
    return (w - r[2], h - r[3], w - r[0], h - r[1])  # k == 2


@pytest.mark.parametrize("k", [1, 3, 2], ids=["text-up", "text-down", "upside-down"])
def test_turned_content_is_read_and_mapped_back(k):
    """A landscape strip (ECG / fetal monitor) scanned onto a portrait page
    without /Rotate (text runs up or down the page), or a page scanned
    upside down."""
    w, h = 420, 150
    src_doc, src = source_page(LINES[:2], width=w, height=h)
    turned = np.ascontiguousarray(np.rot90(pixels(src), k))
    doc, page = scan_of(turned, *((h, w) if k % 2 else (w, h)))
    lines = ocr_page_chars(page, SCAN_DPI, use_cache=False)
    line, i = find(lines, ID_NUMBER)
    got = union(c.rect for c in line[i : i + len(ID_NUMBER)])
    assert_box_fits(page, _turned_rect(glyph_box(src, ID_NUMBER), k, w, h), got)
    find(lines, NAME)


def test_born_digital_page_with_scanned_insert_merges_without_duplicates():
    src_doc, src = source_page(["联系人：王小红  电话：13912345678"], width=300, height=90)
    insert = pixels(src)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=420)
    page.insert_text((40, 50), "入院记录  姓名：张伟明", fontname="wqy", fontfile=FONT, fontsize=11)
    box = pymupdf.Rect(40, 120, 340, 210)
    page.insert_image(
        box, pixmap=pymupdf.Pixmap(pymupdf.csRGB, insert.shape[1], insert.shape[0], insert.tobytes(), False)
    )
    # the same words again as an image over the text layer (a "sandwich" scan)
    page.insert_image(
        pymupdf.Rect(30, 30, 330, 120), pixmap=pixels_pixmap(page, pymupdf.Rect(30, 30, 330, 120))
    )
    merged = ocr_page_text(page, dpi=SCAN_DPI, use_cache=False)
    texts = [text_of(ln) for ln in merged]
    assert any("13912345678" in t for t in texts)
    line, i = find(merged, "13912345678")
    assert all(c.source.value == "ocr" for c in line)
    got = union(c.rect for c in line[i : i + 11])
    assert box.contains(pymupdf.Rect(got))
    # 张伟明 is in the text layer once; the picture of it adds no second copy
    assert sum(t.count("张伟明") for t in texts) == 1


def pixels_pixmap(page: pymupdf.Page, clip: pymupdf.Rect) -> pymupdf.Pixmap:
    return page.get_pixmap(dpi=SCAN_DPI, clip=clip, colorspace=pymupdf.csRGB, alpha=False)


def test_upright_page_with_vertical_labels_reads_both_directions():
    """Monitor strips pasted on an upright page: labels run up and down."""
    src_doc = pymupdf.open()
    src = src_doc.new_page(width=420, height=300)
    for i, t in enumerate(LINES[:2] + [CLINICAL]):
        src.insert_text((40, 50 + i * 26), t, fontname="wqy", fontfile=FONT, fontsize=10)
    src.insert_text(
        (380, 280), "胎心监护 王小红 13912345678", fontname="wqy", fontfile=FONT, fontsize=11, rotate=90
    )
    src.insert_text(
        (400, 40), "心电图 李四 13800138000", fontname="wqy", fontfile=FONT, fontsize=11, rotate=-90
    )
    doc, page = scan_of(pixels(src), 420, 300)
    lines = ocr_page_chars(page, SCAN_DPI, use_cache=False)
    for number in ("13912345678", "13800138000"):  # reads bottom->top, top->bottom
        line, i = find(lines, number)
        assert_box_fits(page, glyph_box(src, number), union(c.rect for c in line[i : i + len(number)]))
    find(lines, ID_NUMBER)


def test_table_cells_with_rare_surnames_are_covered_even_when_misread():
    """The recogniser may drop a rare surname character at the start of a
    cell (禤, 逯 …); the boxes of what it did read still cover the cell."""
    names = ["邬倩娟", "禤文杰", "逯佳怡", "亓官敏", "眭红"]
    src_doc = pymupdf.open()
    src = src_doc.new_page(width=420, height=80)
    for i, n in enumerate(names):
        x = 30 + i * 75
        src.draw_rect(pymupdf.Rect(x - 4, 24, x + 70, 48), color=(0, 0, 0), width=0.6)
        src.insert_text((x, 40), n, fontname="wqy", fontfile=FONT, fontsize=10.5)
    doc, page = scan_of(pixels(src), 420, 80)
    lines = ocr_page_chars(page, SCAN_DPI, use_cache=False)
    for n in names:
        truth = glyph_box(src, n)
        mine = [ln for ln in lines if any(pymupdf.Rect(c.rect).intersects(truth) for c in ln)]
        assert mine, "a name cell was not detected"
        assert_box_fits(page, truth, union(c.rect for ln in mine for c in ln if not c.c.isspace()))


def test_an_empty_crop_reads_as_nothing_beside_real_ones():
    import numpy as np

    from core.ocr.engine import get_engine
    from tests.ocr.scans import pixels, source_page

    _, page = source_page(["诊断：妊娠期高血压"], height=80)
    img = pixels(page, dpi=200)
    line = img[int(35 * 200 / 72) : int(58 * 200 / 72), : int(250 * 200 / 72)]
    got = get_engine().read_crops([np.zeros((0, 40, 3), np.uint8), line, np.zeros((20, 0, 3), np.uint8)])
    assert got[0] == ("", 0.0) and got[2] == ("", 0.0)
    assert "妊娠期高血压" in got[1][0]
