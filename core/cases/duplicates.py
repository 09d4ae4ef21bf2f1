"""Duplicate pages of a case: the same report scanned twice, or the same
born-digital page filed twice.

How a pair is found (at processing time, after detection, ``find_duplicates``):

1. every page gets a signature from its greyscale review render: the box of its
   content (ink), and a 256-bit difference hash (dHash) of that content cut out
   and shrunk to 17 × 16 — robust to a shifted, noisy or slightly rescaled scan;
2. pages whose hashes are close are *candidates* (the same template with other
   values is a candidate too: the hash only sees the layout);
3. a candidate pair is confirmed
   - when both pages have a text layer: by the text (whitespace aside the same
     text; any other difference, a date, a value, a line, keeps them apart);
   - otherwise by the images: both contents aligned and compared pixel by
     pixel with a tolerance of one pixel and of scanning noise; a pair is kept
     only when no small block of the page differs (a changed digit of a date is
     such a block).

Only the hash, the content box and the pair are stored (``core.store.duplicates``);
page text is compared in memory and never stored.  A duplicate is a hint to the
preparer: nothing is merged, decisions of one copy are copied to the other only
on request (``apply_decisions``, every change audited as a normal review action).
"""

from __future__ import annotations

import logging
import re
from typing import Callable, Optional

import numpy as np
import pymupdf

from core.store import documents as doc_store
from core.store import duplicates as dup_store

log = logging.getLogger(__name__)

HASH_W, HASH_H = 16, 16  # dHash grid (256 bits)
HASH_DEAD_ZONE = 0.02  # darkness step below which two hash cells count as equal
CANDIDATE_BITS = 40  # hamming distance of candidates (of 256)
GRID_H, GRID_W = 64, 48  # ink density grid of the cheap second check
GRID_MIN_CORR = 0.9  # correlation of the grids below which two pages differ
MAX_FINE = 3  # pixel comparisons per page: its most similar candidates only
FINE_DPI = 150  # render of the pixel comparison (a digit must stay a digit)
BLOCK = 14  # pixels of a comparison block (about 2.4 mm at FINE_DPI)
NOISE = 0.2  # per-pixel difference (0..1) that is scanning noise, not content
BLOCK_LIMIT = 0.015  # the largest mean difference one block of a duplicate may have
MIN_INK = 0.002  # a page with less ink than this is blank: never a duplicate
ASPECT_TOLERANCE = 0.06
INK_LEVEL = 0.35  # normalised darkness counted as ink for the content box


# ---- images ------------------------------------------------------------------


def grey_array(png) -> np.ndarray:
    """A render (PNG / JPEG bytes, or a Pixmap) as a greyscale array 0..255."""
    pix = png if isinstance(png, pymupdf.Pixmap) else pymupdf.Pixmap(png)
    if pix.alpha:
        pix = pymupdf.Pixmap(pix, 0)
    if pix.n != 1:
        pix = pymupdf.Pixmap(pymupdf.csGRAY, pix)
    arr = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.stride)[:, : pix.width]
    return arr.astype(np.float32)


def ink_array(grey: np.ndarray) -> np.ndarray:
    """Darkness 0..1 relative to the paper (a grey scan background counts as paper)."""
    sample = grey[::3, ::3]  # the levels of paper and ink from every ninth pixel: as good, far cheaper
    paper = float(np.percentile(sample, 90))
    dark = min(float(np.percentile(sample, 0.5)), paper - 80.0)
    return np.clip((paper - grey) / max(paper - dark, 1.0), 0.0, 1.0)


def content_box(ink: np.ndarray) -> Optional[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) in pixels of the content: rows / columns holding a few ink pixels (specks ignored)."""
    mask = ink > INK_LEVEL
    h, w = mask.shape
    rows = np.nonzero(mask.sum(axis=1) >= max(3, int(0.004 * w)))[0]
    cols = np.nonzero(mask.sum(axis=0) >= max(3, int(0.004 * h)))[0]
    if len(rows) < 2 or len(cols) < 2:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def area_resize(a: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Mean of each target cell (an integral image; no interpolation library needed)."""
    h, w = a.shape
    ys = np.linspace(0, h, out_h + 1).round().astype(int)
    xs = np.linspace(0, w, out_w + 1).round().astype(int)
    ys[1:] = np.maximum(ys[1:], ys[:-1] + 1).clip(max=h)
    xs[1:] = np.maximum(xs[1:], xs[:-1] + 1).clip(max=w)
    integral = np.zeros((h + 1, w + 1), dtype=np.float64)
    integral[1:, 1:] = a.cumsum(0).cumsum(1)
    y0, y1, x0, x1 = ys[:-1], ys[1:], xs[:-1], xs[1:]
    s = (
        integral[np.ix_(y1, x1)]
        - integral[np.ix_(y0, x1)]
        - integral[np.ix_(y1, x0)]
        + integral[np.ix_(y0, x0)]
    )
    area = np.outer(np.maximum(y1 - y0, 1), np.maximum(x1 - x0, 1))
    return (s / area).astype(np.float32)


def block_mean(a: np.ndarray, k: int) -> np.ndarray:
    """Mean of k × k blocks (the ragged edge dropped): a cheap first shrink before ``area_resize``."""
    h, w = (a.shape[0] // k) * k, (a.shape[1] // k) * k
    if h == 0 or w == 0:
        return a
    return a[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))


def nearest_resize(a: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    if a.shape == (out_h, out_w):
        return a
    ys = np.minimum((np.arange(out_h) * a.shape[0] / out_h).astype(int), a.shape[0] - 1)
    xs = np.minimum((np.arange(out_w) * a.shape[1] / out_w).astype(int), a.shape[1] - 1)
    return a[np.ix_(ys, xs)]


def dhash(content: np.ndarray) -> str:
    small = area_resize(content, HASH_H, HASH_W + 1)
    bits = (
        small[:, 1:] > small[:, :-1] + HASH_DEAD_ZONE
    ).flatten()  # equal cells (paper) are 0 in both copies
    return np.packbits(bits).tobytes().hex()


def hamming(a: str, b: str) -> int:
    return int(
        np.unpackbits(
            np.frombuffer(bytes.fromhex(a), np.uint8) ^ np.frombuffer(bytes.fromhex(b), np.uint8)
        ).sum()
    )


class PageImage:
    """What the comparison needs of one page's render (PNG / JPEG bytes, or a greyscale array)."""

    def __init__(self, png):
        ink = ink_array(png if isinstance(png, np.ndarray) else grey_array(png))
        self.height, self.width = ink.shape
        self.ink_share = float((ink > INK_LEVEL).mean())
        box = content_box(ink)
        self.box = box
        if box is None:
            self.content = self.grid = None
            self.hash = ""
            return
        x0, y0, x1, y1 = box
        self.content = ink[y0:y1, x0:x1]
        k = max(1, min(4, self.content.shape[0] // GRID_H, self.content.shape[1] // GRID_W))
        shrunk = block_mean(self.content, k) if k > 1 else self.content
        self.hash = dhash(shrunk)
        self.grid = area_resize(shrunk, GRID_H, GRID_W)

    @property
    def blank(self) -> bool:
        return self.content is None or self.ink_share < MIN_INK

    def box_fractions(self) -> tuple[float, float, float, float]:
        if self.box is None:
            return (0.0, 0.0, 1.0, 1.0)
        x0, y0, x1, y1 = self.box
        return (x0 / self.width, y0 / self.height, x1 / self.width, y1 / self.height)

    def aspect(self) -> float:
        h, w = self.content.shape
        return h / max(w, 1)


def _max3(a: np.ndarray) -> np.ndarray:
    p = np.pad(a, 1, mode="edge")
    out = a.copy()
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            np.maximum(out, p[dy : dy + a.shape[0], dx : dx + a.shape[1]], out=out)
    return out


def _min3(a: np.ndarray) -> np.ndarray:
    return -_max3(-a)


def image_difference(a: PageImage, b: PageImage) -> float:
    """The largest mean difference of one block after aligning both contents (0 = the same picture).

    Each pixel of one image is compared with the range of the other image's
    3 × 3 neighbourhood, so a shift of a pixel or a slightly thicker stroke
    costs nothing, while ink where the other copy has none (a changed digit,
    another word) counts in full."""
    h, w = a.content.shape
    fa = a.content
    fb = nearest_resize(
        b.content, h, w
    )  # contents differ by a few pixels at most: the 3 × 3 window absorbs it
    # a little blur: scanning noise and JPEG ringing are not content
    fa, fb = _smooth(fa), _smooth(fb)
    d = np.maximum(np.maximum(fa - _max3(fb), _min3(fb) - fa), np.maximum(fb - _max3(fa), _min3(fa) - fb))
    d = np.clip(d - NOISE, 0, None)
    bh, bw = h // BLOCK, w // BLOCK
    blocks = d[: bh * BLOCK, : bw * BLOCK].reshape(bh, BLOCK, bw, BLOCK).mean(axis=(1, 3))
    return float(blocks.max())


def grid_correlation(a: PageImage, b: PageImage) -> float:
    """Correlation of the two pages' ink density grids (cheap; ranks the candidates of a page)."""
    x, y = a.grid - a.grid.mean(), b.grid - b.grid.mean()
    den = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / den) if den > 0 else 0.0


def _smooth(a: np.ndarray) -> np.ndarray:
    p = np.pad(a, 1, mode="edge")
    h, w = a.shape
    return np.asarray(sum(p[dy : dy + h, dx : dx + w] for dy in (0, 1, 2) for dx in (0, 1, 2))) / 9.0


# ---- text --------------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def normalized_text(text: str) -> str:
    return _SPACE.sub("", text or "")


# ---- the case ------------------------------------------------------------------


def find_duplicates(db, case_id: str, render: Callable[[int], bytes], progress=None) -> list[dict]:
    """Sign every page of the case, find the duplicate pairs, store both; returns the pairs.

    ``render(page_id)`` gives the page's review render (the encrypted render
    cache: the renders made here are the ones the review page shows).  Pages
    that are candidates of each other are rendered once more, greyscale at
    ``FINE_DPI``, in memory only, for the pixel comparison."""
    pages = doc_store.list_pages(db, case_id, included_only=False)
    images: dict[int, PageImage] = {}
    texts: dict[int, str] = {}
    by_doc: dict[int, list[dict]] = {}
    for p in pages:
        by_doc.setdefault(p["document_id"], []).append(p)
    for document_id, doc_pages in by_doc.items():
        pdf = doc_store.open_document(db, document_id)
        try:
            for p in doc_pages:
                if not p["scanned"] and p["detect_status"] != "failed":
                    texts[p["id"]] = normalized_text(pdf[p["page_index"]].get_text("text"))
        finally:
            pdf.close()
    signatures = []
    for i, p in enumerate(pages):
        img = PageImage(render(p["id"]))
        images[p["id"]] = img
        signatures.append(
            {"page_id": p["id"], "dhash": img.hash, "content_box": img.box_fractions(), "ink": img.ink_share}
        )
        if progress:
            progress(i + 1, len(pages))
    dup_store.save_signatures(db, case_id, signatures)
    fine = _FineRenders(db, {p["id"]: p for p in pages})
    try:
        pairs = _pairs(pages, images, texts, fine)
    finally:
        fine.close()
    dup_store.replace_duplicates(db, case_id, pairs)
    return pairs


class _FineRenders:
    """Greyscale renders at ``FINE_DPI`` of the pages that need the pixel comparison (memory only)."""

    MAX = 48

    def __init__(self, db, pages: dict[int, dict]):
        self.db, self.pages = db, pages
        self.cache: dict[int, PageImage] = {}
        self.pdfs: dict[int, pymupdf.Document] = {}

    def __call__(self, page_id: int) -> PageImage:
        if page_id in self.cache:
            return self.cache[page_id]
        page = self.pages[page_id]
        pdf = self.pdfs.get(page["document_id"])
        if pdf is None:
            pdf = self.pdfs[page["document_id"]] = doc_store.open_document(self.db, page["document_id"])
        pix = pdf[page["page_index"]].get_pixmap(dpi=FINE_DPI, colorspace=pymupdf.csGRAY, alpha=False)
        img = PageImage(grey_array(pix))
        if len(self.cache) >= self.MAX:
            self.cache.pop(next(iter(self.cache)))
        self.cache[page_id] = img
        return img

    def close(self) -> None:
        for pdf in self.pdfs.values():
            pdf.close()


def _pairs(pages: list[dict], images: dict[int, PageImage], texts: dict[int, str], fine) -> list[dict]:
    """Each page against the earlier pages (review order) that are not themselves copies.

    The pixel comparison is the costly step: a page is compared with at most
    ``MAX_FINE`` earlier pages, its candidates of highest grid correlation (a case
    of a hundred pages of one form stays linear)."""
    firsts: list[dict] = []
    pairs = []
    for p in pages:
        img = images[p["id"]]
        if img.blank or p["detect_status"] == "failed":
            continue
        ranked = sorted(
            ((c, q) for q in firsts if (c := _candidate(p, q, images)) is not None), key=lambda cq: -cq[0]
        )
        match = None
        for _c, q in ranked[:MAX_FINE]:
            score = _confirm(p, q, images, texts, fine)
            if score is not None:
                match = (q, score)
                break
        if match is None:
            firsts.append(p)
            continue
        q, (score, method) = match
        pairs.append({"page_id": p["id"], "dup_of": q["id"], "score": round(score, 4), "method": method})
    return pairs


def _candidate(p: dict, q: dict, images: dict[int, PageImage]) -> Optional[float]:
    """The grid correlation when the pages' layouts are close enough to compare, else None."""
    a, b = images[p["id"]], images[q["id"]]
    if b.blank or hamming(a.hash, b.hash) > CANDIDATE_BITS:
        return None
    if abs(a.aspect() - b.aspect()) > ASPECT_TOLERANCE * max(a.aspect(), b.aspect()):
        return None
    corr = grid_correlation(a, b)
    return corr if corr >= GRID_MIN_CORR else None


def _confirm(p: dict, q: dict, images: dict[int, PageImage], texts: dict[int, str], fine):
    """(score, method) when page ``p`` repeats candidate ``q``, else None."""
    ta, tb = texts.get(p["id"]), texts.get(q["id"])
    if ta is not None and tb is not None and len(ta) >= 20 and len(tb) >= 20:
        return (1.0, "text") if ta == tb else None
    fa, fb = fine(p["id"]), fine(q["id"])
    if fa.blank or fb.blank:
        return None
    diff = image_difference(fa, fb)
    if diff > BLOCK_LIMIT:
        return None
    return (1.0 - diff, "image")


# ---- copying decisions between copies ---------------------------------------------


def map_rect(rect_px, src_box, src_size, dst_box, dst_size) -> tuple[float, float, float, float]:
    """A rectangle in render pixels of one copy → the other copy, relative to each page's content box."""
    sw, sh = src_size
    dw, dh = dst_size
    sx0, sy0, sx1, sy1 = src_box[0] * sw, src_box[1] * sh, src_box[2] * sw, src_box[3] * sh
    dx0, dy0, dx1, dy1 = dst_box[0] * dw, dst_box[1] * dh, dst_box[2] * dw, dst_box[3] * dh
    fx = (dx1 - dx0) / max(sx1 - sx0, 1e-6)
    fy = (dy1 - dy0) / max(sy1 - sy0, 1e-6)
    x0, y0, x1, y1 = rect_px
    return (dx0 + (x0 - sx0) * fx, dy0 + (y0 - sy0) * fy, dx0 + (x1 - sx0) * fx, dy0 + (y1 - sy0) * fy)


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _union(rects) -> tuple[float, float, float, float]:
    return (
        min(r[0] for r in rects),
        min(r[1] for r in rects),
        max(r[2] for r in rects),
        max(r[3] for r in rects),
    )


MATCH_IOU = 0.4


def apply_decisions(db, user: dict, source_page_id: int, target_page_id: int) -> dict:
    """Give the target copy the decisions of the source copy.

    Boxes are matched by category and by their place relative to each page's
    content box.  A decided box (accepted / rejected) passes its decision to its
    match; a box hidden on the source (accepted, or a manual box) with no match
    on the target is drawn there as a manual box.  Returns counts
    ``{decided, added, unmatched_rejected}``.  Every change goes through the review
    functions (role check, read-only check, edit row, audit record)."""
    from core.cases import review

    for pid in (source_page_id, target_page_id):
        if not any(d["other"] in (source_page_id, target_page_id) for d in dup_store.for_page(db, pid)):
            raise ValueError("pages are not duplicates")
    src_sig, dst_sig = dup_store.signature(db, source_page_id), dup_store.signature(db, target_page_id)
    if src_sig is None or dst_sig is None:
        raise ValueError("pages have no signature")
    src_size, dst_size = _render_size(db, source_page_id), _render_size(db, target_page_id)
    src = review.findings_view(db, source_page_id)
    dst = review.findings_view(db, target_page_id)
    used: set[int] = set()
    counts = {"decided": 0, "added": 0, "unmatched_rejected": 0}
    for s in src:
        if not s["rects_px"]:
            continue
        mapped = map_rect(
            _union(s["rects_px"]), src_sig["content_box"], src_size, dst_sig["content_box"], dst_size
        )
        best, best_iou = None, MATCH_IOU
        for t in dst:
            if t["id"] in used or t["category"] != s["category"] or not t["rects_px"]:
                continue
            iou = _iou(mapped, _union(t["rects_px"]))
            if iou >= best_iou:
                best, best_iou = t, iou
        if best is not None:
            used.add(best["id"])
            if s["status"] in ("accepted", "rejected") and best["status"] != s["status"]:
                review.decide(db, user, best["id"], s["status"] == "accepted")
                counts["decided"] += 1
            continue
        if s["status"] == "rejected":
            counts["unmatched_rejected"] += 1
            continue
        if s["status"] == "accepted" or s["source"] == "manual":
            review.add_box(db, user, target_page_id, mapped, s["category"], "复制自重复页")
            counts["added"] += 1
    return counts


def _render_size(db, page_id: int) -> tuple[float, float]:
    from core.cases.review import REVIEW_DPI

    page = doc_store.require_page(db, page_id)
    w, h = (page["height"], page["width"]) if page["rotation"] % 180 else (page["width"], page["height"])
    return w * REVIEW_DPI / 72, h * REVIEW_DPI / 72


def duplicates_of(db, page_id: int) -> list[dict]:
    """For the review page: the pages this page repeats or that repeat it."""
    return dup_store.for_page(db, page_id)
