"""A value that wraps inside its table cell on a SCANNED page: the table's rules come from the pixels
(``core.ocr.cells.page_rules``) and go to the same cell-wrap join as a born-digital page's drawn rules
(``core.pdf.text.join_cell_wraps``).  Real OCR on a real render of a page Chromium prints."""

from __future__ import annotations

import random

import pymupdf
import pytest

from core.engine import page_input
from tests.printed import printed_pdf

TABLE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body{font-family:'WenQuanYi Zen Hei';font-size:12px} table{border-collapse:collapse;width:420px}
td{border:1px solid #000;font-size:12px;height:30px}
</style></head><body><table>
<tr><td width="60">产检医院</td><td width="130">吉林市妇幼保健计划生育服务中心</td>
<td width="60">分娩医院</td><td>石家庄市人民医院</td></tr>
<tr><td>孕产次</td><td>2</td><td>受孕方式</td><td>自然受孕</td></tr>
</table></body></html>"""


@pytest.fixture(scope="module")
def scanned_page(tmp_path_factory):
    from tools.eval.real_layouts import scan_page

    printed = printed_pdf(TABLE, tmp_path_factory.mktemp("scan"))
    scan = pymupdf.open()
    scan_page(scan, printed[0], random.Random(3))
    return scan, scan[0]


def test_a_hospital_name_wrapped_in_its_cell_on_a_scan_reads_as_one_line(scanned_page):
    _, page = scanned_page
    pin, summary = page_input(page, ocr=True, dpi=150)
    assert summary.scanned
    lines = [l.replace(" ", "") for l in pin.text.text.split("\n")]
    assert any("吉林市妇幼保健计划生育服务中心" in l for l in lines), lines


ROWS = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body{font-family:'WenQuanYi Zen Hei';font-size:12px} table{border-collapse:collapse;width:700px}
td{border:1px solid #000;font-size:12px;height:20px;padding:0 2px}
</style></head><body><table>
<tr><td>手术编码</td><td width="66">日期</td><td>级别</td><td>手术名称</td><td>术者</td><td>麻醉方式</td></tr>
<tr><td>33.1107</td><td>2024-01-03</td><td>二级</td><td>全子宫切除术</td><td>刘峰</td><td>局麻</td></tr>
<tr><td>13.6624</td><td>2024-01-03</td><td>二级</td><td>心肺复苏术</td><td>刘峰</td><td>腰硬联合</td></tr>
<tr><td>85.2158</td><td>2024-01-03</td><td>二级</td><td>气管插管术</td><td>刘峰</td><td>局麻</td></tr>
</table></body></html>"""


def test_rows_of_a_skewed_scan_stay_rows(tmp_path):
    """A scan turned by a degree: each long horizontal rule drifts over more pixel rows than a rule is
    thick, and was dropped as a block of ink, so values filling a narrow column on successive rows
    (one date under another) were joined as a cell wrap into one long 'number'."""
    import cv2
    import numpy as np

    printed = printed_pdf(ROWS, tmp_path)[0]
    pix = printed.get_pixmap(dpi=150, colorspace=pymupdf.csGRAY, alpha=False)
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width)
    turn = cv2.getRotationMatrix2D((pix.width / 2, pix.height / 2), 1.0, 1.0)
    img = cv2.warpAffine(img, turn, (pix.width, pix.height), borderValue=255)
    scan = pymupdf.open()
    page = scan.new_page(width=printed.rect.width, height=printed.rect.height)
    page.insert_image(page.rect, stream=cv2.imencode(".png", img)[1].tobytes())
    pin, _ = page_input(page, ocr=True, dpi=150)
    text = pin.text.text.replace(" ", "")
    assert text.count("2024-01-03") == 3 and "2024-01-032024" not in text, text
