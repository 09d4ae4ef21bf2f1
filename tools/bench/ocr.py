"""OCR speed on scanned A4 pages: ``python -m tools.bench.ocr [N_PAGES]``.

Builds N synthetic medical-record pages (CJK clinical text, tables of
values, identifiers), rasterises each at 150 dpi into an image-only page
(a "scan"), then OCRs them with the cache off and prints seconds per page.
``bench_ocr(n_pages)`` returns the figures for ``tools.bench.run``.
"""

from __future__ import annotations

import argparse
import os
import random
import time

import numpy as np
import pymupdf

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"

_PARAGRAPHS = [
    "主诉：反复发热三天，咳嗽伴胸痛一天。",
    "现病史：患者于入院前三天无明显诱因出现发热，体温最高39.2℃，伴畏寒、寒战，",
    "咳嗽，咳少量白色黏痰，无咯血。门诊查血常规示白细胞升高，拟“社区获得性肺炎”收入院。",
    "既往史：否认高血压、糖尿病、冠心病病史，否认肝炎、结核等传染病史，否认手术外伤史。",
    "体格检查：T 38.6℃，P 102次/分，R 22次/分，BP 118/72mmHg。神志清，精神欠佳。",
    "双肺呼吸音粗，右下肺可闻及湿性啰音。心率102次/分，律齐，各瓣膜听诊区未闻及杂音。",
    "辅助检查：血常规 WBC 12.5×10^9/L，N 85.2%，Hb 126g/L，PLT 231×10^9/L，CRP 56mg/L。",
    "胸部CT：右下肺斑片状高密度影，考虑感染性病变。",
    "初步诊断：1.社区获得性肺炎  2.低钾血症",
    "诊疗计划：完善相关检查，予头孢曲松2.0g ivgtt qd抗感染，补液、补钾等对症支持治疗。",
]


def _identifier_lines(rng: random.Random) -> list[str]:
    sid = "".join(rng.choice("0123456789") for _ in range(17)) + rng.choice("0123456789X")
    phone = "13" + "".join(rng.choice("0123456789") for _ in range(9))
    return [
        "某某市第一人民医院  入院记录",
        f"姓名：张伟明    性别：男    年龄：35岁    住院号：{rng.randint(10**7, 10**8 - 1)}",
        f"身份证号：{sid}    联系电话：{phone}",
        "住址：江苏省南京市玄武区中山路100号",
    ]


def synthetic_scan(doc: pymupdf.Document, seed: int = 0, dpi: int = 150, lines: int = 34) -> pymupdf.Page:
    """Append one scanned-looking A4 page (image only) to ``doc``."""
    rng = random.Random(seed)
    src_doc = pymupdf.open()
    src = src_doc.new_page(width=595, height=842)
    text = _identifier_lines(rng) + [rng.choice(_PARAGRAPHS) for _ in range(lines - 6)]
    text += ["主治医师：李建国    记录者：王芳", "2025年3月2日 10:30"]
    y = 60.0
    for t in text:
        src.insert_text((48, y), t, fontname="wqy", fontfile=FONT, fontsize=10.5)
        y += 21.5
    pix = src.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    img = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width).astype(np.int16)
    # scanner noise and a slight grey background
    noise = np.random.default_rng(seed).normal(0, 6, img.shape)
    img = np.clip(img * 0.93 + 8 + noise, 0, 255).astype(np.uint8)
    page = doc.new_page(width=595, height=842)
    gray = pymupdf.Pixmap(pymupdf.csGRAY, pix.width, pix.height, img.tobytes(), False)
    page.insert_image(page.rect, stream=gray.tobytes("jpg", jpg_quality=80))
    return page


def bench_ocr(n_pages: int = 5, dpi: int = 150, verbose: bool = True) -> dict:
    """OCR ``n_pages`` synthetic scanned A4 pages; returns timing figures."""
    from core.ocr.engine import get_engine
    from core.ocr.page import ocr_page_chars

    doc = pymupdf.open()
    for i in range(n_pages):
        synthetic_scan(doc, seed=i, dpi=dpi)
    engine = get_engine()
    t0 = time.perf_counter()
    ocr_page_chars(doc[0], dpi, engine=engine, use_cache=False)  # model load + warm-up
    load_s = time.perf_counter() - t0
    chars = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for page in doc:
        chars += sum(len(ln) for ln in ocr_page_chars(page, dpi, engine=engine, use_cache=False))
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    result = {
        "pages": n_pages,
        "dpi": dpi,
        "engine": engine.engine_id,
        "threads": getattr(engine, "threads", None),
        "s_per_page": wall / n_pages,
        "cpu_s_per_page": cpu / n_pages,
        "chars_per_page": chars / n_pages,
        "warmup_s": load_s,
    }
    if verbose:
        print(
            f"OCR scanned A4 @ {dpi} dpi: {result['s_per_page']:.2f} s/page "
            f"(CPU {result['cpu_s_per_page']:.2f} s/page, {result['chars_per_page']:.0f} chars/page, "
            f"{n_pages} pages, {os.cpu_count()} cores, warm-up {load_s:.1f} s, {engine.engine_id})"
        )
    return result


def bare_engine_s_per_page(path, dpi: int = 150, skip_first: bool = False) -> tuple[float, float]:
    """The floor for the engine's page OCR: RapidOCR's own detection and
    recognition (``text_det`` + ``get_crop_img_list`` + ``text_rec``, its
    batching) of every page image of ``path``, with the settings the
    project's engine uses (same detection size, recogniser height, threads),
    nothing else (no orientation search, no character boxes).  (wall, CPU)
    s/page, models loaded and warmed first."""
    from core.ocr.engine import get_engine
    from core.ocr.page import render

    engine = get_engine()
    ocr = engine.ocr
    with pymupdf.open(path) as doc:
        images = [np.ascontiguousarray(render(page, dpi)[0][:, :, ::-1]) for page in doc]
    if skip_first and len(images) > 1:
        images = images[1:]  # the pages the detection figure times
    _bare_det_rec(ocr, images[0])  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    for img in images:
        _bare_det_rec(ocr, img)
    return (time.perf_counter() - t0) / len(images), (time.process_time() - c0) / len(images)


def _bare_det_rec(ocr, img_bgr: np.ndarray):
    proc, _rh, _rw = ocr.preprocess(img_bgr)
    proc, _record = ocr.maybe_add_letterbox(proc, {})
    boxes, _ = ocr.auto_text_det(proc)
    if boxes is None:
        return []
    from core.ocr.engine import REC_BATCH, get_engine

    rec = ocr.text_rec
    # the batch the engine uses on this device (RapidOCR's default of 6 is slower on CPU)
    batch, rec.rec_batch_num = rec.rec_batch_num, REC_BATCH["cuda" if get_engine().use_cuda else "cpu"]
    try:
        return rec(ocr.get_crop_img_list(proc, boxes))[0]
    finally:
        rec.rec_batch_num = batch


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pages", nargs="?", type=int, default=5)
    ap.add_argument("--dpi", type=int, default=150)
    args = ap.parse_args(argv)
    bench_ocr(args.pages, args.dpi)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
