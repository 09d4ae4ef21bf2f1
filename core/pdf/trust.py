"""Does a page's text layer say what its pixels show?

Cheap checks first (fonts, code points, invisible text over images), then
a sampled OCR cross-check: a few text runs are cut out of a render and
read by the recogniser alone (no detection), and compared with the layer.
An untrusted page is treated as a scan by the engine (full OCR, pixels
redacted) and by the leak gate (OCR).  Thresholds: ``core/rules/trust.yaml``.

Characters already confirmed by OCR in the same document (per font) are
not read again, so born-digital records cost a few crops on their first
pages and almost nothing after.
"""
from __future__ import annotations

import difflib
import re
import time
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import pymupdf

from core.rules import load_rules

REASONS_ZH = {"type3": "Type3 字体", "no_tounicode": "字体无 ToUnicode 映射", "unmappable": "无法映射的字符",
              "invisible_over_image": "图像上的隐形文本层", "ocr_mismatch": "文本层与图像不符"}


@dataclass
class Trust:
    trusted: bool = True
    reasons: list[str] = field(default_factory=list)
    checked_lines: int = 0
    seconds: float = 0.0


@lru_cache(maxsize=1)
def rules() -> dict:
    return load_rules("trust")


# ------------------------------------------------------------ static checks
def _font_dict(doc: pymupdf.Document, xref: int, key: str) -> tuple[str, str]:
    try:
        return doc.xref_get_key(xref, key)
    except Exception:
        return "null", "null"


def _opaque_differences(doc: pymupdf.Document, xref: int) -> bool:
    kind, enc = _font_dict(doc, xref, "Encoding")
    if kind == "xref":
        enc = doc.xref_object(int(enc.split()[0]))
    elif kind != "dict":
        return False
    pattern = re.compile(rules()["opaque_glyph_name"])
    return any(pattern.match(name) for name in re.findall(r"/([^\s/\[\]<>()]+)", enc.split("Differences", 1)[-1]))


def font_reasons(page: pymupdf.Page) -> set[str]:
    """``type3`` / ``no_tounicode`` for fonts whose glyphs do not map to
    characters by a standard route."""
    doc = page.parent
    r = rules()
    out = set()
    for xref, ext, ftype, _base, _name, encoding, *_ in page.get_fonts(full=True):
        if ftype == "Type3":
            out.add("type3")
            continue
        if xref <= 0 or _font_dict(doc, xref, "ToUnicode")[0] != "null":
            continue
        if ftype == "Type0":
            if not any(encoding.startswith(p) for p in r["unicode_cmap_prefixes"]):
                out.add("no_tounicode")
        elif encoding in r["standard_encodings"] or (not encoding and ext == "n/a"):
            if _opaque_differences(doc, xref):
                out.add("no_tounicode")
        else:
            out.add("no_tounicode")
    return out


def unmappable(text: str) -> bool:
    return any(ch == "\ufffd" or unicodedata.category(ch) == "Co" for ch in text)


def _share_inside(box, boxes) -> float:
    r = pymupdf.Rect(box)
    if r.is_empty:
        return 0.0
    return max((abs(r & pymupdf.Rect(b)) / abs(r) for b in boxes), default=0.0)


def invisible_over_image(spans: list[dict], page: pymupdf.Page) -> bool:
    invisible = [s["bbox"] for s in spans if s.get("type") == 3]
    if not invisible:
        return False
    images = [i["bbox"] for i in page.get_image_info()]
    share = rules()["invisible_over_image_share"]
    return any(_share_inside(b, images) >= share for b in invisible)


# ---------------------------------------------------------- OCR cross-check
def _confirmed(doc: pymupdf.Document) -> set:
    """(font, character) pairs OCR confirmed in this document; kept on the
    document object itself (it cannot be weak-referenced)."""
    try:
        return doc.__dict__.setdefault("_deid_trust_confirmed", set())
    except AttributeError:  # no instance dict: no memory across pages
        return set()


@dataclass
class Run:
    """A piece of one text line as the layer draws it: a few touching
    characters on one baseline, in one font."""

    font: str
    text: str
    bbox: tuple


def _run_text(span: dict) -> str:
    return "".join(chr(c[0]) for c in span["chars"] if c[0] > 0)


def _alnum(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalnum()).casefold()


def _is_cjk_or_digit(ch: str) -> bool:
    return ch.isdigit() or "\u4e00" <= ch <= "\u9fff"


def _pieces(span: dict, max_chars: int) -> list[Run]:
    """Split a span's characters where the baseline changes, the pen goes
    back or a gap opens; cut to at most ``max_chars`` characters."""
    size = max(span.get("size", 10.0), 1.0)
    out, cur = [], []
    for c in span["chars"]:
        if c[0] <= 0:
            continue
        if cur:
            prev = cur[-1]
            if (abs(c[2][1] - prev[2][1]) > 0.3 * size or c[3][0] < prev[3][0]
                    or c[3][0] - prev[3][2] > size or len(cur) >= max_chars):
                out.append(cur)
                cur = []
        cur.append(c)
    if cur:
        out.append(cur)
    return [Run(span["font"], "".join(chr(c[0]) for c in p),
                (min(c[3][0] for c in p), min(c[3][1] for c in p), max(c[3][2] for c in p), max(c[3][3] for c in p)))
            for p in out]


def sample_runs(spans: list[dict], confirmed: set) -> list[Run]:
    """Up to ``max_lines`` visible horizontal runs holding the most
    characters not yet confirmed in this document (CJK and digits first)."""
    cfg = rules()["cross_check"]
    scored = []
    for s in spans:
        if s.get("type") == 3 or s.get("wmode") or abs(s["dir"][1]) > 0.01:
            continue
        for run in _pieces(s, cfg["max_chars"]):
            text = _alnum(run.text)
            x0, y0, x1, y1 = run.bbox
            if len(text) < cfg["min_chars"] or y1 - y0 < cfg["min_height_pt"] or x1 <= x0:
                continue
            if ("font", run.font) in confirmed:
                continue
            new = {(run.font, ch) for ch in text} - confirmed
            if new:
                scored.append((sum(2 if _is_cjk_or_digit(ch) else 1 for _f, ch in new), run))
    scored.sort(key=lambda t: -t[0])
    return [r for _score, r in scored[: cfg["max_lines"]]]


def _crop(page: pymupdf.Page, bbox) -> "object":
    import numpy as np

    cfg = rules()["cross_check"]
    r = pymupdf.Rect(bbox)
    pad = r.height * 0.15
    r = pymupdf.Rect(r.x0 - pad, r.y0 - pad, r.x1 + pad, r.y1 + pad)
    zoom = cfg["render_height_px"] / max(r.height, 1.0)
    disp = r * page.rotation_matrix & page.rect
    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=disp, colorspace=pymupdf.csRGB, alpha=False)
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3)


def _count_font(confirmed: set, font: str) -> None:
    """A font whose runs agreed ``font_confirmed_runs`` times in this
    document is not sampled again."""
    need = rules()["cross_check"]["font_confirmed_runs"]
    k = next((i for i in range(need) if ("runs", font, i) not in confirmed), need)
    confirmed.add(("runs", font, k))
    if k + 1 >= need:
        confirmed.add(("font", font))


def disagrees(layer: str, read: str) -> bool:
    """The layer's characters and the recogniser's reading differ more
    than recognition errors explain."""
    cfg = rules()["cross_check"]
    a, b = _alnum(layer), _alnum(read)
    m = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if m.ratio() < cfg["min_ratio"]:
        return True
    return any(op == "replace" and i2 - i1 >= cfg["max_replaced_run"] for op, i1, i2, _j1, _j2 in m.get_opcodes())


def cross_check(page: pymupdf.Page, spans: list[dict], engine=None) -> tuple[bool, int]:
    """(layer agrees with the pixels, runs read)."""
    confirmed = _confirmed(page.parent)
    runs = sample_runs(spans, confirmed)
    if not runs:
        return True, 0
    if engine is None:
        from core.ocr.engine import get_engine

        engine = get_engine()
    readings = engine.read_crops([_crop(page, r.bbox) for r in runs])
    min_conf = rules()["cross_check"]["min_confidence"]
    ok = True
    for run, (text, conf) in zip(runs, readings):
        if not disagrees(run.text, text):
            confirmed.update((run.font, ch) for ch in _alnum(run.text))
            _count_font(confirmed, run.font)
        elif conf >= min_conf:
            ok = False
    return ok, len(runs)


# --------------------------------------------------------------------- all
def assess_page(page: pymupdf.Page, ocr_check: bool = True, engine=None) -> Trust:
    """Trust of the page's text layer (a page without one is trusted: it is
    a scan or has no text, and the OCR regions handle it)."""
    t0 = time.perf_counter()
    trust = Trust()
    try:
        spans = page.get_texttrace()
    except Exception:
        spans = []
    if spans:
        reasons = font_reasons(page)
        if any(unmappable(_run_text(s)) or any(c[0] <= 0 for c in s["chars"]) for s in spans):
            reasons.add("unmappable")
        if invisible_over_image(spans, page):
            reasons.add("invisible_over_image")
        if not reasons and ocr_check:
            ok, trust.checked_lines = cross_check(page, spans, engine)
            if not ok:
                reasons.add("ocr_mismatch")
        trust.reasons = sorted(reasons)
        trust.trusted = not reasons
    trust.seconds = time.perf_counter() - t0
    return trust
