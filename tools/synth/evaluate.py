"""Score a detector against synthetic ground truth.

``evaluate(analyze_fn, corpus)`` runs ``analyze_fn(pdf_path, meta_dict) ->
list[Finding]`` on every record and measures:

* recall per category: a truth identifier counts as found when the union of
  the findings' rects on its page covers ≥ 90 % of its rect's area (any
  finding category: what matters is that the pixels/glyphs get removed);
  split into born-digital and scanned pages;
* over-redaction: the share of clinical-line area covered by findings, the
  clinical lines touched (≥ 10 % covered), and stray findings (findings that
  overlap no truth identifier), by detector.

``format_report(result)`` renders the result as a plain-text table.  Values
shown for missed identifiers are masked (``core.masking.mask``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable, Sequence

from tools.synth.truth import RecordTruth

Rect = tuple[float, float, float, float]
FOUND_COVERAGE = 0.90
LINE_HIT_COVERAGE = 0.10


# ------------------------------------------------------------------ geometry
def _area(r: Rect) -> float:
    return max(0.0, r[2] - r[0]) * max(0.0, r[3] - r[1])


def _clip(r: Rect, box: Rect) -> Rect | None:
    x0, y0, x1, y1 = max(r[0], box[0]), max(r[1], box[1]), min(r[2], box[2]), min(r[3], box[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def union_area(rects: Sequence[Rect]) -> float:
    """Exact area of a union of rectangles (coordinate compression)."""
    rects = [r for r in rects if _area(r) > 0]
    if not rects:
        return 0.0
    if len(rects) == 1:
        return _area(rects[0])
    xs = sorted({v for r in rects for v in (r[0], r[2])})
    total = 0.0
    for xa, xb in zip(xs, xs[1:]):
        spans = sorted((r[1], r[3]) for r in rects if r[0] <= xa and r[2] >= xb)
        covered, cur0, cur1 = 0.0, None, None
        for y0, y1 in spans:
            if cur1 is None or y0 > cur1:
                if cur1 is not None:
                    covered += cur1 - cur0
                cur0, cur1 = y0, y1
            else:
                cur1 = max(cur1, y1)
        if cur1 is not None:
            covered += cur1 - cur0
        total += covered * (xb - xa)
    return total


def coverage(target: Rect, rects: Iterable[Rect]) -> float:
    """Share of ``target``'s area covered by the union of ``rects``."""
    a = _area(target)
    if a <= 0:
        return 0.0
    clipped = [c for c in (_clip(r, target) for r in rects) if c]
    return min(1.0, union_area(clipped) / a)


# ------------------------------------------------------------------ findings
def _finding_parts(f) -> tuple[int, str, list[Rect], str]:
    """(page_index, category, rects, detector) of a Finding or its dict."""
    if isinstance(f, dict):
        cat = f.get("category", "")
        return (
            int(f["page_index"]),
            getattr(cat, "value", cat),
            [tuple(r) for r in f.get("rects", [])],
            f.get("detector", ""),
        )
    cat = getattr(f.category, "value", f.category)
    return int(f.page_index), str(cat), [tuple(r) for r in f.rects], str(f.detector)


def _as_corpus(corpus) -> list[RecordTruth]:
    if isinstance(corpus, (str, Path)):
        from tools.synth.corpus import load_corpus

        return load_corpus(corpus)
    if isinstance(corpus, RecordTruth):
        return [corpus]
    return list(corpus)


def _mask(text: str, category: str) -> str:
    try:
        from core.masking import mask
    except ImportError:  # pragma: no cover
        return "*" * len(text)
    return mask(text, category)


# ------------------------------------------------------------------ scoring
def score_record(truth: RecordTruth, findings: Sequence) -> dict:
    """Per-record counts (used by :func:`evaluate`, handy in tests)."""
    by_page: dict[int, list[Rect]] = defaultdict(list)
    parts = [_finding_parts(f) for f in findings]
    for page, _, rects, _ in parts:
        by_page[page].extend(rects)
    scanned = set(truth.scanned_pages)

    recall: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"born_digital": [0, 0], "scanned": [0, 0]})
    missed = []
    truth_by_page: dict[int, list[Rect]] = defaultdict(list)
    for item in truth.identifiers:
        truth_by_page[item.page_index].append(item.rect)
        cov = coverage(item.rect, by_page.get(item.page_index, ()))
        kind = "scanned" if item.page_index in scanned else "born_digital"
        cell = recall[item.category][kind]
        cell[0] += 1
        if cov >= FOUND_COVERAGE:
            cell[1] += 1
        else:
            missed.append(
                {
                    "record": truth.record_id,
                    "page": item.page_index,
                    "category": item.category,
                    "role": item.role,
                    "text": _mask(item.text, item.category),
                    "coverage": round(cov, 2),
                    "scanned": kind == "scanned",
                }
            )

    clin_area = clin_covered = 0.0
    lines_hit = 0
    for line in truth.clinical:
        a = _area(line.rect)
        cov = coverage(line.rect, by_page.get(line.page_index, ()))
        clin_area += a
        clin_covered += cov * a
        lines_hit += cov >= LINE_HIT_COVERAGE

    stray_by_detector: dict[str, int] = defaultdict(int)
    stray_by_category: dict[str, int] = defaultdict(int)
    stray = 0
    for page, cat, rects, detector in parts:
        targets = truth_by_page.get(page, ())
        if not any(_clip(r, t) for r in rects for t in targets):
            stray += 1
            stray_by_detector[detector or "?"] += 1
            stray_by_category[cat or "?"] += 1
    return {
        "recall": {k: dict(v) for k, v in recall.items()},
        "missed": missed,
        "clinical_lines": len(truth.clinical),
        "clinical_area": clin_area,
        "clinical_covered": clin_covered,
        "clinical_lines_hit": lines_hit,
        "findings": len(parts),
        "stray": stray,
        "stray_by_detector": dict(stray_by_detector),
        "stray_by_category": dict(stray_by_category),
    }


def evaluate(analyze_fn: Callable[[str, dict], list], corpus, max_missed: int = 40) -> dict:
    """Run ``analyze_fn`` on each record of ``corpus`` (RecordTruths or a
    corpus folder) and aggregate recall and over-redaction."""
    records = _as_corpus(corpus)
    recall: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"born_digital": [0, 0], "scanned": [0, 0]})
    agg = defaultdict(float)
    stray_det: dict[str, int] = defaultdict(int)
    stray_cat: dict[str, int] = defaultdict(int)
    missed: list[dict] = []
    seconds = 0.0
    pages = scanned_pages = 0
    for truth in records:
        t0 = time.perf_counter()
        findings = analyze_fn(truth.pdf_path, dict(truth.meta))
        seconds += time.perf_counter() - t0
        pages += truth.n_pages
        scanned_pages += len(truth.scanned_pages)
        r = score_record(truth, findings)
        for cat, kinds in r["recall"].items():
            for kind, (total, found) in kinds.items():
                recall[cat][kind][0] += total
                recall[cat][kind][1] += found
        for key in (
            "clinical_lines",
            "clinical_area",
            "clinical_covered",
            "clinical_lines_hit",
            "findings",
            "stray",
        ):
            agg[key] += r[key]
        for k, v in r["stray_by_detector"].items():
            stray_det[k] += v
        for k, v in r["stray_by_category"].items():
            stray_cat[k] += v
        missed.extend(r["missed"])

    per_cat = {}
    tot = fnd = 0
    for cat in sorted(recall):
        kinds = recall[cat]
        t = sum(v[0] for v in kinds.values())
        f = sum(v[1] for v in kinds.values())
        tot, fnd = tot + t, fnd + f
        per_cat[cat] = {
            "total": t,
            "found": f,
            "recall": round(f / t, 4) if t else None,
            "born_digital": _ratio(*kinds["born_digital"]),
            "scanned": _ratio(*kinds["scanned"]),
        }
    return {
        "records": len(records),
        "pages": pages,
        "scanned_pages": scanned_pages,
        "analyze_seconds": round(seconds, 2),
        "recall": per_cat,
        "overall": {"total": tot, "found": fnd, "recall": round(fnd / tot, 4) if tot else None},
        "over_redaction": {
            "clinical_lines": int(agg["clinical_lines"]),
            "clinical_area_covered": round(agg["clinical_covered"] / agg["clinical_area"], 4)
            if agg["clinical_area"]
            else 0.0,
            "clinical_lines_hit": int(agg["clinical_lines_hit"]),
            "findings": int(agg["findings"]),
            "stray_findings": int(agg["stray"]),
            "stray_by_detector": dict(sorted(stray_det.items(), key=lambda kv: -kv[1])),
            "stray_by_category": dict(sorted(stray_cat.items(), key=lambda kv: -kv[1])),
        },
        "missed": missed[:max_missed],
        "missed_total": len(missed),
    }


def _ratio(total: int, found: int) -> dict:
    return {"total": total, "found": found, "recall": round(found / total, 4) if total else None}


# ------------------------------------------------------------------ report
def _pct(v) -> str:
    return "   -  " if v is None else f"{100 * v:5.1f}%"


def format_report(result: dict) -> str:
    if "recall" not in result:
        return str(result)
    lines = [
        f"records {result['records']}, pages {result['pages']} ({result['scanned_pages']} scanned), "
        f"analysis {result['analyze_seconds']} s",
        "",
        f"{'category':<16}{'total':>7}{'found':>7}{'recall':>9}{'born-digital':>14}{'scanned':>10}",
        "-" * 63,
    ]
    for cat, r in result["recall"].items():
        lines.append(
            f"{cat:<16}{r['total']:>7}{r['found']:>7}{_pct(r['recall']):>9}"
            f"{_pct(r['born_digital']['recall']):>14}{_pct(r['scanned']['recall']):>10}"
        )
    o = result["overall"]
    lines += ["-" * 63, f"{'all':<16}{o['total']:>7}{o['found']:>7}{_pct(o['recall']):>9}", ""]
    ov = result["over_redaction"]
    lines += [
        "over-redaction",
        f"  clinical area covered   {_pct(ov['clinical_area_covered'])}  "
        f"({ov['clinical_lines_hit']} of {ov['clinical_lines']} clinical lines ≥ {int(LINE_HIT_COVERAGE * 100)}% covered)",
        f"  stray findings          {ov['stray_findings']} of {ov['findings']} findings overlap no identifier",
    ]
    if ov["stray_by_detector"]:
        lines.append(
            "  stray by detector       " + ", ".join(f"{k} {v}" for k, v in ov["stray_by_detector"].items())
        )
    if result.get("missed"):
        lines += ["", f"missed (first {len(result['missed'])} of {result['missed_total']}, values masked)"]
        for m in result["missed"]:
            lines.append(
                f"  {m['record']} p{m['page'] + 1:<4} {m['category']:<15} {m['role'] or '-':<10} "
                f"{m['text']:<20} cover {m['coverage']:.2f}{'  scanned' if m['scanned'] else ''}"
            )
    return "\n".join(lines)
