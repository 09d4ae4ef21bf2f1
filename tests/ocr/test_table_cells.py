"""Real OCR on scanned tables and numbers: lines cut at a table's vertical
rules, numbers read in pieces joined (``core.ocr.cells``), and the label ->
value logic on the cells that come out."""

from __future__ import annotations

import numpy as np
import pymupdf
import pytest

from core.engine import analyze_document
from core.ocr.cells import join_number_gaps, split_at_rules, vertical_rules
from core.ocr.engine import OcrLine
from core.ocr.page import ocr_image, ocr_page_chars, render

from .scans import FONT, SCAN_DPI, glyph_box, pixels, scan_of

# Cells packed tight (1.5 pt of padding): the text detector draws one line box
# over several cells of a row.
ROWS = [
    ["术者", "王建国", "一助", "李明华", "主刀医师", "欧阳明辉"],
    ["麻醉医师", "周海涛", "住院号", "12345678", "记录者", "钱小红"],
]
NAMES = ["王建国", "李明华", "欧阳明辉", "周海涛", "钱小红"]
LABELS = ["术者", "一助", "主刀医师", "麻醉医师", "住院号", "记录者"]
PAD, ROW_H, FS = 1.5, 16.0, 10.0


def text_of(line) -> str:
    return "".join(c.c for c in line)


def table_page():
    widths = [len(max((r[i] for r in ROWS), key=len)) * FS + 2 * PAD for i in range(len(ROWS[0]))]
    widths[3] = 8 * 5.5 + 2 * PAD  # the number column
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=100)
    cells = []
    for r, row in enumerate(ROWS):
        x, y = 30.0, 30.0 + r * ROW_H
        for w, t in zip(widths, row):
            rect = pymupdf.Rect(x, y, x + w, y + ROW_H)
            page.draw_rect(rect, color=(0, 0, 0), width=0.75)
            page.insert_text(
                (x + PAD, y + ROW_H / 2 + FS * 0.38), t, fontname="wqy", fontfile=FONT, fontsize=FS
            )
            cells.append((t, tuple(rect)))
            x += w
    return doc, page, cells


@pytest.fixture(scope="module")
def scanned_table():
    src_doc, src, cells = table_page()
    doc, page = scan_of(pixels(src), src.rect.width, src.rect.height)
    return src_doc, src, doc, page, cells


def test_ocr_lines_are_cut_at_the_vertical_rules_of_a_table(scanned_table):
    _, _, _, page, cells = scanned_table
    img, _ = render(page, SCAN_DPI)
    raw = [ln.text for ln in ocr_image(img, use_cache=False)]
    # the premise: the detector reads cells of one row as one line
    assert any(sum(t in line for t, _ in cells) >= 2 for line in raw), raw
    lines = ocr_page_chars(page, SCAN_DPI, use_cache=False)
    texts = [text_of(ln) for ln in lines]
    for t, _ in cells:
        assert t in texts, f"cell {t} is not a line of its own: {texts}"
    for ln in lines:
        centres = [((c.rect[0] + c.rect[2]) / 2, (c.rect[1] + c.rect[3]) / 2) for c in ln]
        owners = {
            i
            for cx, cy in centres
            for i, (_, r) in enumerate(cells)
            if r[0] <= cx <= r[2] and r[1] <= cy <= r[3]
        }
        assert len(owners) == 1, f"line {text_of(ln)} spans cells"
        ((_, cell),) = [cells[i] for i in owners]
        # its boxes stay inside the row: a cell border is no glyph
        assert all(c.rect[1] >= cell[1] - 1 and c.rect[3] <= cell[3] + 1 for c in ln), text_of(ln)


def test_names_in_packed_table_cells_are_hidden_and_labels_kept(scanned_table):
    src_doc, src, doc, _, _ = scanned_table
    findings = analyze_document(doc, {}, workers=1).findings
    person = [f for f in findings if f.category.is_person]
    for name in NAMES:
        truth = pymupdf.Rect(glyph_box(src, name))
        hit = [f for f in person if any(pymupdf.Rect(r).intersects(truth) for r in f.rects)]
        assert hit, f"name in cell {NAMES.index(name)} not found"
        covered = pymupdf.Rect(hit[0].rects[0])
        for f in hit[1:]:
            covered |= pymupdf.Rect(f.rects[0])
        assert covered.contains(truth + (1.5, 1.5, -1.5, -1.5)), (
            f"name in cell {NAMES.index(name)} not covered"
        )
    for label in LABELS:
        inner = pymupdf.Rect(glyph_box(src, label)) + (1.5, 1.5, -1.5, -1.5)
        touching = [
            f.category.value for f in findings if any(pymupdf.Rect(r).intersects(inner) for r in f.rects)
        ]
        assert not touching, f"label {label} covered by {touching}"


def test_a_rule_is_found_only_where_ink_runs_on_past_the_line():
    gray = np.full((60, 200), 240, np.float32)
    gray[22:34, 40:44] = 20  # a glyph stroke: the height of the line only
    gray[5:55, 100:102] = 30  # a vertical rule
    gray[22:34, 150:190] = 20  # a filled box (a shaded cell) is no rule
    rules = vertical_rules(gray, (10, 22, 195, 34))
    assert len(rules) == 1 and 99 <= rules[0][0] <= 101 <= rules[0][1] <= 103


def test_a_character_read_for_the_rule_is_dropped_and_boxes_stop_at_it():
    gray = np.full((60, 200), 240, np.float32)
    gray[5:55, 100:102] = 30
    # the recogniser read the rule as "|", and estimated 张's box across it
    boxes = [(60, 20, 76, 36), (76, 20, 92, 36), (93, 20, 108, 36), (96, 20, 120, 36), (120, 20, 136, 36)]
    ln = OcrLine("姓名|张三", (60, 20, 136, 36), 0.9, None, boxes)
    out = split_at_rules([ln], gray)
    assert [l.text for l in out] == ["姓名", "张三"]
    assert out[1].char_boxes[0][0] >= 101


def test_number_pieces_join_when_their_glyphs_touch_and_stay_apart_when_spaced():
    gray = np.full((60, 400), 240, np.float32)
    for x in range(20, 120, 10):  # ten digits, 2 px apart; the recogniser put a space after the fifth
        gray[22:34, x : x + 8] = 20
    close = OcrLine(
        "12345 67890",
        (20, 20, 118, 36),
        0.9,
        None,
        [(20 + 10 * i, 20, 28 + 10 * i, 36) for i in range(5)]
        + [(68, 20, 70, 36)]
        + [(70 + 10 * i, 20, 78 + 10 * i, 36) for i in range(5)],
    )
    for x in list(range(200, 250, 10)) + list(range(262, 312, 10)):  # two numbers with a typed space (12 px)
        gray[22:34, x : x + 8] = 20
    left = OcrLine(
        "12345", (200, 20, 248, 36), 0.9, None, [(200 + 10 * i, 20, 208 + 10 * i, 36) for i in range(5)]
    )
    right = OcrLine(
        "67890", (262, 20, 310, 36), 0.9, None, [(262 + 10 * i, 20, 270 + 10 * i, 36) for i in range(5)]
    )
    texts = [l.text for l in join_number_gaps([close, left, right], gray)]
    assert texts == ["1234567890", "12345", "67890"]
    # two boxes a hair apart are one number
    for x in range(20, 120, 10):
        gray[42:54, x : x + 8] = 20
    a = OcrLine("12345", (20, 40, 68, 56), 0.9, None, [(20 + 10 * i, 40, 28 + 10 * i, 56) for i in range(5)])
    b = OcrLine("67890", (70, 40, 118, 56), 0.9, None, [(70 + 10 * i, 40, 78 + 10 * i, 56) for i in range(5)])
    assert [l.text for l in join_number_gaps([a, b], gray)] == ["1234567890"]
    # words are not numbers: letters without a digit stay apart
    c = OcrLine("AB", (20, 40, 38, 56), 0.9, None, [(20, 40, 28, 56), (30, 40, 38, 56)])
    d = OcrLine("CD", (40, 40, 58, 56), 0.9, None, [(40, 40, 48, 56), (50, 40, 58, 56)])
    assert [l.text for l in join_number_gaps([c, d], gray)] == ["AB", "CD"]


SERIF = "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf"


def noisy_scan(src: pymupdf.Page, seed: int = 1):
    """``src`` as a grey JPEG scan with sensor noise (as copiers make them)."""
    import cv2

    img = (
        pixels(src).mean(axis=2) * 0.93 + 10 + np.random.default_rng(seed).normal(0, 6, pixels(src).shape[:2])
    )
    ok, jpg = cv2.imencode(".jpg", np.clip(img, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 80])
    doc = pymupdf.open()
    page = doc.new_page(width=src.rect.width, height=src.rect.height)
    page.insert_image(page.rect, stream=jpg.tobytes())
    return doc, page


NUMBERS = ["MZ59323986", "410105199502222776", "ZY20230915887", "13940472665", "2023-11-22"]


def test_a_scanned_id_number_read_with_spaces_in_it_is_found_whole():
    """Real OCR: numbers printed in a serif font; the recogniser's columns
    wobble on narrow digits and the ID number comes back with spaces in it.
    It is one number on the page, and is found as one."""
    number = NUMBERS[1]
    src_doc = pymupdf.open()
    src = src_doc.new_page(width=300, height=20 + 22 * len(NUMBERS))
    for i, n in enumerate(NUMBERS):
        src.insert_text((20, 25 + 22 * i), n, fontname="serif", fontfile=SERIF, fontsize=10.5)
    doc, page = noisy_scan(src)
    img, _ = render(page, SCAN_DPI)
    raw = [ln.text for ln in ocr_image(img, use_cache=False)]
    assert not any(number in t for t in raw), raw  # the premise: read in pieces
    joined = [text_of(ln) for ln in ocr_page_chars(page, SCAN_DPI, use_cache=False)]
    assert number in joined, joined
    found = [f for f in analyze_document(doc, {}, workers=1).findings if f.category.value == "id_number"]
    truth = pymupdf.Rect(glyph_box(src, number)) + (1, 1, -1, -1)
    assert any(pymupdf.Rect(r).contains(truth) for f in found for r in f.rects)


def banner_page(text: str) -> pymupdf.Page:
    """A page with an image insert of light text on a dark blue ground (a report's header banner)."""
    from PIL import Image, ImageDraw, ImageFont
    import io

    image = Image.new("RGB", (900, 60), (20, 40, 90))
    ImageDraw.Draw(image).text((5, 10), text, fill=(255, 255, 255), font=ImageFont.truetype(FONT, 28))
    data = io.BytesIO()
    image.save(data, "PNG")
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_image(pymupdf.Rect(40, 300, 540, 333), stream=data.getvalue())
    return page


def test_light_text_on_a_dark_banner_is_not_cut_between_its_glyphs():
    page = banner_page("姓名：王小红 身份证号：430102199001011237 电话：13912345678")
    lines = [
        text_of(ln).replace(" ", "") for ln in ocr_page_chars(page, clip=(40, 300, 540, 333), use_cache=False)
    ]
    assert any("王小红" in t for t in lines), lines
    assert any("430102199001011237" in t for t in lines), lines
    assert any("13912345678" in t for t in lines), lines
