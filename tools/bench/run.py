"""``make bench``: speed and memory figures, printed (never asserted).

First the Goals of issue 14 (``tools.bench.goals``), each beside its goal
and the floor measured in the same run; then the figures other areas
publish (text-layer engine ms/page, OCR engine alone, visual recognizers,
review page switch on the server, the browser page switch in Chromium on a
300-page demo case, export).  ``--quick`` (``make bench BENCH_ARGS=--quick``)
scales the big record down to 60 pages and the other runs with it; figures
from it are marked ``[quick]``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
import time

from core.config import settings


def _record(pages: int, scanned: float, seed: int = 11):
    from tools.synth.corpus import build_record

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
    return {
        "pages": n,
        "all_recognizers_ms_per_page": round((t1 - t0) / n * 1000, 1),
        "visual_extra_ms_per_page": round(((t1 - t0) - (t2 - t1)) / n * 1000, 1),
    }


OPTIONAL = [
    ("OCR engine alone", "tools.bench.ocr", "bench_ocr"),
    ("visual recognizers", "tools.eval.visual", "bench_visual"),
    ("review page (import+detect, page switch)", "tools.bench.review", "bench_review"),
    ("browser page switch, preparer (issue 13: p95 ≤ 300 ms)", "tools.bench.browser", "bench_browser_switch"),
    ("export", "tools.bench.export", "bench_export"),
]
QUICK_KWARGS = {
    "bench_ocr": {"n_pages": 2},
    "bench_review": {"pages": 40},
    "bench_browser_switch": {"pages": 40, "switches": 30},
    "bench_export": {"pages": 60, "full_ocr": False},
    "bench_visual": {"pages_per_kind": 1},
}


def _print(title: str, result) -> None:
    print(f"\n== {title} ==", flush=True)
    if isinstance(result, dict) and isinstance(result.get("report"), str):
        print(result["report"])
    elif isinstance(result, dict):
        for k, v in result.items():
            print(f"  {k:32s} {v}")
    elif result is not None:
        print(f"  {result}")
    sys.stdout.flush()


def header(quick: bool) -> str:
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    mode = "QUICK (figures marked [quick]; the big record is scaled down)" if quick else "full"
    return (
        f"machine: {os.cpu_count()} cores, load average {load} (1/5/15 min); python {sys.version.split()[0]}; "
        f"workers {settings().workers}, OCR threads {settings().ocr_threads}; mode {mode}"
    )


def goals(quick: bool, record_pages: int) -> list:
    """Every figure of issue 14's Goals, printed as it is measured."""
    from tools.bench import goals as g

    steps = [
        ("CLI born-digital (20-page record)", lambda: g.cli_born_digital(20)),
        ("text-layer trust cross-check", lambda: g.trust_cross_check(20)),
        ("dense scanned pages", lambda: g.dense_scanned(3 if quick else 5)),
        (f"{record_pages}-page mixed record", lambda: g.mixed_record(record_pages)),
    ]
    tag = " [quick]" if quick else ""
    figures = []
    for title, run in steps:
        print(f"\n== goal: {title}{tag} (load {os.getloadavg()[0]:.1f}) ==", flush=True)
        t0 = time.perf_counter()
        try:
            found = run()
        except Exception as exc:  # one broken figure must not hide the others
            print(f"  failed: {type(exc).__name__}: {exc}")
            continue
        if quick and record_pages != 300:
            for f in found:
                if f.name.startswith(f"{record_pages}-page") and f.unit == "s":
                    f.goal = round(f.goal * record_pages / 300, 1)
                    f.note += f" (goal scaled to {record_pages}/300 pages)"
        for f in found:
            if quick:
                f.name += " [quick]"
            print(f.line(), flush=True)
        print(f"  ({time.perf_counter() - t0:.0f} s)")
        figures += found
    return figures


def summary(figures: list, quick: bool) -> None:
    print("\n== Goals (issue 14) summary" + (" [quick]" if quick else "") + " ==")
    for f in figures:
        print(f"  {'met  ' if f.met else 'SHORT'} {f.name:52s} {f.value:9.3g} {f.unit} (goal ≤ {f.goal:g})")
    print(f"  load average now {os.getloadavg()[0]:.1f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tools.bench.run", description="print speed and memory figures"
    )
    ap.add_argument("--pages", type=int, default=300, help="size of the big mixed record (default 300)")
    ap.add_argument(
        "--quick", action="store_true", help="a run of a few minutes: 60-page record, small side runs"
    )
    ap.add_argument("--goals-only", action="store_true", help="only the Goals of issue 14")
    args = ap.parse_args(argv)
    record_pages = 60 if args.quick and args.pages == 300 else args.pages
    print(header(args.quick), flush=True)
    figures = goals(args.quick, record_pages)
    if not args.goals_only:
        side(args.quick)
    summary(figures, args.quick)
    return 0


def side(quick: bool) -> None:
    pages = 40 if quick else 300
    tag = " [quick]" if quick else ""
    _print(f"born-digital, {pages} pages, text recognizers, in process{tag}", bench_born_digital(pages))
    _print(f"born-digital with visual recognizers{tag}", bench_with_visual(10 if quick else 30))
    for title, module, func in OPTIONAL:
        try:
            fn = getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError):
            continue
        params = inspect.signature(fn).parameters
        kwargs = {"verbose": False} if "verbose" in params else {}
        if quick:
            kwargs.update({k: v for k, v in QUICK_KWARGS.get(func, {}).items() if k in params})
        try:
            _print(title + tag, fn(**kwargs))
        except Exception as exc:  # a broken optional bench must not hide the others
            _print(title, f"failed: {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
