"""Generators of visual identifiers and pages that carry them (fake data).

Images: Kai-style and scribble signatures, red seals (ring, arc text, star),
hospital emblems, QR codes and barcodes (zxing-cpp's writer), ID-card copies
with a drawn face.  Pages: born-digital PDFs with these images (and a
vector-drawn seal and QR code) at known boxes, negatives (ECG and
fetal-monitor grids, tables with red values, plain text) and a
:func:`rasterize` that turns any document into a scanned-looking one with
the same geometry.  Truth boxes are :class:`tools.synth.truth.TruthItem`.
Used by tests/visual, ``tools.eval.visual`` and the demo archive.
"""

from __future__ import annotations

import io
import math
import os
import random
from datetime import date

import numpy as np
import pymupdf
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

from tools.synth.ids import id_number_18
from tools.synth.truth import TruthItem

FONT_CJK = os.environ.get("DEID_SYNTH_FONT", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
FONT_KAI = "/usr/share/fonts/truetype/arphic/ukai.ttc"
A4 = (595.0, 842.0)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "建国秀丽伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英"
HOSPITALS = [
    "江城市妇幼保健院",
    "青山县人民医院",
    "河东区社区卫生服务中心",
    "南湖市第一人民医院",
    "白石镇卫生院",
]
CLINICAL = [
    "主诉：停经38周，下腹阵痛3小时。",
    "现病史：孕期规律产检，血压波动于110-130/70-85mmHg。",
    "查体：T 36.8℃，P 88次/分，R 20次/分，BP 125/80mmHg。",
    "诊断：1.宫内孕38周 G2P1 LOA 2.妊娠期糖尿病",
    "处理：完善血常规、凝血功能、胎心监护，密切观察产程。",
    "血常规：WBC 12.3×10^9/L，Hb 105g/L，PLT 210×10^9/L。",
    "新生儿Apgar评分1分钟8分，5分钟9分，体重3250g。",
]


# ------------------------------------------------------------------ images
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size)
    except OSError:
        return ImageFont.truetype(FONT_CJK, size)


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def fake_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def signature_image(name: str, style: str = "kai", seed: int = 0) -> Image.Image:
    """Transparent signature image: the name in Kai script, or a scribble."""
    rng = random.Random(seed)
    ink = rng.choice([(20, 20, 30, 255), (15, 30, 110, 255)])
    if style == "kai":
        size = 72
        f = _font(FONT_KAI, size)
        w = int(f.getlength(name)) + 40
        img = Image.new("RGBA", (w, size + 40), (255, 255, 255, 0))
        d = ImageDraw.Draw(img)
        x = 20
        for ch in name:  # uneven baseline, like a hand
            d.text((x, 15 + rng.randint(-8, 8)), ch, font=f, fill=ink, stroke_width=1, stroke_fill=ink)
            x += int(f.getlength(ch) * rng.uniform(0.8, 0.95))
        img = img.crop((0, 0, x + 25, size + 40))
        return img.rotate(rng.uniform(-8, 8), expand=True, resample=Image.BICUBIC)
    w, h = 300, 110
    img = Image.new("RGBA", (w, h), (255, 255, 255, 0))
    d = ImageDraw.Draw(img)
    pts, x = [], 15.0
    while x < w - 20:
        pts.append((x, h / 2 + rng.uniform(-35, 35)))
        x += rng.uniform(12, 30)
    smooth = []
    for (xa, ya), (xb, yb) in zip(pts, pts[1:]):
        for t in np.linspace(0, 1, 8):
            smooth.append((xa + (xb - xa) * t, ya + (yb - ya) * t + 10 * math.sin(t * math.pi)))
    d.line(smooth, fill=ink, width=5, joint="curve")
    d.line([(20, h - 25), (w - 30, h - 35)], fill=ink, width=4)  # the flourish underneath
    return img


def seal_image(
    org: str,
    center: str = "病历专用章",
    size: int = 360,
    oval: bool = False,
    seed: int = 0,
    faded: bool = False,
) -> Image.Image:
    """Red seal, transparent background: ring, org name on the arc, a star,
    and the seal's purpose along the bottom.  ``faded``: light pink ink, as a
    seal stamped with a dry pad looks on a scan."""
    rng = random.Random(seed)
    red = (rng.randint(200, 235), rng.randint(20, 50), rng.randint(25, 50), 235)
    if faded:
        red = (rng.randint(236, 246), rng.randint(140, 160), rng.randint(145, 165), 200)
    w, h = (int(size * 1.45), size) if oval else (size, size)
    img = Image.new("RGBA", (w, h), (255, 255, 255, 0))
    d = ImageDraw.Draw(img)
    lw = max(6, size // 32)
    d.ellipse((lw, lw, w - lw, h - lw), outline=red, width=lw)
    cx, cy = w / 2, h / 2
    rx, ry = w / 2 - lw * 4.2, h / 2 - lw * 4.2
    fsize = int(size * 0.13)
    f = _font(FONT_CJK, fsize)
    n = len(org)
    span = math.radians(250 if n > 6 else 200)
    for i, ch in enumerate(org):
        a = -math.pi / 2 - span / 2 + span * (i + 0.5) / n
        x, y = cx + rx * math.cos(a), cy + ry * math.sin(a)
        glyph = Image.new("RGBA", (fsize + 8, fsize + 8), (255, 255, 255, 0))
        ImageDraw.Draw(glyph).text((4, 2), ch, font=f, fill=red)
        glyph = glyph.rotate(-math.degrees(a) - 90, resample=Image.BICUBIC, expand=True)
        img.alpha_composite(glyph, (int(x - glyph.width / 2), int(y - glyph.height / 2)))
    r_out, r_in = size * 0.14, size * 0.056
    star = []
    for k in range(10):
        r = r_out if k % 2 == 0 else r_in
        a = -math.pi / 2 + k * math.pi / 5
        star.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    d.polygon(star, fill=red)
    f2 = _font(FONT_CJK, int(size * 0.1))
    tw = d.textlength(center, font=f2)
    d.text((cx - tw / 2, cy + size * 0.2), center, font=f2, fill=red)
    return img


def logo_image(size: int = 160, seed: int = 0) -> Image.Image:
    """A hospital emblem: blue ring, green leaves, a white cross."""
    rng = random.Random(seed)
    blue = (20, 70 + rng.randint(0, 40), 160, 255)
    img = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((4, 4, size - 4, size - 4), fill=blue)
    d.ellipse((size * 0.18, size * 0.18, size * 0.82, size * 0.82), fill=(40, 150, 80, 255))
    a, b = size * 0.42, size * 0.58
    d.rectangle((a, size * 0.26, b, size * 0.74), fill=(255, 255, 255, 255))
    d.rectangle((size * 0.26, a, size * 0.74, b), fill=(255, 255, 255, 255))
    return img


def code_image(value: str, kind: str = "qr", scale: int = 4) -> Image.Image:
    """QR code / Code 128 barcode with quiet zone (zxing-cpp writer)."""
    fmt = {
        "qr": zxingcpp.BarcodeFormat.QRCode,
        "code128": zxingcpp.BarcodeFormat.Code128,
        "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    }[kind]
    arr = np.array(zxingcpp.create_barcode(value, fmt).to_image(scale=scale))
    return Image.fromarray(arr).convert("RGB")


def face_image(w: int, h: int, seed: int = 0) -> Image.Image:
    """A drawn passport-style portrait (head, hair, eyes, mouth, shoulders)."""
    rng = random.Random(seed)
    img = Image.new("RGB", (w, h), (rng.randint(200, 230), rng.randint(215, 235), 245))
    d = ImageDraw.Draw(img)
    skin = (rng.randint(215, 240), rng.randint(175, 200), rng.randint(145, 170))
    d.ellipse((w * 0.05, h * 0.72, w * 0.95, h * 1.3), fill=(40, 40, 60))
    d.rectangle((w * 0.4, h * 0.6, w * 0.6, h * 0.8), fill=skin)
    d.ellipse((w * 0.22, h * 0.12, w * 0.78, h * 0.72), fill=skin)
    d.chord((w * 0.2, h * 0.06, w * 0.8, h * 0.5), 180, 360, fill=(25, 20, 20))
    for ex in (0.38, 0.62):
        d.ellipse((w * ex - w * 0.05, h * 0.38, w * ex + w * 0.05, h * 0.44), fill=(30, 25, 25))
    d.line((w * 0.5, h * 0.44, w * 0.47, h * 0.53), fill=(150, 110, 90), width=2)
    d.arc((w * 0.4, h * 0.52, w * 0.6, h * 0.62), 20, 160, fill=(150, 60, 60), width=3)
    return img


def id_card_image(name: str, number: str, seed: int = 0) -> Image.Image:
    """Front side of a resident ID card (856 x 540 px, fake data)."""
    rng = random.Random(seed)
    W, H = 856, 540
    img = Image.new("RGB", (W, H), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle(
        (2, 2, W - 3, H - 3), radius=28, fill=(232, 238, 242), outline=(120, 130, 140), width=3
    )
    f, fs = _font(FONT_CJK, 30), _font(FONT_CJK, 26)
    grey, black = (90, 100, 110), (20, 20, 20)
    rows = [
        ("姓名", name),
        ("性别", rng.choice("男女") + "     民族  汉"),
        ("出生", "1992 年 3 月 14 日"),
        ("住址", "江城市青山区幸福路88号"),
    ]
    y = 50
    for k, val in rows:
        d.text((50, y), k, font=fs, fill=grey)
        d.text((140, y), val, font=f, fill=black)
        y += 70
    d.text((50, 440), "公民身份号码", font=fs, fill=grey)
    d.text((250, 436), number, font=_font(FONT_CJK, 36), fill=black)
    img.paste(face_image(230, 290, seed), (580, 60))
    return img


# ------------------------------------------------------------------ pages
def ink_bbox(img: Image.Image) -> tuple[float, float, float, float]:
    """Fractional (0..1) box of the visible content: opaque, non-white pixels."""
    arr = np.array(img.convert("RGBA"))
    visible = (arr[:, :, 3] > 40) & (arr[:, :, :3].min(axis=2) < 235)
    ys, xs = np.nonzero(visible)
    if len(xs) == 0:
        return 0.0, 0.0, 1.0, 1.0
    h, w = visible.shape
    return xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h


def _insert(page: pymupdf.Page, rect, img: Image.Image) -> tuple:
    """Place ``img`` in ``rect``; returns the box of its visible content."""
    r = pymupdf.Rect(rect)
    page.insert_image(r, stream=png_bytes(img), keep_proportion=False)
    fx0, fy0, fx1, fy1 = ink_bbox(img)
    return (r.x0 + fx0 * r.width, r.y0 + fy0 * r.height, r.x0 + fx1 * r.width, r.y0 + fy1 * r.height)


def _text(page: pymupdf.Page, x: float, y: float, s: str, size: float = 10.5, color=(0, 0, 0)) -> tuple:
    """Write ``s`` with its baseline at y; returns its box."""
    page.insert_text((x, y), s, fontname="china-s", fontsize=size, color=color)
    w = pymupdf.get_text_length(s, fontname="china-s", fontsize=size)
    return (x, y - size * 0.88, x + w, y + size * 0.12)


def _clinical_block(page: pymupdf.Page, y: float, rng: random.Random, n: int = 6, x: float = 50) -> float:
    for line in rng.sample(CLINICAL, min(n, len(CLINICAL))):
        _text(page, x, y, line)
        y += 20
    return y


def _header(page: pymupdf.Page, title: str, hospital: str) -> None:
    _text(page, 200, 60, hospital, 15)
    _text(page, 250, 85, title, 13)
    page.draw_line((40, 95), (555, 95), color=(0, 0, 0), width=0.8)


def signature_doc(seed: int = 0) -> tuple[pymupdf.Document, list[TruthItem]]:
    """Labels followed by signature images: Kai, scribble, and one that
    crosses the label line; a blank signature field as a near-miss."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    _header(page, "病 程 记 录", rng.choice(HOSPITALS))
    y = _clinical_block(page, 130, rng)
    truths = []
    specs = [
        ("医师签名：", "kai"),
        ("护士签名：", "scribble"),
        ("记录者：", "kai"),
        ("患者/家属签名：", "kai"),
    ]
    y += 20
    for i, (label, style) in enumerate(specs):
        box = _text(page, 60, y, label)
        img = signature_image(fake_name(rng), style, seed * 10 + i)
        h = 30 if i < 3 else 44  # the last one is tall: it crosses the label line
        w = h * img.width / img.height
        x0 = box[2] + rng.uniform(2, 12)
        top = y - 20 if i < 3 else y - 32
        truths.append(
            TruthItem(0, "signature", "", _insert(page, (x0, top, x0 + w, top + h), img), role=label)
        )
        _text(page, 400, y, f"2025-03-{10 + i:02d} 10:{10 * i:02d}")
        y += 58
    _text(page, 60, y, "审核者：")  # blank field: must give nothing
    page.draw_line((100, y + 3), (220, y + 3), color=(0, 0, 0), width=0.6)
    return doc, truths


def order_sheet_doc(seed: int = 0) -> tuple[pymupdf.Document, list[TruthItem]]:
    """长期医嘱单: a table whose 医师签名 / 护士签名 columns hold small
    signature images in the cells under the header."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    _header(page, "长 期 医 嘱 单", rng.choice(HOSPITALS))
    cols = [
        ("起始时间", 50, 130),
        ("医嘱内容", 130, 330),
        ("医师签名", 330, 400),
        ("护士签名", 400, 470),
        ("停止时间", 470, 545),
    ]
    orders = [
        "一级护理",
        "病危",
        "心电监护",
        "吸氧 3L/min",
        "禁食",
        "留置导尿",
        "血常规",
        "头孢曲松 1g ivgtt qd",
        "床旁胸片",
    ]
    y, rh = 120, 22
    for name, x0, _x1 in cols:
        _text(page, x0 + 4, y + 15, name, 9.5)
    doctors = [fake_name(rng) for _ in range(2)]
    nurses = [fake_name(rng) for _ in range(3)]
    truths = []
    for row in range(rng.randint(8, 12)):
        y += rh
        page.draw_line((50, y), (545, y), width=0.5)
        _text(page, 54, y + 15, f"01-{row + 2:02d} 08:{rng.randint(0, 59):02d}", 9)
        _text(page, 134, y + 15, rng.choice(orders), 9.5)
        for k, (who, style) in enumerate(((rng.choice(doctors), "kai"), (rng.choice(nurses), "scribble"))):
            img = signature_image(who, style, seed * 100 + row * 2 + k)
            h = 16.0
            w = min(60.0, h * img.width / img.height)
            x = cols[2 + k][1] + 5
            truths.append(
                TruthItem(
                    0, "signature", "", _insert(page, (x, y + 3, x + w, y + 3 + h), img), role=cols[2 + k][0]
                )
            )
    y += rh
    page.draw_line((50, y), (545, y), width=0.5)
    for _, x0, _ in cols:
        page.draw_line((x0, 120), (x0, y), width=0.5)
    page.draw_line((545, 120), (545, y), width=0.5)
    page.draw_line((50, 120), (545, 120), width=0.5)
    return doc, truths


def _vector_seal(page: pymupdf.Page, center: tuple, r: float, org: str) -> tuple:
    red = (0.85, 0.1, 0.12)
    cx, cy = center
    page.draw_circle(center, r, color=red, width=r / 18)
    star = []
    for k in range(10):
        rr = r * (0.3 if k % 2 == 0 else 0.12)
        a = -math.pi / 2 + k * math.pi / 5
        star.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    page.draw_polyline(star + [star[0]], color=red, fill=red, width=0.5)
    n = len(org)
    for i, ch in enumerate(org):
        a = -math.pi / 2 - 1.9 + 3.8 * (i + 0.5) / n
        x, y = cx + 0.72 * r * math.cos(a), cy + 0.72 * r * math.sin(a)
        page.insert_text((x - r * 0.08, y + r * 0.08), ch, fontname="china-s", fontsize=r * 0.2, color=red)
    return (cx - r, cy - r, cx + r, cy + r)


def seal_doc(seed: int = 0) -> tuple[pymupdf.Document, list[TruthItem]]:
    """A round seal over the signature/date lines, an oval 检验专用章, and a
    vector-drawn seal (born-digital), all over black text."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    hosp = rng.choice(HOSPITALS)
    _header(page, "出 院 记 录", hosp)
    y = _clinical_block(page, 130, rng, 7)
    for k in range(8):
        _text(page, 50, y + k * 20, "出院医嘱：注意休息，按时复诊，不适随诊。复查血常规。")
    truths = []
    d = rng.uniform(105, 130)
    x0, y0 = rng.uniform(330, 400), rng.uniform(y - 10, y + 40)
    faded = seed % 3 == 2  # every third document: a faded stamp
    truths.append(
        TruthItem(
            0,
            "seal",
            "",
            _insert(page, (x0, y0, x0 + d, y0 + d), seal_image(hosp, seed=seed, faded=faded)),
            role="公章(淡)" if faded else "公章",
        )
    )
    x1, y1 = rng.uniform(60, 120), 640
    truths.append(
        TruthItem(
            0,
            "seal",
            "",
            _insert(
                page,
                (x1, y1, x1 + d * 1.4, y1 + d * 0.95),
                seal_image(hosp, "检验专用章", oval=True, seed=seed + 1),
            ),
            role="检验专用章",
        )
    )
    truths.append(TruthItem(0, "seal", "", _vector_seal(page, (450, 700), 48, hosp[:6]), role="vector"))
    return doc, truths


def logo_doc(seed: int = 0, pages: int = 3) -> tuple[pymupdf.Document, list[TruthItem]]:
    """Each page: emblem left of the hospital name in the header, and a
    small emblem in the footer band; clinical text below."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    hosp = rng.choice(HOSPITALS)
    logo = logo_image(seed=seed)
    truths = []
    for p in range(pages):
        page = doc.new_page(width=A4[0], height=A4[1])
        truths.append(TruthItem(p, "logo", "", _insert(page, (150, 36, 190, 76), logo), role="header"))
        _text(page, 200, 62, hosp, 16)
        _text(page, 250, 90, "护 理 记 录", 13)
        page.draw_line((40, 100), (555, 100), width=0.8)
        _clinical_block(page, 140, rng)
        truths.append(TruthItem(p, "logo", "", _insert(page, (500, 790, 524, 814), logo), role="footer"))
        _text(page, 270, 805, f"第 {p + 1} 页", 9)
    return doc, truths


def _vector_qr(page: pymupdf.Page, value: str, x: float, y: float, module: float) -> tuple:
    arr = np.array(zxingcpp.create_barcode(value, zxingcpp.BarcodeFormat.QRCode).to_image(scale=1))
    shape = page.new_shape()
    for r, c in zip(*np.nonzero(arr < 128)):
        shape.draw_rect(
            pymupdf.Rect(x + c * module, y + r * module, x + (c + 1) * module, y + (r + 1) * module)
        )
    shape.finish(color=None, fill=(0, 0, 0), width=0)
    shape.commit()
    rows, cols = np.nonzero(arr < 128)
    return (
        x + cols.min() * module,
        y + rows.min() * module,
        x + (cols.max() + 1) * module,
        y + (rows.max() + 1) * module,
    )


def barcode_doc(seed: int = 0) -> tuple[pymupdf.Document, list[TruthItem]]:
    """A QR image (top right), a Code 128 image under the patient line and
    a vector-drawn QR code; values are fake inpatient numbers."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    _header(page, "检 验 报 告 单", rng.choice(HOSPITALS))
    values = [
        f"ZY{rng.randint(2020, 2025)}{rng.randint(10**5, 10**6 - 1)}",
        f"{rng.randint(10**9, 10**10 - 1)}",
        f"BA{rng.randint(10**6, 10**7 - 1)}",
    ]
    truths = [
        TruthItem(
            0, "barcode", values[0], _insert(page, (480, 20, 550, 90), code_image(values[0], "qr")), role="qr"
        ),
        TruthItem(
            0,
            "barcode",
            values[1],
            _insert(page, (330, 108, 520, 143), code_image(values[1], "code128", 2)),
            role="code128",
        ),
    ]
    _text(page, 50, 125, "科别：产科   床号：12   标本：静脉血")
    _clinical_block(page, 170, rng)
    truths.append(
        TruthItem(0, "barcode", values[2], _vector_qr(page, values[2], 60, 650, 2.6), role="vector_qr")
    )
    return doc, truths


def card_doc(seed: int = 0) -> tuple[pymupdf.Document, list[TruthItem]]:
    """A consent form with a pasted ID-card copy."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    _header(page, "授 权 委 托 书", rng.choice(HOSPITALS))
    y = _clinical_block(page, 130, rng, 4)
    _text(page, 50, y + 10, "委托人身份证复印件：")
    w = rng.uniform(200, 260)
    x0, y0 = rng.uniform(60, 250), y + 30
    number = id_number_18(rng, "420102", date(1992, 3, 14), "女")
    img = id_card_image(fake_name(rng), number, seed)
    truths = [TruthItem(0, "id_card", number, _insert(page, (x0, y0, x0 + w, y0 + w / 1.585), img))]
    _text(page, 50, y0 + w / 1.585 + 40, "委托人（签字）：____________   日期：2025年3月2日")
    return doc, truths


# ------------------------------------------------------------------ negatives
def _grid(page: pymupdf.Page, rect: pymupdf.Rect, step: float, fine, bold, bold_every: int = 5) -> None:
    shape_f, shape_b = page.new_shape(), page.new_shape()
    k = 0
    x = rect.x0
    while x <= rect.x1 + 0.01:
        (shape_b if k % bold_every == 0 else shape_f).draw_line((x, rect.y0), (x, rect.y1))
        x += step
        k += 1
    k = 0
    y = rect.y0
    while y <= rect.y1 + 0.01:
        (shape_b if k % bold_every == 0 else shape_f).draw_line((rect.x0, y), (rect.x1, y))
        y += step
        k += 1
    shape_f.finish(color=fine, width=0.3)
    shape_b.finish(color=bold, width=0.8)
    shape_f.commit()
    shape_b.commit()


def ecg_doc(seed: int = 0) -> tuple[pymupdf.Document, list[TruthItem]]:
    """Landscape 12-lead-style ECG: pink grid, black traces, lead names."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=A4[1], height=A4[0])
    _text(page, 40, 30, "心电图报告   心率 86次/分   PR 0.14s   QRS 0.08s   QT/QTc 0.36/0.40s")
    grid = pymupdf.Rect(30, 45, 812, 560)
    _grid(page, grid, 2.835, (1.0, 0.78, 0.8), (0.95, 0.55, 0.6))
    leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    for row in range(6):
        base = 85 + row * 80
        for col in range(2):
            x0 = 40 + col * 390
            pts, x = [], x0
            while x < x0 + 370:
                t = (x - x0) % 62
                yv = (
                    -30 * math.exp(-((t - 20) ** 2) / 3)
                    + 8 * math.exp(-((t - 40) ** 2) / 30)
                    + rng.uniform(-0.6, 0.6)
                )
                pts.append((x, base + yv))
                x += 0.8
            page.draw_polyline(pts, color=(0, 0, 0), width=0.7)
            _text(page, x0, base - 25, leads[row * 2 + col], 8)
    _text(page, 40, 580, "诊断：窦性心律  正常心电图", 10)
    return doc, []


def fetal_monitor_doc(seed: int = 0) -> tuple[pymupdf.Document, list[TruthItem]]:
    """Fetal monitoring strip: red grid, red scale numbers, black FHR trace
    and a blue contraction trace."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=A4[1], height=A4[0])
    _text(page, 40, 30, "胎心监护   孕周 38+2周   走纸速度 3cm/min   NST 反应型")
    red = (0.85, 0.15, 0.15)
    top, bot = pymupdf.Rect(40, 50, 800, 330), pymupdf.Rect(40, 360, 800, 540)
    for r in (top, bot):
        _grid(page, r, 7.0, (0.95, 0.45, 0.45), red, 4)
    for v in range(210, 50, -30):
        y = top.y0 + (210 - v) / 160 * top.height
        _text(page, 42, y + 3, str(v), 7, red)
        _text(page, 420, y + 3, str(v), 7, red)
    for v in range(100, -1, -20):
        _text(page, 42, bot.y0 + (100 - v) / 100 * bot.height + 3, str(v), 7, red)
    pts, x, f = [], top.x0, 140.0
    while x < top.x1:
        f = min(170, max(115, f + rng.uniform(-3, 3)))
        pts.append((x, top.y0 + (210 - f) / 160 * top.height))
        x += 1.5
    page.draw_polyline(pts, color=(0, 0, 0), width=0.9)
    pts = [
        (x, bot.y1 - 20 - 60 * max(0, math.sin((x - bot.x0) / 60)) ** 4) for x in np.arange(bot.x0, bot.x1, 2)
    ]
    page.draw_polyline(pts, color=(0.1, 0.2, 0.7), width=0.9)
    return doc, []


def red_table_doc(seed: int = 0) -> tuple[pymupdf.Document, list[TruthItem]]:
    """Lab table with black rules and abnormal values printed in red."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    _text(page, 230, 60, "血 常 规 检 验 结 果", 14)
    items = [
        "白细胞",
        "红细胞",
        "血红蛋白",
        "血小板",
        "中性粒细胞%",
        "淋巴细胞%",
        "C反应蛋白",
        "降钙素原",
        "谷丙转氨酶",
        "谷草转氨酶",
        "总胆红素",
        "肌酐",
        "尿素氮",
        "血糖",
        "钾",
        "钠",
        "氯",
        "钙",
        "乳酸",
        "D-二聚体",
    ]
    y = 100
    red = (0.85, 0.05, 0.05)
    for it in items:
        page.draw_line((50, y - 14), (545, y - 14), width=0.5)
        _text(page, 60, y, it)
        abnormal = rng.random() < 0.45
        val = f"{rng.uniform(0.5, 300):.1f}" + (" ↑" if abnormal else "")
        _text(page, 260, y, val, 10.5, red if abnormal else (0, 0, 0))
        _text(page, 380, y, "3.5-9.5")
        y += 24
    page.draw_line((50, y - 14), (545, y - 14), width=0.5)
    _text(page, 60, y + 20, "危急值已电话通知临床！", 12, red)
    _text(page, 60, y + 44, "注：红色数值为异常结果，请结合临床。", 10.5, red)
    return doc, []


def plain_doc(seed: int = 0) -> tuple[pymupdf.Document, list[TruthItem]]:
    rng = random.Random(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    _header(page, "病 程 记 录", rng.choice(HOSPITALS))
    y = 130
    for _ in range(4):
        y = _clinical_block(page, y, rng) + 10
    return doc, []


def ultrasound_image(w: int = 480, h: int = 360, seed: int = 0) -> Image.Image:
    """A B-mode ultrasound frame: black background, speckled fan, a dark
    round gestational sac (grey texture everywhere, a round dark shape)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    cx, top = w / 2, -40
    r = np.hypot(xx - cx, yy - top)
    ang = np.degrees(np.arctan2(xx - cx, yy - top))
    fan = (r > 60) & (r < h + 20) & (np.abs(ang) < 38)
    speckle = rng.gamma(2.0, 45.0, (h, w))
    img = np.where(fan, np.clip(speckle * (1.1 - r / (h * 1.6)), 0, 255), 0)
    sac = np.hypot(xx - cx, yy - h * 0.55) < h * 0.16
    img = np.where(sac & fan, img * 0.15, img)
    rgb = np.repeat(img.astype(np.uint8)[:, :, None], 3, axis=2)
    return Image.fromarray(rgb)


def ultrasound_doc(seed: int = 0) -> tuple[pymupdf.Document, list[TruthItem]]:
    """Ultrasound report: a grey speckle image with a round dark sac."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    _text(page, 240, 60, "超 声 检 查 报 告", 14)
    _insert(page, (120, 90, 480, 360), ultrasound_image(seed=seed))
    y = 400
    for line in [
        "超声所见：宫内可见妊娠囊，大小约 25×20mm，可见卵黄囊及胎芽，可见原始心管搏动。",
        "超声提示：宫内早孕，活胎（约7周）。",
    ] + rng.sample(CLINICAL, 3):
        _text(page, 50, y, line)
        y += 22
    return doc, []


POSITIVE = {
    "signature": signature_doc,
    "signature_table": order_sheet_doc,
    "seal": seal_doc,
    "logo": logo_doc,
    "barcode": barcode_doc,
    "card": card_doc,
}
NEGATIVE = {
    "ecg": ecg_doc,
    "fetal_monitor": fetal_monitor_doc,
    "red_table": red_table_doc,
    "plain": plain_doc,
    "ultrasound": ultrasound_doc,
}


# ------------------------------------------------------------------ scanning
def rasterize(doc: pymupdf.Document, dpi: int = 150, seed: int = 0, quality: int = 80) -> pymupdf.Document:
    """A scanned-looking copy: every displayed page becomes one JPEG image
    (slightly grey paper, noise) on a page of the same displayed size."""
    rng = np.random.default_rng(seed)
    out = pymupdf.open()
    for page in doc:
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csRGB, alpha=False)
        arr = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, 3).astype(np.int16)
        arr = arr - 8 + rng.integers(-6, 7, arr.shape[:2], dtype=np.int16)[:, :, None]
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=quality)
        new = out.new_page(width=page.rect.width, height=page.rect.height)
        new.insert_image(new.rect, stream=buf.getvalue())
    return out
