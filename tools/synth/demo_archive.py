"""Build the bundled demo archive (folder-archive format, fake patients only).

    python -m tools.synth.demo_archive --out data/demo_archive [--cases 8] [--seed N]

Writes ``<out>/<case_folder>/manifest.json`` plus one PDF per document
(``d01.pdf`` …) for each case, and the ground truth of every case in
``<out>/_truth/<case_folder>.truth.json`` (no manifest there, so archive
readers skip it).  Cases come from 产科, 新生儿科, 儿科, 重症医学科 and
儿童重症监护室, discharged across 2024–2025, review types 儿童死亡评审 /
孕产妇危重症评审, 30–80 pages each and one of about 300 pages; about a third
of the documents are scanned (image-only pages), one case entirely.
Case folder names carry only the case number.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tools.synth.clinical import SCENARIOS
from tools.synth.corpus import assemble, build_documents, case_meta, make_context

MANIFEST = "manifest.json"
TRUTH_DIR = "_truth"


@dataclass
class CasePlan:
    case_id: str
    scenario: str
    pages: int
    scanned: float
    admission: datetime
    seed: int


def plan_cases(n_cases: int = 8, seed: int = 2024) -> list[CasePlan]:
    """One case per scenario (cycling), admissions spread over 2024–2025,
    one long case (~300 pages), one fully scanned case."""
    rng = random.Random(seed)
    plans = []
    start = datetime(2024, 1, 8, 9)
    span_days = 690
    long_index = 2 % max(1, n_cases)
    scanned_index = 5 % max(1, n_cases) if n_cases > 1 else -1
    for i in range(n_cases):
        sc = SCENARIOS[i % len(SCENARIOS)]
        pages = 300 if i == long_index else rng.randint(30, 80)
        scanned = 1.0 if i == scanned_index else rng.choice((0.0, 0.25, 0.35, 0.5))
        if i == long_index:
            scanned = 0.2
        offset = int(span_days * (i + rng.uniform(0.1, 0.9)) / n_cases)
        admission = start + timedelta(days=offset, minutes=rng.randrange(0, 12 * 60))
        case_id = f"C{admission:%Y}{i + 1:04d}"
        plans.append(CasePlan(case_id, sc.key, pages, scanned, admission, seed * 100 + i))
    return plans


def build_case(plan: CasePlan, out_dir: Path) -> dict:
    """Write one case folder; returns a small summary (no identifiers)."""
    t0 = time.perf_counter()
    ctx = make_context(plan.seed, plan.pages, plan.scenario, plan.admission)
    built = build_documents(ctx, plan.pages, plan.scanned, scan_seed=plan.seed * 7919 + 3)
    meta = case_meta(ctx, plan.case_id)
    folder = out_dir / plan.case_id
    folder.mkdir(parents=True, exist_ok=True)
    documents = []
    for i, b in enumerate(built, start=1):
        doc_id = f"d{i:02d}"
        file = f"{doc_id}.pdf"
        b.doc.save(folder / file, garbage=3, deflate=True)
        documents.append({"doc_id": doc_id, "type": b.type, "title": b.title, "date": b.date, "file": file})
    manifest = {"case": meta, "documents": documents}
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    merged, truth = assemble(built, plan.case_id, plan.seed, meta)
    for d, entry in zip(truth.documents, documents):
        d.doc_id, d.file = entry["doc_id"], entry["file"]
    merged.close()
    (out_dir / TRUTH_DIR).mkdir(exist_ok=True)
    truth.save(out_dir / TRUTH_DIR / f"{plan.case_id}.truth.json")
    return {
        "case_id": plan.case_id,
        "department": meta["department"],
        "review_type": meta["review_type"],
        "discharge_date": meta["discharge_date"],
        "documents": len(documents),
        "pages": truth.n_pages,
        "scanned_pages": len(truth.scanned_pages),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _build(args: tuple[CasePlan, Path]) -> dict:
    return build_case(*args)


def build_demo_archive(
    out_dir: str | Path, n_cases: int = 8, seed: int = 2024, clean: bool = True, jobs: int = 1
) -> list[dict]:
    """(Re)build the archive; ``jobs`` > 1 builds cases in that many processes."""
    out_dir = Path(out_dir)
    if clean and out_dir.exists():
        for plan_dir in out_dir.iterdir():  # only what this generator writes
            if plan_dir.is_dir() and ((plan_dir / MANIFEST).is_file() or plan_dir.name == TRUTH_DIR):
                shutil.rmtree(plan_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / TRUTH_DIR).mkdir(exist_ok=True)
    plans = sorted(plan_cases(n_cases, seed), key=lambda p: -p.pages)  # longest first
    if jobs > 1 and len(plans) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            done = list(pool.map(_build, [(p, out_dir) for p in plans]))
    else:
        done = [build_case(p, out_dir) for p in plans]
    return sorted(done, key=lambda s: s["case_id"][5:])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tools.synth.demo_archive",
        description="Build the demo folder archive (synthetic patients only).",
    )
    ap.add_argument("--out", required=True, help="archive folder to (re)build")
    ap.add_argument("--cases", type=int, default=8, help="number of cases (default 8)")
    ap.add_argument("--seed", type=int, default=2024, help="random seed (same seed, same archive)")
    ap.add_argument(
        "--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes (default: up to 2)"
    )
    args = ap.parse_args(argv)
    if args.cases < 1:
        print("--cases must be ≥ 1", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    summary = build_demo_archive(args.out, args.cases, args.seed, jobs=max(1, args.jobs))
    for s in summary:
        print(
            f"{s['case_id']}  {s['department']:<8} {s['review_type']}  出院 {s['discharge_date']}  "
            f"{s['documents']:>2} docs {s['pages']:>3} pages ({s['scanned_pages']} scanned)  {s['seconds']}s"
        )
    total = sum(s["pages"] for s in summary)
    print(f"{len(summary)} cases, {total} pages in {time.perf_counter() - t0:.1f}s -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
