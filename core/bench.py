"""``make bench``: speed and memory figures, printed (never asserted).

- born-digital: ms/page to analyse + redact a synthetic 300-page record
  (text layer only) — target ≤ 50 ms/page;
- scanned: s/page with OCR on rasterised pages — target ≤ 1.5 s/page;
- peak memory (RSS) of one process redacting the 300-page record end to
  end through the CLI — target ≤ 1.5 GB;
- plus the figures other areas publish (visual recognizers, review page
  switch, export) when their modules are present.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.config import PROJECT_ROOT, settings


def _record(pages: int, scanned: float, seed: int = 11):
    from core.synth.corpus import build_record

    return build_record(pages=pages, seed=seed, scanned=scanned)


def bench_born_digital(pages: int = 300) -> dict:
    from core.engine import analyze_document, redact_document

    t0 = time.perf_counter()
    doc, truth = _record(pages, 0.0)
    gen = time.perf_counter() - t0
    t1 = time.perf_counter()
    analysis = analyze_document(doc, truth.meta, ocr=False, recognizers=_text_recognizers())
    t2 = time.perf_counter()
    _, report, plan = redact_document(doc, analysis.findings, seeds=analysis.seeds)
    t3 = time.perf_counter()
    n = doc.page_count
    return {
        "pages": n,
        "generate_s": round(gen, 1),
        "analyze_ms_per_page": round((t2 - t1) / n * 1000, 1),
        "redact_verify_ms_per_page": round((t3 - t2) / n * 1000, 1),
        "total_ms_per_page": round((t3 - t1) / n * 1000, 1),
        "verified": report.ok,
    }


def _text_recognizers():
    from core.detect.registry import load_default_recognizers

    return [r.name for r in load_default_recognizers() if r.kind != "visual" and r.name != "repeated_logo"]


def bench_with_visual(pages: int = 30) -> dict:
    from core.engine import analyze_document

    doc, truth = _record(pages, 0.0, seed=12)
    t0 = time.perf_counter()
    analyze_document(doc, truth.meta, ocr=False)
    t1 = time.perf_counter()
    analyze_document(doc, truth.meta, ocr=False, recognizers=_text_recognizers())
    t2 = time.perf_counter()
    n = doc.page_count
    return {"pages": n, "all_recognizers_ms_per_page": round((t1 - t0) / n * 1000, 1),
            "visual_extra_ms_per_page": round(((t1 - t0) - (t2 - t1)) / n * 1000, 1)}


def bench_scanned(pages: int = 6) -> dict:
    from core.engine import analyze_document

    os.environ["DEID_OCR_CACHE_DIR"] = tempfile.mkdtemp(prefix="ocr-bench-")
    doc, truth = _record(pages, 1.0, seed=13)
    t0 = time.perf_counter()
    a = analyze_document(doc, truth.meta, ocr=True)
    t1 = time.perf_counter()
    analyze_document(doc, truth.meta, ocr=True)
    t2 = time.perf_counter()
    n = doc.page_count
    return {"pages": n, "scanned_pages": sum(p.scanned for p in a.pages),
            "s_per_page_first_run": round((t1 - t0) / n, 2), "s_per_page_cached": round((t2 - t1) / n, 3)}


def bench_peak_memory(pages: int = 300) -> dict:
    """Redact a 300-page record (20 % scanned) through the CLI in a child
    process; report its peak RSS."""
    from core.synth.corpus import make_record

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "record.pdf"
        truth = make_record(src, pages=pages, seed=14, scanned=0.2)
        t0 = time.perf_counter()
        env = dict(os.environ, DEID_OCR_CACHE_DIR=str(Path(tmp) / "cache"))
        code = (
            "import resource, sys; from core.cli import main; rc = main(sys.argv[1:]); "
            "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)"
        )
        r = subprocess.run([sys.executable, "-c", code, "redact", str(src), "-o", str(Path(tmp) / "out.pdf"),
                            "--meta", str(src.with_suffix(".case.json"))], cwd=PROJECT_ROOT, env=env,
                           capture_output=True, text=True)
        secs = time.perf_counter() - t0
        line = next((l.split() for l in r.stdout.splitlines() if l.startswith("MAXRSS")), ["", "0", "0"])
        main_mb, worker_mb = int(line[1]) / 1024, int(line[2]) / 1024
        workers = settings().workers
        return {"pages": pages, "exit_code": r.returncode, "wall_s": round(secs, 1),
                "s_per_page": round(secs / pages, 2), "peak_rss_main_mb": round(main_mb, 1),
                "peak_rss_largest_worker_mb": round(worker_mb, 1),
                f"peak_total_bound_mb (main + {workers} workers)": round(main_mb + workers * worker_mb, 1)}


OPTIONAL = [
    ("OCR engine alone", "core.ocr.bench_ocr", "bench_ocr"),
    ("visual recognizers", "core.eval_visual", "bench_visual"),
    ("review page (import+detect, page switch)", "core.review_bench", "bench_review"),
    ("export", "core.export.bench", "bench_export"),
]


def _print(title: str, result) -> None:
    print(f"\n== {title} ==")
    if isinstance(result, dict) and isinstance(result.get("report"), str):
        print(result["report"])
    elif isinstance(result, dict):
        for k, v in result.items():
            print(f"  {k:32s} {v}")
    elif result is not None:
        print(f"  {result}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.bench", description="print speed and memory figures")
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="smaller runs (for a smoke check)")
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args(argv)
    pages = 40 if args.quick else args.pages
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    _print(f"born-digital, {pages} pages, text recognizers (target ≤ 50 ms/page)", bench_born_digital(pages))
    _print("born-digital with visual recognizers", bench_with_visual(10 if args.quick else 30))
    _print("scanned pages with OCR, 2 worker processes (target ≤ 1.5 s/page)", bench_scanned(4 if args.quick else 12))
    if not args.skip_memory:
        _print(f"peak memory, CLI on a {pages}-page record, 20 % scanned (target ≤ 1.5 GB)", bench_peak_memory(pages))
    for title, module, func in OPTIONAL:
        try:
            fn = getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError):
            continue
        kwargs = {"verbose": False} if "verbose" in inspect.signature(fn).parameters else {}
        try:
            _print(title, fn(**kwargs))
        except Exception as exc:  # a broken optional bench must not hide the others
            _print(title, f"failed: {type(exc).__name__}: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
