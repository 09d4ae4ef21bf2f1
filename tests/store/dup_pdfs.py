"""PDFs with repeated pages for the duplicate-page tests (built here, nothing downloaded)."""

from __future__ import annotations

import numpy as np
import pymupdf


def progress_note(page, day: str, temp: str, bp: str, body: str) -> None:
    lines = [
        "示例市妇幼保健院  日常病程记录",
        "姓名：李秀英   住院号：ZY20250301   床号：17",
        f"{day}  查房记录",
        f"患者一般情况可，体温{temp}℃，血压{bp}mmHg。",
        body,
        "继续目前治疗，密切观察病情变化。",
        "记录医师：王建国",
    ]
    y = 72
    for line in lines:
        page.insert_text((60, y), line, fontsize=12, fontname="china-s")
        y += 28


def scan_of(page: pymupdf.Page, seed: int = 7, shift=(9, 6), dpi: int = 150) -> bytes:
    """The page printed and scanned again: a grey image with noise, slightly shifted, as PNG."""
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    a = (
        np.frombuffer(pix.samples, np.uint8)
        .reshape(pix.height, pix.stride)[:, : pix.width]
        .astype(np.float32)
    )
    a = 235 - (255 - a) * 0.85  # grey paper, lighter ink
    dx, dy = shift
    a = np.roll(np.roll(a, dy, axis=0), dx, axis=1)
    rng = np.random.default_rng(seed)
    a = np.clip(a + rng.normal(0, 9, a.shape), 0, 255).astype(np.uint8)
    out = pymupdf.Pixmap(pymupdf.csGRAY, pix.width, pix.height, a.tobytes(), False)
    return out.tobytes("png")


def duplicate_case_pdf() -> bytes:
    """Page 1 and 2: two days of the same template; page 3: a scan of page 1; page 4: page 1 again."""
    doc = pymupdf.open()
    body1 = "今日诉头痛减轻，无视物模糊，双下肢水肿较前好转。"
    body2 = "今日诉头痛减轻，无视物模糊，双下肢水肿较前好转。"  # copied forward, as notes often are
    p1 = doc.new_page(width=595, height=842)
    progress_note(p1, "2025-03-02 09:10", "36.8", "150/100", body1)
    p2 = doc.new_page(width=595, height=842)
    progress_note(p2, "2025-03-03 09:15", "36.6", "145/95", body2)
    p3 = doc.new_page(width=595, height=842)
    scan = scan_of(doc[0])
    p3 = doc[2]
    p3.insert_image(p3.rect, stream=scan)
    p4 = doc.new_page(width=595, height=842)
    progress_note(p4, "2025-03-02 09:10", "36.8", "150/100", body1)
    return doc.tobytes()


def scan_pair_pdf() -> bytes:
    """Two scans of two days of the same template, and a second scan of the first day."""
    src = pymupdf.open()
    d1 = src.new_page(width=595, height=842)
    progress_note(d1, "2025-03-02 09:10", "36.8", "150/100", "今日诉头痛减轻，无视物模糊。")
    d2 = src.new_page(width=595, height=842)
    progress_note(d2, "2025-03-03 09:10", "36.8", "150/100", "今日诉头痛减轻，无视物模糊。")
    doc = pymupdf.open()
    for index, seed, shift in ((0, 1, (0, 0)), (1, 2, (4, -3)), (0, 3, (-7, 8))):
        scan = scan_of(src[index], seed=seed, shift=shift)
        p = doc.new_page(width=595, height=842)
        p.insert_image(p.rect, stream=scan)
    return doc.tobytes()
