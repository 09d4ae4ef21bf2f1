"""Corpus (b): real EMR print layouts, filled with generated identities, printed by Chromium.

    python -m tools.eval.real_layouts --out DIR [--records 20] [--seed 2024] [--scanned 0.2]

Writes, per record, ``<rid>.pdf``, ``<rid>.case.json`` and ``<rid>.truth.json`` in eval-dev's format, so that
``../shared/eval-dev/score.py --truth DIR`` scores it.  Truth boxes come from searching the printed PDF's text
with PyMuPDF for every planted value and every static label.  Some pages are rasterised into scans (same
geometry, so the boxes still hold).  Deterministic from the seed; ``build_cached`` keeps a built corpus under
``.cache/eval/``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pymupdf

from tools.eval.identities import DATA, VOCAB, Identity, new_identity
from tools.eval.templates import CACHE, ZWSP, Section, available_sources, document_html, render

HERE = Path(__file__).resolve().parent
PII_CATS_TEXT = {
    "patient_name",
    "family_name",
    "staff_name",
    "hospital_name",
    "id_number",
    "phone",
    "address",
    "workplace",
    "inpatient_no",
    "patient_id",
    "outpatient_no",
    "bed_no",
    "insurance_no",
}
OPTIONAL_DOCS = ("first", "daily", "rounds", "operation", "prescription", "death")
OVERLAP_DROP = 0.3  # a keep hit sharing this much of its area with a PII box is not a keep item


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def print_pdf(html_path: Path, pdf_path: Path) -> None:
    """Chromium's own PDF printer, as an EMR's 'export to PDF' does."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-pdf-header-footer",
                f"--user-data-dir={profile}",
                f"--print-to-pdf={pdf_path}",
                html_path.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def choose_sources(rng: random.Random, texts: dict[str, str], doc_set: str = "emr") -> list[dict]:
    """The documents of one record: a 病案首页 and a few course records, or (a held-out set: "heldout",
    "heldout2") every template of that set in a random order."""
    from tools.eval.templates import SOURCES

    if doc_set != "emr":
        held = [s for s in SOURCES if s.get("set") == doc_set and s["id"] in texts]
        return rng.sample(held, len(held))
    by_id = {s["id"]: s for s in SOURCES if s["id"] in texts and s["kind"] != "css"}
    picked = [by_id[i] for i in ("basy1", "basy2") if i in by_id]
    optional = [i for i in OPTIONAL_DOCS if i in by_id and (i != "death" or rng.random() < 0.15)]
    picked += [by_id[i] for i in rng.sample(optional, min(len(optional), rng.choice((2, 3, 3))))]
    return picked


# ------------------------------------------------------------------------------------------ truth
def planted(ident: Identity) -> dict[str, str]:
    """text -> category of every value filled into the record (the strings to locate)."""
    out: dict[str, str] = {}
    for role in sorted(ident.used):
        segs = ident.roles[role]
        for text, cat in segs:
            if cat and text.strip() and (cat in PII_CATS_TEXT or text not in out):
                out[text] = cat
    return out


def _overlap(a: pymupdf.Rect, b: pymupdf.Rect) -> float:
    inter = a & b
    return 0.0 if inter.is_empty else inter.get_area() / max(a.get_area(), 1e-6)


def locate(
    doc: pymupdf.Document, values: dict[str, str], labels: list[str], careful: bool = False
) -> tuple[list[dict], dict[str, int]]:
    """Truth items from text search; also how many hits each planted PII value got.  ``careful`` (corpus i):
    a PII value not found as one string on a page is also looked for one character per box
    (``spread_hits``), and a short keep value found inside a longer number (an age "6" in "G686573") is no
    keep item."""
    items: list[dict] = []
    hits: dict[str, int] = {}
    keep = {t: c for t, c in values.items() if c not in PII_CATS_TEXT}
    keep.update({t: "label" for t in labels if t not in values})
    for page in doc:
        pii_boxes = []
        for text, cat in values.items():
            if cat not in PII_CATS_TEXT:
                continue
            rects = page.search_for(text)
            if careful and not rects:
                rects = spread_hits(page, text) or wrapped_hits(page, text)
            hits[text] = hits.get(text, 0) + len(rects)
            pii_boxes += rects
            items += _items(page.number, rects, "pii", cat, text)
        for text, cat in keep.items():
            rects = [
                r for r in page.search_for(text) if all(_overlap(r, p) < OVERLAP_DROP for p in pii_boxes)
            ]
            if careful and len(text) <= 3:
                rects = [r for r in rects if not _inside_longer_word(page, r)]
            items += _items(page.number, rects, "keep", cat, text)
    for i, it in enumerate(items):
        it["id"] = i
    return items, hits


def _inside_longer_word(page: pymupdf.Page, rect: pymupdf.Rect) -> bool:
    """A hit that is part of a longer run of letters and digits on its line (a digit of a number)."""
    for x0, y0, x1, y1, word, *_ in page.get_text("words"):
        w = pymupdf.Rect(x0, y0, x1, y1)
        if _overlap(rect, w) > 0.5 and w.width > rect.width + 1 and any(c.isalnum() for c in word):
            core = "".join(c for c in word if c.isascii() and c.isalnum())
            if len(core) > len(page.get_textbox(rect).strip()):
                return True
    return False


def spread_hits(page: pymupdf.Page, text: str) -> list[pymupdf.Rect]:
    """Where a value is printed one character per box (an ID number in 18 bordered cells): runs of the value's
    characters on one baseline, read left to right, blanks and zero-width spaces ignored; one box per run."""
    target = re.sub(r"\s|\u200b", "", text)
    rows: dict[int, list[tuple[float, str, pymupdf.Rect]]] = {}
    for block in page.get_text("rawdict")["blocks"]:
        for line in block.get("lines", []):
            for span in line["spans"]:
                for ch in span["chars"]:
                    if ch["c"].strip() and ch["c"] != ZWSP:
                        rows.setdefault(round(ch["origin"][1]), []).append(
                            (ch["origin"][0], ch["c"], pymupdf.Rect(ch["bbox"]))
                        )
    out = []
    for row in rows.values():
        row.sort(key=lambda c: c[0])
        line = "".join(c[1] for c in row)
        start = line.find(target)
        while target and start >= 0:
            box = pymupdf.Rect(row[start][2])
            for _x, _c, r in row[start : start + len(target)]:
                box |= r
            out.append(box)
            start = line.find(target, start + len(target))
    return out


def wrapped_hits(page: pymupdf.Page, text: str) -> list[pymupdf.Rect]:
    """Where a short value wraps inside a narrow cell ("仉昕" over "悦"): one line ends with its head, the
    line right below starts with its tail, no further left than the head; one box per piece."""
    lines = []
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", []):
            chars = "".join(span["text"] for span in line["spans"])
            lines.append((re.sub(r"[\s\u200b]", "", chars), pymupdf.Rect(line["bbox"])))
    out: list[pymupdf.Rect] = []
    for k in range(1, len(text)):
        head, tail = text[:k], text[k:]
        for a_text, a in lines:
            if not a_text.endswith(head):
                continue
            for b_text, b in lines:
                below = 0 <= b.y0 - a.y1 + 1 < a.height
                if below and b_text.startswith(tail) and a.x0 - a.height <= b.x0 <= a.x1:
                    out += [r for r in page.search_for(head) if r.intersects(a)][-1:]
                    out += [r for r in page.search_for(tail) if r.intersects(b)][:1]
    return out


def _items(page: int, rects, kind: str, cat: str, text: str) -> list[dict]:
    """One item per hit rectangle; a multi-line hit names its text once (the scorer counts texts)."""
    out, seen = [], set()
    for r in rects:
        key = tuple(round(v, 1) for v in r)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            {
                "page": page,
                "bbox": [round(v, 2) for v in r],
                "kind": kind,
                "category": cat,
                "image": False,
                "text": text,
            }
        )
    return out


def page_docs(doc: pymupdf.Document, sections: list[Section]) -> list[str]:
    """Which section each page belongs to (by its first static label; pages without one follow the last)."""
    names, current = [], sections[0].source["id"]
    for page in doc:
        text = page.get_text().replace(ZWSP, "")
        for s in sections:
            if s.labels and s.labels[0] in text:
                current = s.source["id"]
                break
        names.append(current)
    return names


# ------------------------------------------------------------------------------------------ scans
def scan_page(out: pymupdf.Document, page: pymupdf.Page, rng: random.Random) -> dict:
    """Replace a page by a grey JPEG render of it with sensor noise (geometry unchanged)."""
    dpi = rng.choice((150, 180, 200))
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width).astype(np.float32)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 6, img.shape)
    img = np.clip(img * 0.93 + 10 + noise, 0, 255).astype(np.uint8)
    ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    new = out.new_page(width=page.rect.width, height=page.rect.height)
    new.insert_image(new.rect, stream=jpg.tobytes())
    return {"scan_dpi": dpi}


def finish_pdf(digital: Path, dest: Path, scanned: set[int], rng: random.Random) -> list[dict]:
    """Copy the printed PDF to dest, turning the chosen pages into scans; returns per-page scan info."""
    src, out, info = pymupdf.open(digital), pymupdf.open(), []
    for page in src:
        if page.number in scanned:
            info.append({"scanned": True, **scan_page(out, page, rng)})
        else:
            out.insert_pdf(src, from_page=page.number, to_page=page.number)
            info.append({"scanned": False})
    out.save(dest, garbage=3, deflate=True)
    return info


# ------------------------------------------------------------------------------------------ records
def prepare_record(
    work: Path, rid: str, seed: int, texts: dict[str, str], doc_set: str = "emr"
) -> tuple[Identity, list[Section], Path]:
    rng = random.Random(f"{seed}:{rid}")
    ident = new_identity(rng, rid, record_vocab(doc_set))
    sections = [render(src, texts, ident) for src in choose_sources(rng, texts, doc_set)]
    html_path = work / f"{rid}.html"
    html_path.write_text(document_html(sections), encoding="utf-8")
    return ident, sections, html_path


def record_vocab(doc_set: str) -> dict:
    """Corpora (i) and (j) draw names, places, hospitals and workplaces from their own word lists
    (vocab_i.json, vocab_j.json)."""
    own_file = {"heldout2": "vocab_i.json", "heldout3": "vocab_j.json"}.get(doc_set)
    if own_file is None:
        return VOCAB
    own = json.loads((DATA / own_file).read_text(encoding="utf-8"))
    return {**VOCAB, **{k: v for k, v in own.items() if k != "note"}}


def write_record(
    out: Path,
    rid: str,
    seed: int,
    ident: Identity,
    sections: list[Section],
    digital: Path,
    scanned_ratio: float,
    extra=None,
    careful: bool = False,
) -> dict:
    """Truth + case index + final PDF of one record; ``extra(doc, items, rng)`` may add marks first."""
    rng = random.Random(f"{seed}:{rid}:pages")
    doc = pymupdf.open(digital)
    labels = [lab for s in sections for lab in s.labels]
    items, hits = locate(doc, planted(ident), labels, careful)
    if extra is not None:
        items = extra(doc, items, rng)
        doc.save(digital.with_suffix(".marked.pdf"))
        digital = digital.with_suffix(".marked.pdf")
    scanned = {p for p in range(doc.page_count) if rng.random() < scanned_ratio}
    info = finish_pdf(digital, out / f"{rid}.pdf", scanned, rng)
    docs = page_docs(doc, sections)
    page_info = [
        {**pi, "landscape": False, "doc": d, "size": [round(p.rect.width, 2), round(p.rect.height, 2)]}
        for pi, d, p in zip(info, docs, doc)
    ]
    for it in items:
        it.setdefault("doc", docs[it["page"]])
    truth = {
        "rid": rid,
        "seed": seed,
        "profile": "real_layout",
        "pages": doc.page_count,
        "page_info": page_info,
        "items": items,
        "sources": [s.source["id"] for s in sections],
        "unlocated": sorted(c for t, c in planted(ident).items() if c in PII_CATS_TEXT and not hits.get(t)),
    }
    (out / f"{rid}.truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / f"{rid}.case.json").write_text(
        json.dumps(ident.meta, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    return truth


def build(
    out: Path,
    records: int = 20,
    seed: int = 2024,
    scanned_ratio: float = 0.2,
    extra=None,
    prefix: str = "rl",
    doc_set: str = "emr",
) -> dict:
    """Build the corpus into ``out``; returns a summary (records, pages, missing sources)."""
    if chromium() is None:
        raise RuntimeError("chromium not found (make system-deps installs it)")
    texts, missing = available_sources(doc_set)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "_work"
    work.mkdir(exist_ok=True)
    rids = [f"{prefix}{seed}r{i:02d}" for i in range(records)]
    prepared = {rid: prepare_record(work, rid, seed, texts, doc_set) for rid in rids}
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda rid: print_pdf(prepared[rid][2], work / f"{rid}.digital.pdf"), rids))
    careful = doc_set in ("heldout2", "heldout3")  # the older corpora's truth stays as it was measured
    truths = [
        write_record(
            out, rid, seed, *prepared[rid][:2], work / f"{rid}.digital.pdf", scanned_ratio, extra, careful
        )
        for rid in rids
    ]
    summary = {
        "records": records,
        "pages": sum(t["pages"] for t in truths),
        "seed": seed,
        "missing_sources": [f"{s['repo']}:{s['path']}" for s in missing],
        "unlocated": sum(len(t["unlocated"]) for t in truths),
    }
    (out / "corpus.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    return summary


def cache_key(*parts) -> str:
    """Changes whenever the builder's code or data changes, so a stale corpus is never reused."""
    h = hashlib.sha1(repr(parts).encode())
    for path in sorted(list(HERE.glob("*.py")) + list(DATA.rglob("*"))):
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def build_cached(name: str, builder, **kw) -> tuple[Path, dict]:
    out = CACHE / f"{name}-{cache_key(name, sorted(kw.items()))}"
    done = out / "corpus.json"
    if done.exists():
        return out, json.loads(done.read_text(encoding="utf-8"))
    shutil.rmtree(out, ignore_errors=True)
    return out, builder(out, **kw)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tools.eval.real_layouts", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--records", type=int, default=20)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--scanned", type=float, default=0.2)
    a = ap.parse_args(argv)
    print(json.dumps(build(a.out, a.records, a.seed, a.scanned), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
