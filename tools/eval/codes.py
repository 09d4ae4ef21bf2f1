"""Corpus (c): public barcode / QR sample images (zxing-cpp test samples) placed on real-layout record pages.

    python -m tools.eval.codes --out DIR [--records 8] [--seed 77]

Each record of the real-layout builder gets codes on its pages in free space (header first, as EMR prints put
the inpatient-number barcode beside the hospital name), half of them as image XObjects and half as vector
drawings (every dark module of the sample drawn as a filled rectangle).  Under some barcodes the inpatient
number is printed in digits.  Truth: category qr_code / barcode (image items) plus the record's own items.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import cv2
import numpy as np
import pymupdf

from tools.eval.identities import DATA
from tools.eval.real_layouts import build

SAMPLES = json.loads((DATA / "codes" / "samples.json").read_text(encoding="utf-8"))["samples"]
MARGIN = 24.0


def modules(path: Path) -> tuple[np.ndarray, float, float]:
    """Dark-module grid of a clean code image: (bool grid, module width px, module height px)."""
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    dark = img < 128
    ys, xs = np.nonzero(dark)
    dark = dark[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    mw, mh = _min_run(dark), _min_run(dark.T)
    rows, cols = max(1, round(dark.shape[0] / mh)), max(1, round(dark.shape[1] / mw))
    cy = ((np.arange(rows) + 0.5) * dark.shape[0] / rows).astype(int)
    cx = ((np.arange(cols) + 0.5) * dark.shape[1] / cols).astype(int)
    return dark[np.ix_(cy, cx)], dark.shape[1] / cols, dark.shape[0] / rows


def _min_run(grid: np.ndarray) -> float:
    """Shortest run of equal pixels along rows (the module size), ignoring 1-px anti-aliasing runs."""
    runs = []
    for row in grid[:: max(1, grid.shape[0] // 15)]:
        edges = np.flatnonzero(np.diff(row.astype(np.int8))) + 1
        lengths = np.diff(np.concatenate(([0], edges, [row.size])))
        runs += [v for v in lengths.tolist() if v >= 2]
    return float(np.percentile(runs, 5)) if runs else float(grid.shape[1])


def draw_vector(page: pymupdf.Page, rect: pymupdf.Rect, path: Path) -> None:
    grid, _, _ = modules(path)
    rows, cols = grid.shape
    cw, ch = rect.width / cols, rect.height / rows
    shape = page.new_shape()
    for r in range(rows):
        c = 0
        while c < cols:
            if grid[r, c]:
                start = c
                while c < cols and grid[r, c]:
                    c += 1
                shape.draw_rect(
                    pymupdf.Rect(
                        rect.x0 + start * cw, rect.y0 + r * ch, rect.x0 + c * cw, rect.y0 + (r + 1) * ch
                    )
                )
            c += 1
    shape.finish(color=None, fill=(0, 0, 0), width=0)
    shape.commit()


def occupied(page: pymupdf.Page) -> list[pymupdf.Rect]:
    boxes = [pymupdf.Rect(b[:4]) for b in page.get_text("blocks")]
    boxes += [d["rect"] for d in page.get_drawings()]
    return boxes + [pymupdf.Rect(i["bbox"]) for i in page.get_image_info()]


def free_spot(page: pymupdf.Page, w: float, h: float, taken: list[pymupdf.Rect]) -> pymupdf.Rect | None:
    """First place, header corners first, where a w x h code (plus 4 pt) touches nothing."""
    W, H = page.rect.width, page.rect.height
    spots = [
        (W - MARGIN - w, 8),
        (MARGIN, 8),
        (W - MARGIN - w, H - MARGIN - h),
        (MARGIN, H - MARGIN - h),
        (W / 2 - w / 2, H - MARGIN - h),
    ]
    spots += [
        (x, y) for y in np.arange(H * 0.55, H - h - MARGIN, 20) for x in np.arange(MARGIN, W - w - MARGIN, 40)
    ]
    for x, y in spots:
        r = pymupdf.Rect(x, y, x + w, y + h)
        pad = r + (-4, -4, 4, 4)
        if r.y0 >= 0 and all((pad & o).is_empty for o in taken):
            return r
    return None


def place_codes(doc: pymupdf.Document, items: list[dict], rng: random.Random, inpatient: str) -> list[dict]:
    """Put one or two samples on each page (two on the first); returns the truth items plus the code items."""
    new, flip = [], rng.random() < 0.5
    for page in doc:
        taken = occupied(page)
        for _ in range(2 if page.number == 0 else rng.choice((1, 2))):
            sample = rng.choice(SAMPLES)
            path = DATA / "codes" / sample["file"]
            w = rng.uniform(*sample["width_pt"])
            img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            h = w * img.shape[0] / img.shape[1] if sample["category"] == "qr_code" else rng.uniform(24, 40)
            digits = sample["category"] == "barcode" and rng.random() < 0.5
            rect = free_spot(page, w, h + (10 if digits else 0), taken)
            if rect is None:
                continue
            rect = pymupdf.Rect(rect.x0, rect.y0, rect.x1, rect.y0 + h)
            vector = flip = not flip  # image and vector drawings alternate
            if vector:
                draw_vector(page, rect, path)
            else:
                page.insert_image(rect, filename=str(path))
            taken.append(rect + (0, 0, 0, 10))
            new.append(
                {
                    "page": page.number,
                    "bbox": [round(v, 2) for v in rect],
                    "kind": "pii",
                    "category": sample["category"],
                    "image": True,
                    "text": inpatient,
                    "drawn": "vector" if vector else "image",
                    "sample": sample["file"],
                }
            )
            if digits:
                new += _digits_under(page, rect, inpatient)
    out = items + new
    for i, it in enumerate(out):
        it["id"] = i
    return out


def _digits_under(page: pymupdf.Page, rect: pymupdf.Rect, value: str) -> list[dict]:
    """The human-readable number printed under a barcode (a text item of its own)."""
    size = 7.0
    width = pymupdf.get_text_length(value, fontname="cour", fontsize=size)
    x = rect.x0 + (rect.width - width) / 2
    page.insert_text((x, rect.y1 + size + 1), value, fontname="cour", fontsize=size)
    hit = [r for r in page.search_for(value) if r.y0 >= rect.y1 - 1 and r.y1 <= rect.y1 + size + 4]
    return [
        {
            "page": page.number,
            "bbox": [round(v, 2) for v in r],
            "kind": "pii",
            "category": "inpatient_no",
            "image": False,
            "text": value,
        }
        for r in hit[:1]
    ]


def build_codes(out: Path, records: int = 8, seed: int = 77, scanned_ratio: float = 0.25) -> dict:
    def extra(doc, items, rng):
        meta_inpatient = next((i["text"] for i in items if i["category"] == "inpatient_no"), "0000000")
        return place_codes(doc, items, rng, meta_inpatient)

    return build(out, records, seed, scanned_ratio, extra=extra, prefix="qc")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.eval.codes", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--records", type=int, default=8)
    ap.add_argument("--seed", type=int, default=77)
    a = ap.parse_args(argv)
    print(json.dumps(build_codes(a.out, a.records, a.seed), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
