"""``make eval``: the CLI measured on four corpora, printed side by side.

    python -m tools.eval.run [--only abcd] [--quick] [--records N]

(a) ../shared/eval-dev: another generator's records, scored by its own scorer (run_tool.py).
(b) real EMR print layouts (tools.eval.real_layouts), scored by the same scorer.
(c) public barcode / QR samples on record pages (tools.eval.codes), same scorer.
(d) the project's own generator and the public NER sets (tools.eval.own).
(h) held-out EMR print layouts of other HIS projects (sources.json "set": "heldout"), same builder and scorer;
    not in the default run: a check of classes of misses, not a figure to tune to.
(i) a second held-out set ("set": "heldout2"): four more projects' print pages (传染病报告卡, 出院记录, 检验报告单,
    染色体核型分析报告) filled from its own word lists (vocab_i.json); opt-in like (h).
(j) a third held-out set ("set": "heldout3"): maternal and newborn pages of three more projects (分娩记录 with its
    新生儿情况, 孕产妇保健手册, 生育服务证, 死亡登记), own word lists (vocab_j.json); opt-in like (h).
The scorer stays in ../shared/eval-dev (it is not part of this tree); without it (a)-(c) are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tools.eval.templates import CACHE, ROOT

EVAL_DEV = Path(os.environ.get("EVAL_DEV_DIR", ROOT.parent / "shared" / "eval-dev"))
CODE_CATS = ("qr_code", "barcode")
CLI = "{py} -m core.cli redact {{in}} -o {{out}} --meta {{meta}}"


def run_scorer(truth: Path, out: Path) -> dict:
    """Run the CLI over every record with eval-dev's run_tool.py; print its table; return result.json."""
    cmd = [
        sys.executable,
        str(EVAL_DEV / "run_tool.py"),
        "--truth",
        str(truth),
        "--out",
        str(out),
        "--cwd",
        str(ROOT),
        "--cmd",
        CLI.format(py=sys.executable),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, env=env, cwd=ROOT)
    result = out / "result.json"
    if proc.returncode != 0 or not result.exists():
        return {"skipped": f"scorer failed (exit {proc.returncode})"}
    return json.loads(result.read_text(encoding="utf-8"))


def code_recall(result: dict, split: str = "all") -> float | None:
    cells = [result.get("recall_by_category", {}).get(c, {}).get(split) for c in CODE_CATS]
    good, n = sum(c[0] for c in cells if c), sum(c[1] for c in cells if c)
    return good / n if n else None


def corpus_a(out: Path, args) -> dict:
    return run_scorer(EVAL_DEV / "records", out / "eval-dev")


def _layout_corpus(out: Path, name: str, label: str, **build_args) -> dict:
    """Build (or reuse) one print-layout corpus and score the CLI on it."""
    from tools.eval.real_layouts import build, build_cached

    folder, info = build_cached(name, build, **build_args)
    _describe(label, folder, info)
    return run_scorer(folder, out / name)


def corpus_b(out: Path, args) -> dict:
    return _layout_corpus(
        out, "real_layouts", "real layouts", records=args.records_b, seed=2024, scanned_ratio=0.2
    )


def corpus_h(out: Path, args) -> dict:
    return _layout_corpus(
        out,
        "heldout_layouts",
        "held-out layouts",
        records=args.records_h,
        seed=4242,
        scanned_ratio=0.2,
        prefix="ho",
        doc_set="heldout",
    )


def corpus_i(out: Path, args) -> dict:
    return _layout_corpus(
        out,
        "heldout2_layouts",
        "held-out layouts (i)",
        records=args.records_i,
        seed=9191,
        scanned_ratio=0.25,
        prefix="hi",
        doc_set="heldout2",
    )


def corpus_j(out: Path, args) -> dict:
    return _layout_corpus(
        out,
        "heldout3_layouts",
        "held-out layouts (j)",
        records=args.records_j,
        seed=3131,
        scanned_ratio=0.25,
        prefix="hj",
        doc_set="heldout3",
    )


def corpus_c(out: Path, args) -> dict:
    from tools.eval.codes import build_codes
    from tools.eval.real_layouts import build_cached

    folder, info = build_cached("codes", build_codes, records=args.records_c, seed=77, scanned_ratio=0.25)
    _describe("codes", folder, info)
    return run_scorer(folder, out / "codes")


def corpus_d(out: Path, args) -> dict:
    from tools.eval.own import report

    syn = report(args.records, args.quick)
    if "skipped" in syn:
        return syn
    return {"synthetic": syn}


def _describe(name: str, folder: Path, info: dict) -> None:
    print(f"{name}: {info['records']} records, {info['pages']} pages in {folder}")
    if info.get("missing_sources"):
        print(
            f"  templates not available here (recipe sources; see tools/eval/data/README.md): "
            f"{', '.join(info['missing_sources'])}"
        )
    if info.get("unlocated"):
        print(f"  WARNING: {info['unlocated']} planted values could not be located in the printed PDFs")


CORPORA = {
    "a": ("(a) eval-dev (other generator)", corpus_a),
    "b": ("(b) real EMR layouts", corpus_b),
    "c": ("(c) public QR / barcodes", corpus_c),
    "d": ("(d) own generator", corpus_d),
    "h": ("(h) held-out EMR layouts", corpus_h),
    "i": ("(i) held-out layouts, 2nd set", corpus_i),
    "j": ("(j) held-out layouts, 3rd set", corpus_j),
}


def summary_row(key: str, result: dict) -> str:
    name = CORPORA[key][0]
    if "skipped" in result:
        return f"  {name:34s} skipped: {result['skipped']}"
    if "synthetic" in result:
        syn = result["synthetic"]
        over = syn["over_redaction"]["clinical_area_covered"]
        return (
            f"  {name:34s} {syn['records']:>4} {syn['pages']:>5} {_pct(syn['overall']['recall']):>7} {'-':>7} {'-':>7}"
            f" {'-':>6} {_pct(over):>7} {'-':>7}   (own truth, coverage-based)"
        )
    s = result["summary"]
    return (
        f"  {name:34s} {s['records']:>4} {s['pages']:>5} {_pct(s['recall']):>7} {_pct(s['recall_electronic']):>7}"
        f" {_pct(s['recall_scanned']):>7} {s['leaks']:>6} {_pct(s['over']):>7} {_pct(code_recall(result)):>7}"
    )


def _pct(v) -> str:
    return "-" if v is None or v != v else f"{100 * v:.1f}%"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.eval.run", description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="abcd", help="which corpora, e.g. 'bc'")
    ap.add_argument("--records", type=int, default=4, help="own-generator records (d)")
    ap.add_argument("--records-b", type=int, default=20, help="real-layout records (b)")
    ap.add_argument(
        "--records-h", type=int, default=10, help="held-out layout records (h, only with --only h)"
    )
    ap.add_argument(
        "--records-i", type=int, default=10, help="second held-out set records (i, only with --only i)"
    )
    ap.add_argument(
        "--records-j", type=int, default=10, help="third held-out set records (j, only with --only j)"
    )
    ap.add_argument("--records-c", type=int, default=8, help="code records (c)")
    ap.add_argument("--quick", action="store_true", help="fewer records everywhere, subsampled public sets")
    ap.add_argument("--out", type=Path, default=CACHE / "runs" / time.strftime("%Y%m%d-%H%M%S"))
    args = ap.parse_args(argv)
    if args.quick:
        args.records_b, args.records_c, args.records = (
            min(args.records_b, 6),
            min(args.records_c, 3),
            min(args.records, 2),
        )
    results = {}
    for key in args.only:
        title, fn = CORPORA[key]
        print(f"\n#################### {title} ####################", flush=True)
        if key in "abchij" and not (EVAL_DEV / "score.py").exists():
            results[key] = {"skipped": f"{EVAL_DEV} not found (its scorer scores corpora a-c)"}
            print(results[key]["skipped"])
            continue
        results[key] = fn(args.out, args)
    print("\n==================== side by side ====================")
    print(
        f"  {'corpus':34s} {'rec':>4} {'pages':>5} {'recall':>7} {'born-d':>7} {'scanned':>7} {'leaks':>6} {'over':>7} {'codes':>7}"
    )
    for key in args.only:
        print(summary_row(key, results[key]))
    print(
        f"  (recall: PII regions made unreadable; leaks: PII strings left in text/metadata; over: clinical items "
        f"lost; outputs in {args.out})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
