"""Bench of the case workflow (called by ``tools.bench.run``; also ``python -m tools.bench.review``).

Import + detection time of one demo case (300 pages, 20 % scanned by
default) through the same functions the huey worker runs, render caching,
and the review page's server-side page-switch latency (open page + cached
render + findings with pixel boxes; target ≤ 300 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path


def _case(out: Path, pages: int, scanned: float) -> str:
    from tools.synth.demo_archive import CasePlan, build_case

    plan = CasePlan("C20259999", _scenario(), pages, scanned, datetime(2025, 3, 1, 9), 4242)
    build_case(plan, out)
    return plan.case_id


def _scenario() -> str:
    from tools.synth.clinical import SCENARIOS

    return SCENARIOS[0].key


def bench_review(pages: int = 300, scanned: float = 0.2, switches: int = 40) -> dict:
    keep = {k: os.environ.get(k) for k in ("DEID_DATA_DIR", "DEID_ARCHIVE_DIR", "DEID_DB", "DEID_KEY_FILE")}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DEID_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["DEID_ARCHIVE_DIR"] = str(Path(tmp) / "archive")
        for k in ("DEID_DB", "DEID_KEY_FILE"):
            os.environ.pop(k, None)
        try:
            return _run(Path(tmp) / "archive", pages, scanned, switches)
        finally:
            for k, v in keep.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _run(archive_dir: Path, pages: int, scanned: float, switches: int) -> dict:
    from core.cases import review
    from core.archive import FolderArchive
    from core.cases.processing import run_detect, run_import
    from core.store import documents as doc_store
    from core.store import findings as finding_store
    from core.store import jobs
    from core.store.db import open_db

    t0 = time.perf_counter()
    case_id = _case(archive_dir, pages, scanned)
    t_build = time.perf_counter() - t0
    db = open_db()
    t0 = time.perf_counter()
    assert run_import(db, jobs.create(db, case_id, "import"), FolderArchive(archive_dir), case_id)
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    assert run_detect(db, jobs.create(db, case_id, "detect"), case_id)
    t_detect = time.perf_counter() - t0
    t0 = time.perf_counter()
    review.warm_renders(db, case_id)
    t_render = time.perf_counter() - t0
    user = {"username": "bench", "role": "preparer"}
    page_ids = [p["id"] for p in review.pages(db, case_id)]
    n_pages = len(page_ids)
    cached, cold = [], []
    review.forget_cached_renders()
    for pid in page_ids[:switches]:  # disk cache only (memory cache cleared): a fresh server process
        t = time.perf_counter()
        review.open_page(db, user, pid)
        review.display_image(db, pid)
        review.findings_view(db, pid)
        cold.append((time.perf_counter() - t) * 1000)
    for pid in page_ids[:switches]:  # memory cache warm: going back and forth
        t = time.perf_counter()
        review.open_page(db, user, pid)
        review.display_image(db, pid)
        review.findings_view(db, pid)
        cached.append((time.perf_counter() - t) * 1000)
    failed = doc_store.failed_page_count(db, case_id)
    boxes = finding_store.count_for_case(db, case_id)

    def p95(xs):
        return round(sorted(xs)[int(0.95 * (len(xs) - 1))], 1)

    return {
        "pages": n_pages,
        "scanned_share": scanned,
        "build_demo_case_s": round(t_build, 1),
        "import_s": round(t_import, 1),
        "detect_s": round(t_detect, 1),
        "import_plus_detect_s": round(t_import + t_detect, 1),
        "detect_s_per_page": round(t_detect / max(n_pages, 1), 2),
        "render_cache_s": round(t_render, 1),
        "failed_pages": failed,
        "findings": boxes,
        "page_switch_ms_median (disk cache)": round(statistics.median(cold), 1),
        "page_switch_ms_p95 (disk cache)": p95(cold),
        "page_switch_ms_median (memory cache)": round(statistics.median(cached), 1),
        "page_switch_ms_p95 (memory cache)": p95(cached),
        "target_page_switch_ms": 300,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench.review")
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--scanned", type=float, default=0.2)
    args = ap.parse_args(argv)
    for k, v in bench_review(args.pages, args.scanned).items():
        print(f"  {k:40s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
