"""A value that wraps inside its table cell on a SCANNED page: the table's rules come from the pixels
(``core.ocr.cells.page_rules``) and go to the same cell-wrap join as a born-digital page's drawn rules
(``core.pdf.text.join_cell_wraps``).  Real OCR on a real render of a page Chromium prints."""

from __future__ import annotations

import random

import pymupdf
import pytest

from core.engine import page_input

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
    from tools.eval.real_layouts import chromium, print_pdf, scan_page

    if chromium() is None:
        pytest.skip("chromium is installed by make system-deps")
    folder = tmp_path_factory.mktemp("scan")
    (folder / "page.html").write_text(TABLE, encoding="utf-8")
    print_pdf(folder / "page.html", folder / "page.pdf")
    printed = pymupdf.open(folder / "page.pdf")
    scan = pymupdf.open()
    scan_page(scan, printed[0], random.Random(3))
    return scan, scan[0]


def test_a_hospital_name_wrapped_in_its_cell_on_a_scan_reads_as_one_line(scanned_page):
    _, page = scanned_page
    pin, summary = page_input(page, ocr=True, dpi=150)
    assert summary.scanned
    lines = [l.replace(" ", "") for l in pin.text.text.split("\n")]
    assert any("吉林市妇幼保健计划生育服务中心" in l for l in lines), lines
