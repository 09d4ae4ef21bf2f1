"""Does a page's text layer say what its pixels show?

Cheap checks first (fonts, code points, invisible text over images), then
a sampled OCR cross-check: a few text runs are cut out of a render and
read by the recogniser alone (no detection), and compared with the layer.
An untrusted page is treated as a scan by the engine (full OCR, pixels
redacted) and by the leak gate (OCR).  Thresholds: ``core/rules/trust.yaml``.

Glyphs already confirmed by OCR in the same document (per font program,
glyph id and character) are not read again; every glyph not yet confirmed
stays a candidate, so a lie limited to a few glyphs of a font that agreed
on earlier pages is still read where those glyphs appear.  What is read is
bounded by a character allowance per page that accrues over the document
(``chars_per_page``), so born-digital records cost a few short crops per
page.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import time
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import pymupdf

from core.rules import load_rules

REASONS_ZH = {
    "type3": "Type3 字体",
    "no_tounicode": "字体无 ToUnicode 映射",
    "unmappable": "无法映射的字符",
    "invisible_over_image": "图像上的隐形文本层",
    "ocr_mismatch": "文本层与图像不符",
}


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
    return any(
        pattern.match(name) for name in re.findall(r"/([^\s/\[\]<>()]+)", enc.split("Differences", 1)[-1])
    )


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


def _unmappable_codes(spans: list[dict]) -> bool:
    """A character without a code point (MuPDF gives -1 or 0), U+FFFD or a
    private-use code point anywhere in the spans."""
    codes = {c[0] for s in spans for c in s["chars"]}
    return any(u <= 0 or u == 0xFFFD or unicodedata.category(chr(u)) == "Co" for u in codes)


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
@dataclass
class Memory:
    """What OCR confirmed in one document: glyph keys (font programs of the
    page, font name, glyph id, character) read as what the layer says, and
    the character allowance left (``chars_per_page`` accrues per page)."""

    confirmed: set = field(default_factory=set)
    pages: int = 0
    chars_read: int = 0
    digests: dict = field(default_factory=dict)  # font xref -> digest of its program

    def allowance(self) -> int:
        cfg = rules()["cross_check"]
        left = cfg["chars_per_page"] * self.pages - self.chars_read
        return max(cfg["min_chars_per_page"], min(cfg["max_chars_per_page"], left))


def _memory(doc: pymupdf.Document) -> Memory:
    """Kept on the document object itself (it cannot be weak-referenced)."""
    try:
        return doc.__dict__.setdefault("_deid_trust_memory", Memory())
    except AttributeError:  # no instance dict: no memory across pages
        return Memory()


def font_signature(page: pymupdf.Page, memory: Memory) -> tuple:
    """The font programs the page can draw with (digests of the embedded
    files, base font + encoding of the others).  A glyph confirmed under
    one signature counts only under the same one: a document that holds
    an honest and a lying font of the same name never lends the honest
    font's confirmations to the other's pages."""
    doc = page.parent
    out = set()
    for xref, _ext, _ftype, base, _name, encoding, *_ in page.get_fonts(full=True):
        if xref not in memory.digests:
            try:
                buf = doc.extract_font(xref)[3] if xref > 0 else b""
            except Exception:
                buf = b""
            memory.digests[xref] = (
                hashlib.blake2b(buf, digest_size=12).hexdigest() if buf else f"{base}|{encoding}"
            )
        out.add(memory.digests[xref])
    return tuple(sorted(out))


@dataclass
class Run:
    """A piece of one text line as the layer draws it: a few touching
    characters on one baseline, in one font.  ``keys[i]`` is the glyph key
    of ``text[i]``."""

    font: str
    text: str
    bbox: tuple
    keys: tuple = ()


def _alnum(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalnum()).casefold()


def _is_cjk_or_digit(ch: str) -> bool:
    return ch.isdigit() or "\u4e00" <= ch <= "\u9fff"


def _pieces(
    span: dict, max_chars: int, signature: tuple, confirmed: frozenset | set = frozenset(), limit: int = 0
) -> list[Run]:
    """Split a span's characters where the baseline changes, the pen goes
    back or a gap opens; cut to at most ``max_chars`` characters.  Pieces
    whose glyphs are all in ``confirmed`` are left out; with ``limit``, the
    first ``limit`` pieces only (a span of millions of glyphs is not cut
    up whole to sample a few lines of it)."""
    size = max(span.get("size", 10.0), 1.0)
    font = span["font"]
    runs: list[Run] = []

    def close(p: list) -> None:
        keys = tuple((signature, font, c[1], c[0]) for c in p)
        if confirmed and all(k in confirmed for k in keys):
            return
        boxes = [c[3] for c in p]
        bbox = (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
        runs.append(Run(font, "".join(chr(c[0]) for c in p), bbox, keys))

    cur: list = []
    for c in span["chars"]:
        if c[0] <= 0:
            continue
        if cur:
            prev = cur[-1]
            if (
                abs(c[2][1] - prev[2][1]) > 0.3 * size
                or c[3][0] < prev[3][0]
                or c[3][0] - prev[3][2] > size
                or len(cur) >= max_chars
            ):
                close(cur)
                cur = []
                if limit and len(runs) >= limit:
                    return runs
        cur.append(c)
    if cur:
        close(cur)
    return runs


@lru_cache(maxsize=8192)
def _char_alnum(ch: str) -> str:
    return _alnum(ch)


def _new_keys(run: Run, confirmed: set) -> set:
    return {k for k in run.keys if k not in confirmed and _weight(k[3])}


def _span_news(span: dict, signature: tuple, confirmed: set) -> int:
    """How many of a visible horizontal span's glyphs are not confirmed
    (CJK and digits count double); 0 for spans the check does not read."""
    if span.get("type") == 3 or span.get("wmode") or abs(span["dir"][1]) > 0.01:
        return 0
    font = span["font"]
    new = {(signature, font, c[1], c[0]) for c in span["chars"] if c[0] > 0} - confirmed
    return sum(_weight(k[3]) for k in new)


@lru_cache(maxsize=8192)
def _weight(code: int) -> int:
    """What reading a glyph of this code point is worth: 2 for CJK and
    digits, 1 for other letters, 0 for what the comparison ignores."""
    ch = chr(code)
    return 0 if not _char_alnum(ch) else 2 if _is_cjk_or_digit(ch) else 1


def _best_span_per_font(ranked: list, spans: list[dict], n: int) -> list:
    """The ``n`` spans with the most new glyphs, plus the best span of each
    font not among them (rank order kept)."""
    top = ranked[:n]
    fonts = {spans[k]["font"] for _n, k in top}
    for item in ranked[n:]:
        font = spans[item[1]]["font"]
        if font not in fonts:
            fonts.add(font)
            top.append(item)
    return top


def sample_runs(spans: list[dict], memory: Memory, signature: tuple = ()) -> list[Run]:
    """Visible horizontal runs holding glyphs not yet confirmed in this
    document: the best run of each font (whatever the allowance), then the
    runs with the most new glyphs (CJK and digits count double) while the
    document's allowance of characters lasts, ``max_lines`` runs at most.  Every glyph is a candidate
    until OCR has confirmed it: a font confirmed on early pages still has
    its new glyphs read on later ones."""
    cfg = rules()["cross_check"]
    confirmed = memory.confirmed
    ranked = sorted(
        ((n, k) for k, s in enumerate(spans) if (n := _span_news(s, signature, confirmed))), reverse=True
    )
    candidates = []  # (font first seen here, score, run, new keys), spans in rank order
    fonts = set()
    for _n, k in _best_span_per_font(ranked, spans, cfg["max_lines"]):
        for run in _pieces(spans[k], cfg["max_chars"], signature, confirmed, limit=cfg["max_lines"]):
            x0, y0, x1, y1 = run.bbox
            if len(_alnum(run.text)) < cfg["min_chars"] or y1 - y0 < cfg["min_height_pt"] or x1 <= x0:
                continue
            new = _new_keys(run, confirmed)
            if new:
                score = sum(_weight(key[3]) for key in new)
                candidates.append((run.font not in fonts, score, run, new))
                fonts.add(run.font)
    candidates.sort(key=lambda t: (not t[0], -t[1]))
    picked: list[Run] = []
    budget = memory.allowance()
    seen: set = set()
    for first, _score, run, new in candidates:
        if len(picked) >= cfg["max_lines"] or (budget <= 0 and not first):
            break
        if not new - seen:
            continue  # its new glyphs are already in a picked run
        picked.append(run)
        seen |= new
        budget -= len(_alnum(run.text))
    return picked


def _shown(page: pymupdf.Page, bbox) -> bool:
    """Whether any of ``bbox`` (unrotated points) lies on the displayed page: text drawn outside
    the crop box has no pixels to compare (``core.redaction.unplaceable`` removes it)."""
    r = pymupdf.Rect(bbox) * page.rotation_matrix & page.rect
    return not r.is_empty and r.width >= 1 and r.height >= 1


def _crop(page: pymupdf.Page, bbox, display=None, height_px: int = 0) -> "object":
    import numpy as np

    cfg = rules()["cross_check"]
    r = pymupdf.Rect(bbox)
    pad = r.height * 0.15
    r = pymupdf.Rect(r.x0 - pad, r.y0 - pad, r.x1 + pad, r.y1 + pad)
    zoom = (height_px or cfg["render_height_px"]) / max(r.height, 1.0)
    disp = r * page.rotation_matrix & page.rect
    source = display if display is not None else page
    pix = source.get_pixmap(
        matrix=pymupdf.Matrix(zoom, zoom), clip=disp, colorspace=pymupdf.csRGB, alpha=False
    )
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3)


def _layer_index(run: Run) -> tuple[str, list]:
    """The run's letters/digits as compared, and the glyph key of each."""
    text, keys = [], []
    for ch, key in zip(run.text, run.keys):
        norm = _alnum(ch)
        text.append(norm)
        keys += [key] * len(norm)
    return "".join(text), keys


def compare(run: Run, read: str, conf: float) -> tuple[bool, set]:
    """(the reading contradicts the layer, glyph keys it confirmed).

    Glyphs read as the layer says are confirmed.  The run contradicts the
    layer when it disagrees as a whole (``disagrees``), or when a single
    CJK character or digit is read as another one with confidence that is
    not its close look-alike (``lookalike``): a lie limited to one or two
    glyphs of a line is caught too."""
    cfg = rules()["cross_check"]
    layer, keys = _layer_index(run)
    got = _alnum(read)
    m = difflib.SequenceMatcher(None, layer, got, autojunk=False)
    ok_keys = {keys[i] for a, _b, n in m.get_matching_blocks() for i in range(a, a + n)}
    if conf < cfg["min_confidence"]:
        return False, set()
    if disagrees(run.text, read):
        return True, set()
    glyph_lie = conf >= cfg["glyph_min_confidence"] and any(
        op == "replace"
        and all(_is_cjk_or_digit(ch) for ch in layer[i1:i2] + got[j1:j2])
        and not (i2 - i1 == j2 - j1 == 1 and lookalike(layer[i1], got[j1]) >= cfg["lookalike_min_similarity"])
        for op, i1, i2, j1, j2 in m.get_opcodes()
    )
    return glyph_lie, set() if glyph_lie else ok_keys


@lru_cache(maxsize=4096)
def lookalike(a: str, b: str) -> float:
    """How alike two characters look, drawn in one reference CJK font
    (MuPDF's built-in Droid Sans Fallback): the smaller share of either's
    ink that lies within a pixel of the other's, on 32x32 ink boxes.
    嘱/瞩 0.95, 未/末 0.99, 陈/阵 0.89, 王/李 0.53: the recogniser reads some
    glyphs of some fonts as their look-alike every time (嘱 as 瞩), which is
    no lie; a lie that swaps one glyph for a look-alike this close stays
    possible and is a documented limit."""
    import cv2
    import numpy as np

    ink_a, ink_b = _ink(a), _ink(b)
    if ink_a is None or ink_b is None:
        return 0.0
    kernel = np.ones((3, 3), np.uint8)
    near_a = cv2.dilate(ink_a.astype(np.uint8), kernel) > 0
    near_b = cv2.dilate(ink_b.astype(np.uint8), kernel) > 0
    return float(
        min((ink_a & near_b).sum() / max(ink_a.sum(), 1), (ink_b & near_a).sum() / max(ink_b.sum(), 1))
    )


def _ink(ch: str):
    import cv2
    import numpy as np

    doc = pymupdf.open()
    page = doc.new_page(width=60, height=60)
    page.insert_text((5, 50), ch, fontname="china-s", fontsize=48)
    pix = page.get_pixmap(matrix=pymupdf.Matrix(0.8, 0.8), colorspace=pymupdf.csGRAY)
    dark = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width) < 128
    ys, xs = np.nonzero(dark)
    if not len(ys):
        return None
    box = dark[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.uint8)
    return cv2.resize(box, (32, 32), interpolation=cv2.INTER_AREA) > 0


def disagrees(layer: str, read: str) -> bool:
    """The layer's characters and the recogniser's reading differ more
    than recognition errors explain."""
    cfg = rules()["cross_check"]
    a, b = _alnum(layer), _alnum(read)
    m = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if m.ratio() < cfg["min_ratio"]:
        return True
    return any(
        op == "replace" and i2 - i1 >= cfg["max_replaced_run"] for op, i1, i2, _j1, _j2 in m.get_opcodes()
    )


def cross_check(page: pymupdf.Page, spans: list[dict], engine=None) -> tuple[bool, int]:
    """(layer agrees with the pixels, runs read)."""
    memory = _memory(page.parent)
    memory.pages += 1
    runs = [r for r in sample_runs(spans, memory, font_signature(page, memory)) if _shown(page, r.bbox)]
    if not runs:
        return True, 0
    if engine is None:
        from core.ocr.engine import get_engine

        engine = get_engine()
    display = page.get_displaylist() if len(runs) > 1 else None
    height = rules()["cross_check"]["render_height_px"]
    readings = engine.read_crops([_crop(page, r.bbox, display, height) for r in runs], height)
    memory.chars_read += sum(len(_alnum(r.text)) for r in runs)
    doubted = []
    for run, (text, conf) in zip(runs, readings):
        lie, confirmed = compare(run, text, conf)
        memory.confirmed |= confirmed
        if lie:
            doubted.append(run)
    return not _still_contradicted(page, doubted, engine, display), len(runs)


def _still_contradicted(page: pymupdf.Page, runs: list[Run], engine, display) -> bool:
    """A run that contradicted the layer is read once more from a render of
    another size; only a second contradiction counts (a clean glyph now and
    then reads as a look-alike, 日 as 目, at one scale)."""
    if not runs:
        return False
    height = rules()["cross_check"]["recheck_height_px"]
    readings = engine.read_crops([_crop(page, r.bbox, display, height) for r in runs], height)
    return any(compare(run, text, conf)[0] for run, (text, conf) in zip(runs, readings))


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
        if _unmappable_codes(spans):
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
