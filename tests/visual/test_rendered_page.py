"""Visual detectors look at the rendered page, whatever drew it (image
objects, vector paths, the pixels of a scan), and not at one generator's
colours and sizes.  Every page here is built in the test."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pymupdf
import pytest
import zxingcpp

from core.detect.base import AnalysisContext
from tools.eval.visual import coverage, page_inputs, run_visual
from core.models import Category, Char, PageText, Source

FONT = "china-s"
A4 = (595, 842)


def _doc() -> tuple[pymupdf.Document, pymupdf.Page]:
    doc = pymupdf.open()
    return doc, doc.new_page(width=A4[0], height=A4[1])


def _reopen(doc: pymupdf.Document) -> pymupdf.Document:
    return pymupdf.open("pdf", doc.tobytes())


def _body_text(page: pymupdf.Page, y0: float = 120, lines: int = 20) -> None:
    for k in range(lines):
        page.insert_text(
            (50, y0 + 18 * k),
            "患者一般情况可，查体合作，心肺听诊未闻及异常，继续目前治疗方案。",
            fontname=FONT,
            fontsize=10,
        )


def _scan(src: pymupdf.Document, dpi: int = 150, tint=None, extra=None) -> pymupdf.Document:
    """The page as a scan: its pixels (plus ``extra`` drawn on them), greyish paper, blur."""
    pix = src[0].get_pixmap(dpi=dpi)
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, pix.n)[:, :, :3].copy()
    if extra is not None:
        extra(img, dpi / 72.0)
    img = cv2.GaussianBlur(img, (3, 3), 0.8)
    img = (img.astype(np.float32) * 0.93 + 8).clip(0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    out = pymupdf.open()
    page = out.new_page(width=A4[0], height=A4[1])
    page.insert_image(page.rect, stream=buf.tobytes())
    return _reopen(out)


def _ink(doc: pymupdf.Document, rect) -> tuple:
    """The inked part of ``rect`` on the page render (an image's white margin is not the code)."""
    pix = doc[0].get_pixmap(dpi=144, clip=pymupdf.Rect(rect), colorspace=pymupdf.csGRAY)
    a = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width)
    ys, xs = np.nonzero(a < 128)
    return (
        rect[0] + xs.min() / 2,
        rect[1] + ys.min() / 2,
        rect[0] + (xs.max() + 1) / 2,
        rect[1] + (ys.max() + 1) / 2,
    )


def _found(findings, category: Category, rect, share: float = 0.97) -> bool:
    rects = [r for f in findings if f.category == category for r in f.rects]
    return coverage(tuple(rect), rects) >= share


# ---------------------------------------------------------------- seals
def _star(cx, cy, r):
    pts = []
    for k in range(10):
        a = -math.pi / 2 + k * math.pi / 5
        rr = r if k % 2 == 0 else r * 0.4
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return pts


def test_red_seal_drawn_as_vector_paths_over_text_born_digital():
    """A round 医疗专用章 drawn as vector paths (thin ring, arc text of small
    strokes close to the ring, a big filled star) stamped over body text."""
    doc, page = _doc()
    _body_text(page)
    cx, cy, r = 420, 250, 45
    red = (0.85, 0.1, 0.12)
    page.draw_circle((cx, cy), r, color=red, width=1.6)
    for k in range(24):  # arc text: short strokes on a circle just inside the ring
        a = math.pi * (0.85 + 1.3 * k / 23)
        x, y = cx + 0.72 * r * math.cos(a), cy + 0.72 * r * math.sin(a)
        page.draw_rect(pymupdf.Rect(x - 3, y - 3, x + 3, y + 3), color=red, width=1.2)
    page.draw_polyline(_star(cx, cy, 0.3 * r) + [_star(cx, cy, 0.3 * r)[0]], color=red, fill=red, width=0.5)
    page.insert_text((cx - 20, cy + 0.55 * r), "医疗专用章", fontname=FONT, fontsize=7, color=red)
    doc = _reopen(doc)
    findings = run_visual(page_inputs(doc))
    assert _found(findings, Category.SEAL, (cx - r, cy - r, cx + r, cy + r))


def test_faint_blue_seal_on_a_scan():
    """A pale, low-saturation blue stamp (oval) on a scanned page, over text."""
    src, page = _doc()
    _body_text(page)
    cx, cy, rx, ry = 300, 300, 55, 42

    def stamp(img, k):
        blue = (120, 140, 215)  # pale: saturation ~0.45
        c = (int(cx * k), int(cy * k))
        cv2.ellipse(img, c, (int(rx * k), int(ry * k)), 0, 0, 360, blue, max(2, int(1.8 * k)))
        pts = np.array(
            [
                (c[0] + x * k, c[1] + y * k)
                for x, y in (
                    (
                        math.cos(a) * 14 * (1 if i % 2 == 0 else 0.4),
                        math.sin(a) * 14 * (1 if i % 2 == 0 else 0.4),
                    )
                    for i, a in enumerate(-math.pi / 2 + j * math.pi / 5 for j in range(10))
                )
            ],
            np.int32,
        )
        cv2.fillPoly(img, [pts], blue)
        cv2.putText(
            img,
            "SEAL SEAL",
            (c[0] - int(40 * k), c[1] + int(28 * k)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5 * k,
            blue,
            2,
        )

    doc = _scan(src, extra=stamp)
    findings = run_visual(page_inputs(doc, True, src))
    assert _found(findings, Category.SEAL, (cx - rx, cy - ry, cx + rx, cy + ry))


# ---------------------------------------------------------------- codes
def _barcode_img(value: str) -> np.ndarray:
    img = zxingcpp.write_barcode_to_image(
        zxingcpp.create_barcode(value, zxingcpp.BarcodeFormat.Code128), scale=3
    )
    img = np.array(img, dtype=np.uint8)
    return cv2.resize(
        img, (int(BAR.width * 4), int(BAR.height * 4)), interpolation=cv2.INTER_NEAREST
    )  # fills BAR


def _damage(img: np.ndarray) -> np.ndarray:
    """Scratches across the bars: zxing can no longer decode the code."""
    out = img.copy()
    h, w = out.shape
    for x in range(w // 5, w, w // 4):
        out[:, x : x + max(3, w // 30)] = 255
    out[h // 3 : h // 3 + 2, :] = 0
    return out


def _qr_img(value: str, angle: float) -> np.ndarray:
    img = np.array(
        zxingcpp.write_barcode_to_image(
            zxingcpp.create_barcode(value, zxingcpp.BarcodeFormat.QRCode), scale=4
        ),
        np.uint8,
    )
    img = cv2.copyMakeBorder(img, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255)
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(img, m, (w, h), borderValue=255)


def _png(img: np.ndarray) -> bytes:
    return cv2.imencode(".png", img)[1].tobytes()


def _header(page: pymupdf.Page) -> None:
    page.insert_text((150, 50), "某某市第一人民医院  住院病历", fontname=FONT, fontsize=14)


BAR = pymupdf.Rect(420, 28, 540, 50)  # the bars
DIGITS = (455, 52, 505, 60)  # the human-readable line under them
QR = pymupdf.Rect(60, 20, 92, 52)  # a small (11 mm) QR code


def _digits(page: pymupdf.Page) -> None:
    page.insert_text((DIGITS[0], DIGITS[3] - 1), "ZY2024", fontname="helv", fontsize=9)


def _vector_bars(page: pymupdf.Page, img: np.ndarray) -> None:
    """Draw a 1D code as one filled rectangle per bar."""
    cols = img[img.shape[0] // 2] < 128
    xs = BAR.x0 + np.arange(len(cols)) * BAR.width / len(cols)
    k = 0
    while k < len(cols):
        if cols[k]:
            j = k
            while j < len(cols) and cols[j]:
                j += 1
            page.draw_rect(
                pymupdf.Rect(xs[k], BAR.y0, BAR.x0 + j * BAR.width / len(cols), BAR.y1),
                color=None,
                fill=(0, 0, 0),
                width=0,
            )
            k = j
        k += 1


def _vector_qr(page: pymupdf.Page, value: str, angle: float) -> None:
    """Draw a QR code as one filled (rotated) quad per module."""
    img = np.array(
        zxingcpp.write_barcode_to_image(
            zxingcpp.create_barcode(value, zxingcpp.BarcodeFormat.QRCode), scale=1
        ),
        np.uint8,
    )
    n = img.shape[0]
    s = QR.width / n
    a = math.radians(angle)
    cx, cy = (QR.x0 + QR.x1) / 2, (QR.y0 + QR.y1) / 2

    def rot(x, y):
        dx, dy = x - cx, y - cy
        return pymupdf.Point(
            cx + dx * math.cos(a) - dy * math.sin(a), cy + dx * math.sin(a) + dy * math.cos(a)
        )

    for yy in range(n):
        for xx in range(n):
            if img[yy, xx] < 128:
                x0, y0 = QR.x0 + xx * s, QR.y0 + yy * s
                q = pymupdf.Quad(rot(x0, y0), rot(x0 + s, y0), rot(x0, y0 + s), rot(x0 + s, y0 + s))
                page.draw_quad(q, color=None, fill=(0, 0, 0), width=0)


def _codes_page(as_vector: bool) -> pymupdf.Document:
    doc, page = _doc()
    _header(page)
    _body_text(page)
    bars = _damage(_barcode_img("ZY20240815"))
    if as_vector:
        _vector_bars(page, bars)
        _vector_qr(page, "ZY20240815", 8)
    else:
        page.insert_image(BAR, stream=_png(bars))
        page.insert_image(QR, stream=_png(_qr_img("ZY20240815", 8)))
    _digits(page)
    return _reopen(doc)


@pytest.mark.parametrize("as_vector", [False, True], ids=["images", "vector"])
def test_damaged_barcode_and_small_skewed_qr_in_header_born_digital(as_vector):
    doc = _codes_page(as_vector)
    assert not [
        r for r in zxingcpp.read_barcodes(_damage(_barcode_img("ZY20240815"))) if r.valid
    ]  # really damaged
    findings = run_visual(page_inputs(doc))
    assert _found(findings, Category.BARCODE, BAR)  # undecodable: found by its structure
    assert _found(findings, Category.BARCODE, DIGITS)  # the digits under it go with it
    assert _found(findings, Category.BARCODE, _ink(doc, QR))


@pytest.mark.parametrize("kind", ["PDF417", "QRCode"])
def test_the_number_printed_under_a_2d_code_goes_with_it(kind):
    # a wristband or specimen label: the inpatient number printed under its PDF417 or QR code
    code = np.array(
        zxingcpp.write_barcode_to_image(
            zxingcpp.create_barcode("8130331", getattr(zxingcpp.BarcodeFormat, kind)), scale=3
        ),
        np.uint8,
    )
    code = cv2.copyMakeBorder(code, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255)
    doc, page = _doc()
    _header(page)
    _body_text(page)
    h = 60 if kind == "QRCode" else 100 * code.shape[0] / code.shape[1]
    box = pymupdf.Rect(470, 60, 470 + (60 if kind == "QRCode" else 100), 60 + h)
    page.insert_image(box, stream=_png(code))
    number = (487 if kind == "QRCode" else 505, box.y1 + 1, 514 if kind == "QRCode" else 532, box.y1 + 9)
    page.insert_text((number[0], number[3] - 1), "8130331", fontname="helv", fontsize=7)
    findings = run_visual(page_inputs(_reopen(doc)))
    assert _found(findings, Category.BARCODE, _ink(_reopen(doc), number)), [f.rects for f in findings]


def test_damaged_barcode_and_qr_on_a_scan():
    src = _codes_page(False)
    doc = _scan(src)
    findings = run_visual(page_inputs(doc, True, src))
    assert _found(findings, Category.BARCODE, BAR)
    assert _found(findings, Category.BARCODE, DIGITS)
    assert _found(findings, Category.BARCODE, _ink(src, QR))


@pytest.mark.parametrize("fmt", ["EAN8", "Code128"])
def test_a_small_dense_1d_code_is_found_and_decoded(fmt):
    """A code about 30 pt wide has bars under two pixels wide at the decoding resolution: it is tried
    finer, found and its value read (the value is then hidden wherever it is printed)."""
    value = "48512343" if fmt == "EAN8" else "ZY2024081501"
    img = np.array(
        zxingcpp.write_barcode_to_image(
            zxingcpp.create_barcode(value, getattr(zxingcpp.BarcodeFormat, fmt)), scale=5
        ),
        np.uint8,
    )
    doc, page = _doc()
    _header(page)
    _body_text(page)
    small = pymupdf.Rect(517, 8, 517 + (30 if fmt == "EAN8" else 40), 30)
    page.insert_image(small, stream=_png(img), keep_proportion=False)
    doc = _reopen(doc)
    findings = run_visual(page_inputs(doc))
    assert _found(findings, Category.BARCODE, _ink(doc, small))
    assert any(f.category == Category.BARCODE and f.text == value for f in findings)


def test_decoded_value_is_hidden_wherever_it_is_printed():
    """A QR code's value becomes a seed: the engine hides it in a sentence
    with no label before it (propagation from the decoded value)."""
    from core.engine import analyze_document

    doc, page = _doc()
    _header(page)
    page.insert_image(QR, stream=_png(_qr_img("ZY7788123", 0)))
    page.insert_text((50, 200), "复印件编号 ZY7788123 已核对", fontname=FONT, fontsize=10)
    doc = _reopen(doc)
    analysis = analyze_document(doc, ocr=False, workers=1)
    value_rect = doc[0].search_for("ZY7788123")[0]
    rects = [r for f in analysis.findings if not f.category.is_visual for r in f.rects]
    assert coverage(tuple(value_rect), rects) >= 0.9
    assert any(f.category == Category.BARCODE and f.text == "ZY7788123" for f in analysis.findings)


# ---------------------------------------------------------------- signatures
def _handwriting(img: np.ndarray, k: float, x0: float, y0: float) -> None:
    """A pen signature: thin grey strokes, loops and a long tail."""
    pts = []
    for t in np.linspace(0, 1, 120):
        x = x0 + 70 * t
        y = y0 + 7 * math.sin(t * 14) + 5 * math.sin(t * 5 + 1)
        pts.append((int(x * k), int(y * k)))
    cv2.polylines(img, [np.array(pts, np.int32)], False, (50, 50, 70), max(2, int(1.0 * k)), cv2.LINE_AA)
    cv2.ellipse(
        img,
        (int((x0 + 15) * k), int(y0 * k)),
        (int(6 * k), int(9 * k)),
        20,
        0,
        330,
        (50, 50, 70),
        max(2, int(1.0 * k)),
    )


def test_handwritten_signature_after_label_on_a_scan_ocr_box_swallowing_it():
    """医师签名： then pen strokes.  OCR often stretches the colon's box over
    the handwriting (or reads it as garbage); the ink is still the signature."""
    src, page = _doc()
    _body_text(page, 100, 8)
    page.insert_text((300, 300), "医师签名：", fontname=FONT, fontsize=11)
    sig = (358, 286, 432, 312)
    doc = _scan(src, extra=lambda img, k: _handwriting(img, k, 360, 298))
    pin = page_inputs(doc, True, src)[0]
    lines = []
    for s, e in pin.text.lines():
        chars = [
            Char(pin.text.text[i], pin.text.boxes[i], Source.OCR) for i in range(s, e) if pin.text.boxes[i]
        ]
        if pin.text.text[s:e].startswith("医师签名"):
            colon = chars[-1]
            chars[-1] = Char(
                colon.c, (colon.rect[0], colon.rect[1] - 3, sig[2], colon.rect[3] + 2), Source.OCR
            )
        lines.append(chars)
    pin.text = PageText.from_lines(0, A4[0], A4[1], lines)
    findings = run_visual([pin])
    assert _found(findings, Category.SIGNATURE, (362, 289, 430, 309), 0.9)


# ---------------------------------------------------------------- negatives
def _ecg(page: pymupdf.Page) -> pymupdf.Rect:
    area = pymupdf.Rect(60, 300, 540, 480)
    pink = (0.95, 0.55, 0.55)
    x = area.x0
    while x <= area.x1:
        page.draw_line(
            (x, area.y0), (x, area.y1), color=pink, width=0.3 if round((x - area.x0) / 4) % 5 else 0.9
        )
        x += 4
    y = area.y0
    while y <= area.y1:
        page.draw_line(
            (area.x0, y), (area.x1, y), color=pink, width=0.3 if round((y - area.y0) / 4) % 5 else 0.9
        )
        y += 4
    pts = []
    for i in range(400):
        t = i / 399
        xx = area.x0 + t * area.width
        beat = (t * 12) % 1
        yy = (
            390
            - (40 if 0.48 < beat < 0.52 else 0)
            + (10 if 0.53 < beat < 0.56 else 0)
            - 4 * math.sin(beat * 6.28)
        )
        pts.append((xx, yy))
    page.draw_polyline(pts, color=(0, 0, 0), width=0.8)
    # circular artefacts of a chart: a red marker ring round a value
    page.draw_circle((200, 350), 18, color=(0.9, 0.1, 0.1), width=0.8)
    return area


def _negatives_page() -> pymupdf.Document:
    doc, page = _doc()
    _header(page)
    page.draw_line((40, 62), (555, 62), color=(0.8, 0.1, 0.1), width=2.5)  # red header rule
    page.draw_rect(pymupdf.Rect(40, 64, 555, 66), color=None, fill=(0.1, 0.3, 0.8))  # blue band under it
    _ecg(page)
    y = 520
    for name, val in (("白细胞计数", "15.2"), ("C反应蛋白", "48.6"), ("血红蛋白", "92")):
        page.insert_text((60, y), f"{name}    {val}", fontname=FONT, fontsize=10)
        page.insert_text((200, y), "↑", fontname=FONT, fontsize=12, color=(0.9, 0.1, 0.1))
        y += 16
    _body_text(page, 600, 8)
    return _reopen(doc)


@pytest.mark.parametrize("scanned", [False, True], ids=["born_digital", "scanned"])
def test_ecg_grid_red_arrows_and_header_rule_are_not_seals_or_codes(scanned):
    src = _negatives_page()
    doc = _scan(src) if scanned else src
    findings = run_visual(page_inputs(doc, scanned, src), AnalysisContext())
    bad = [
        (f.category.value, [round(v) for v in f.rects[0]])
        for f in findings
        if f.category in (Category.SEAL, Category.BARCODE, Category.SIGNATURE)
    ]
    assert bad == []
