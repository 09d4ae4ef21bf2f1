"""Is a dark region a barcode or a 2D code, decodable or not?

Structure, not content: a 1D code is a run of parallel bars (the gradient
points one way everywhere, and every scan line across the bars sees the
same sequence of many dark and light runs); a QR code has three nested-square
finder patterns, a DataMatrix two solid edges (the "L") and two dotted ones;
any 2D matrix code is a square of small square modules (runs of both colours
in both directions are multiples of one module size).  Skew is undone from
the dominant gradient direction (1D) or the region's minimum-area rectangle
(2D) before the runs are measured.
"""

from __future__ import annotations

from typing import Optional

import cv2
import numpy as np


def _dark(gray: np.ndarray) -> np.ndarray:
    thr, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return (gray < min(float(thr), 170.0)).astype(np.uint8)


def _closing(dpi: float, mm: float) -> int:
    return max(3, int(round(dpi / 25.4 * mm)))


def ink_extent(gray: np.ndarray, box) -> tuple[int, int, int, int]:
    """The closed dark blob(s) that ``box`` (a zxing position, perhaps one
    scan line) touches, as a pixel box; the box itself when none does."""
    dark = _dark(gray)
    k = max(3, int(0.04 * max(1, min(gray.shape))))
    blob = cv2.morphologyEx(dark, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    n, lab, stats, _ = cv2.connectedComponentsWithStats(blob, connectivity=8)
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    sub = lab[max(0, y0) : max(y0 + 1, y1 + 1), max(0, x0) : max(x0 + 1, x1 + 1)]
    ids = [i for i in np.unique(sub) if i > 0]
    if not ids:
        return (x0, y0, x1, y1)
    xs0 = min(stats[i][0] for i in ids)
    ys0 = min(stats[i][1] for i in ids)
    xs1 = max(stats[i][0] + stats[i][2] for i in ids)
    ys1 = max(stats[i][1] + stats[i][3] for i in ids)
    return (min(x0, xs0), min(y0, ys0), max(x1, xs1), max(y1, ys1))


def code_kind(gray: np.ndarray, dpi: float, c: dict) -> tuple[Optional[str], tuple]:
    """("1d" | "2d" | None, pixel box of the code) for the biggest code-like
    blob of a grayscale crop."""
    dark = _dark(gray)
    k = _closing(dpi, c.get("close_mm", 1.2))
    # a square closing joins bars or modules; one along the bars' row only keeps
    # the digits printed just under (or beside) a 1D code out of its blob
    for kernel in ((k, k), (k, 3), (3, k)):
        kind, box = _code_in_blobs(gray, dark, kernel, dpi, c)
        if kind is not None:
            return kind, box
    return None, ()


def _code_in_blobs(
    gray: np.ndarray, dark: np.ndarray, kernel: tuple, dpi: float, c: dict
) -> tuple[Optional[str], tuple]:
    blob = cv2.morphologyEx(dark, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
    n, lab, stats, _ = cv2.connectedComponentsWithStats(blob, connectivity=8)
    min_side = dpi / 25.4 * c.get("min_side_mm", 4.0)
    gap = dpi / 25.4 * c.get("join_mm", 4.0)
    square = kernel[0] == kernel[1]
    for ids in _row_groups(stats, n, gap)[:6]:
        x, y = min(stats[i][0] for i in ids), min(stats[i][1] for i in ids)
        w = max(stats[i][0] + stats[i][2] for i in ids) - x
        h = max(stats[i][1] + stats[i][3] for i in ids) - y
        if max(w, h) < min_side or min(w, h) < min_side * 0.4:
            continue
        region = np.isin(lab[y : y + h, x : x + w], ids)
        ink = dark[y : y + h, x : x + w] & region
        g = gray[y : y + h, x : x + w]
        box = (int(x), int(y), int(x + w), int(y + h))
        if is_linear(g, ink, region, c):
            return "1d", box
        if square and is_matrix(g, ink, region, c):
            return "2d", box
    return None, ()


def _row_groups(stats, n: int, gap: float) -> list[list[int]]:
    """Blobs of one code, biggest first: pieces of a damaged 1D code (same
    top and bottom, a scratch between) join."""
    groups: list[list[int]] = []
    for i in sorted(range(1, n), key=lambda i: stats[i][0]):
        x, y, w, h, _ = stats[i]
        for g in groups:
            j = g[-1]
            ov = min(y + h, stats[j][1] + stats[j][3]) - max(y, stats[j][1])
            if ov >= 0.7 * max(h, stats[j][3]) and 0 <= x - (stats[j][0] + stats[j][2]) <= gap:
                g.append(i)
                break
        else:
            groups.append([i])
    return sorted(groups, key=lambda g: -sum(int(stats[i][4]) for i in g))


# ---------------------------------------------------------------- 1D
def _orientation(g: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """(coherence 0..1, gradient angle in degrees) over ``mask``."""
    gf = g.astype(np.float32)
    gx = cv2.Sobel(gf, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gf, cv2.CV_32F, 0, 1, ksize=3)
    m = mask.astype(bool)
    jxx, jyy, jxy = float((gx * gx)[m].sum()), float((gy * gy)[m].sum()), float((gx * gy)[m].sum())
    tr = jxx + jyy
    if tr <= 0:
        return 0.0, 0.0
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy * jxy) / tr
    return float(coherence), float(np.degrees(0.5 * np.arctan2(2 * jxy, jxx - jyy)))


def _rotate(img: np.ndarray, angle: float, border: int) -> np.ndarray:
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos) + 1, int(h * cos + w * sin) + 1
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_NEAREST, borderValue=border)


def is_linear(g: np.ndarray, ink: np.ndarray, region: np.ndarray, c: dict) -> bool:
    """Parallel bars: one gradient direction, and scan lines across the bars
    that all see the same long sequence of dark and light runs."""
    edge = cv2.dilate(ink, np.ones((3, 3), np.uint8)) & region.astype(np.uint8)
    coherence, angle = _orientation(g, edge)
    if coherence < c.get("bar_coherence", 0.75):
        return False
    # bars now vertical; the grey profile across them (a blurred scan fills
    # narrow spaces in a binary image, not in the grey levels)
    inside = _rotate(region.astype(np.uint8) * 255, angle, 0) > 0
    grey = _rotate(g, angle, 255).astype(np.float32)
    ys, xs = np.nonzero(inside)
    if len(xs) == 0:
        return False
    sl = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    inside, grey = inside[sl], grey[sl]
    h, w = inside.shape
    if w < h * c.get("bar_aspect_min", 0.8):  # bars longer than the code is wide: hatching or a rule
        return False
    band = np.s_[int(h * 0.25) : max(int(h * 0.25) + 1, int(h * 0.75))]
    cols = inside[band].mean(axis=0) > 0.9
    if cols.sum() < 8:
        return False
    profile = grey[band].mean(axis=0)[cols]
    lo, hi = np.percentile(profile, 5), np.percentile(profile, 95)
    if hi - lo < c.get("bar_contrast_min", 60):
        return False
    # parallel bars: slabs of the band see the same profile
    rows = np.array_split(np.arange(int(h * 0.2), max(int(h * 0.2) + 3, int(h * 0.8))), 3)
    slabs = [grey[r].mean(axis=0)[cols] for r in rows if len(r)]
    agree = min(_best_shift_corr(a, b) for a in slabs for b in slabs) if len(slabs) == 3 else 0.0
    p = (profile - lo) / (hi - lo)
    bars, fill = _hysteresis_runs(p)
    return agree >= c.get("bar_consistency", 0.8) and bars >= c.get("min_bars", 10) and 0.15 <= fill <= 0.88


def _best_shift_corr(a: np.ndarray, b: np.ndarray, shift: int = 2) -> float:
    """Correlation of two profiles, best over shifts of a few pixels: a skew
    left after deskewing (or the rotation's own rounding of thin bars) moves
    the bars by a pixel or two between the top and the bottom of a code."""
    best = -1.0
    for d in range(-shift, shift + 1):
        x, y = (a[d:], b[: len(b) - d]) if d >= 0 else (a[:d], b[-d:])
        if len(x) > 8 and x.std() > 0 and y.std() > 0:
            best = max(best, float(np.corrcoef(x, y)[0, 1]))
    return best


def _hysteresis_runs(p: np.ndarray) -> tuple[int, float]:
    """(number of dark runs, dark share) of a 0..1 profile; a run starts below
    0.4 and ends above 0.6, so a blurred scan's grey narrow spaces count."""
    dark, runs, n_dark = False, 0, 0
    for v in p:
        if not dark and v < 0.4:
            dark, runs = True, runs + 1
        elif dark and v > 0.6:
            dark = False
        n_dark += dark
    return runs, n_dark / max(1, len(p))


# ---------------------------------------------------------------- 2D
def _finders(ink: np.ndarray) -> int:
    """QR finder patterns: a square ring round a ring round a filled square
    (three levels of nested contours of about square shape)."""
    contours, hier = cv2.findContours(ink.astype(np.uint8), cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if hier is None:
        return 0
    hier = hier[0]
    found = 0
    for i, cnt in enumerate(contours):
        depth, j = 0, hier[i][2]
        while j >= 0 and depth < 4:
            depth, j = depth + 1, hier[j][2]
        if depth < 2:
            continue
        _, (rw, rh), _ = cv2.minAreaRect(cnt)
        if rw > 6 and rh > 6 and 0.7 <= rw / rh <= 1.4:
            found += 1
    return found


def _deskew(ink: np.ndarray) -> np.ndarray:
    pts = cv2.findNonZero(ink.astype(np.uint8))
    if pts is None:
        return ink
    angle = cv2.minAreaRect(pts)[2]
    angle = angle - 90 if angle > 45 else angle
    out = _rotate(ink.astype(np.uint8) * 255, angle, 0) > 0
    ys, xs = np.nonzero(out)
    return out[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] if len(xs) else out


def _l_finder(sq: np.ndarray) -> bool:
    """DataMatrix: two adjacent solid edges, the other two alternating."""
    h, w = sq.shape
    t = max(1, min(h, w) // 40)
    edges = [sq[:t].mean(axis=0), sq[-t:].mean(axis=0), sq[:, :t].mean(axis=1), sq[:, -t:].mean(axis=1)]
    solid = [float(np.mean(e > 0.5)) >= 0.9 for e in edges]
    dotted = [0.3 <= float(np.mean(e > 0.5)) <= 0.7 for e in edges]
    top, bottom, left, right = range(4)
    for a, b in ((bottom, left), (top, left), (bottom, right), (top, right)):
        others = [k for k in range(4) if k not in (a, b)]
        if solid[a] and solid[b] and all(dotted[k] for k in others):
            return True
    return False


def _runs(line: np.ndarray) -> np.ndarray:
    d = np.flatnonzero(np.diff(line.astype(np.int8)) != 0)
    return np.diff(d) if len(d) > 1 else np.array([], dtype=int)


def _module_regularity(sq: np.ndarray) -> tuple[float, float]:
    """(share of runs that are whole multiples of one module size, runs per
    scan line) over rows and columns of a deskewed square."""
    runs = np.concatenate(
        [_runs(r) for r in sq[:: max(1, sq.shape[0] // 40)]]
        + [_runs(col) for col in sq.T[:: max(1, sq.shape[1] // 40)]]
        + [np.array([], int)]
    )
    if len(runs) < 20:
        return 0.0, 0.0
    m = float(np.percentile(runs, 15))
    if m < 2:
        return 0.0, 0.0
    q = runs / m
    share = float(np.mean(np.abs(q - np.round(q)) <= 0.25))
    lines = len(sq[:: max(1, sq.shape[0] // 40)]) + len(sq.T[:: max(1, sq.shape[1] // 40)])
    return share, len(runs) / max(1, lines)


def is_matrix(g: np.ndarray, ink: np.ndarray, region: np.ndarray, c: dict) -> bool:
    """Square-ish, half dark, and QR finders, a DataMatrix L, or a grid of
    square modules."""
    h, w = ink.shape
    if not (0.6 <= w / max(1, h) <= 1.6):
        return False
    fill = float(ink.sum()) / max(1, int(region.sum()))
    if not (c.get("matrix_fill_min", 0.3) <= fill <= c.get("matrix_fill_max", 0.75)):
        return False
    if _finders(ink) >= 2:
        return True
    sq = _deskew(ink)
    if _l_finder(sq):
        return True
    share, per_line = _module_regularity(sq)
    return share >= c.get("module_regularity", 0.85) and per_line >= c.get("min_runs_per_line", 6)


# ---------------------------------------------------------------- human-readable line
def readable_line(gray: np.ndarray, code: tuple) -> Optional[tuple]:
    """Pixel box of a line of small ink just under or above a 1D code (its
    human-readable digits), within the code's width."""
    x0, y0, x1, y1 = code
    h = y1 - y0
    if h <= 0:
        return None
    dark = _dark(gray)
    found = None
    for a, b in ((y1, min(gray.shape[0], y1 + int(0.8 * h))), (max(0, y0 - int(0.8 * h)), y0)):
        rows = dark[a:b, x0:x1].any(axis=1)
        if not rows.any():
            continue
        idx = np.flatnonzero(rows)
        near = idx if a == y1 else idx[::-1]
        # the line is the first run of inked rows from the code, within half a code height
        start = near[0]
        if abs(start - (0 if a == y1 else b - a - 1)) > 0.5 * h:
            continue
        run = [start]
        for r in near[1:]:
            if abs(r - run[-1]) > 2:
                break
            run.append(r)
        ra, rb = min(run) + a, max(run) + a + 1
        if rb - ra > 0.7 * h:
            continue
        cols = np.flatnonzero(dark[ra:rb, x0:x1].any(axis=0))
        box = (x0 + int(cols.min()), ra, x0 + int(cols.max()) + 1, rb)
        found = (
            box
            if found is None
            else (min(found[0], box[0]), min(found[1], box[1]), max(found[2], box[2]), max(found[3], box[3]))
        )
    return found
