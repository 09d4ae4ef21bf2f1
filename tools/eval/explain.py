"""Which findings made each miss or over-redaction of a scored run (synthetic eval corpora only).

    python -m tools.eval.explain TRUTH_DIR RUN_DIR [--kinds mo] [--records rid,rid]

Re-runs detection on every record that has a miss (m) or a lost clinical item (o) in ``RUN_DIR/result.json``
(written by eval-dev's scorer) and prints, per item, the findings whose boxes touch it: detector, category,
text and box.  An over-redacted item that no finding touches points at the redaction step itself (glyphs that
moved, a box that removed a neighbouring glyph).  The corpora are generated, so their values are printed.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

import pymupdf

from core.engine import analyze_document


def _touch(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def explain(truth_dir: Path, run_dir: Path, kinds: str = "mo", records: list[str] | None = None):
    result = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    by_rid = collections.defaultdict(list)
    for kind, key in (("MISS", "misses"), ("OVER", "over_redacted")):
        if kind[0].lower() in kinds:
            for item in result[key]:
                by_rid[item["rid"]].append((kind, item))
    for rid, items in sorted(by_rid.items()):
        if records and rid not in records:
            continue
        doc = pymupdf.open(truth_dir / f"{rid}.pdf")
        meta = json.loads((truth_dir / f"{rid}.case.json").read_text(encoding="utf-8"))
        findings = analyze_document(doc, meta, workers=1).findings
        for kind, it in items:
            bb = it["bbox"]
            near = [f for f in findings if f.page_index == it["page"] and any(_touch(r, bb) for r in f.rects)]
            desc = "; ".join(
                f"{f.detector}/{f.category.value}:{f.text!r} "
                f"{[tuple(round(v) for v in r) for r in f.rects if _touch(r, bb)]}"
                for f in near
            )
            yield (
                f"{kind} {rid} p{it['page']} {it['split'][:4]} [{it['category']}] {it.get('text')!r} "
                f"bb={[round(v) for v in bb]} sim={it['sim']} <- {desc}"
            )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.eval.explain", description=__doc__.splitlines()[0])
    ap.add_argument("truth", type=Path)
    ap.add_argument("run", type=Path)
    ap.add_argument("--kinds", default="mo", help="m: misses, o: over-redacted items")
    ap.add_argument("--records", default="", help="comma-separated record ids")
    a = ap.parse_args(argv)
    for line in explain(a.truth, a.run, a.kinds, [r for r in a.records.split(",") if r] or None):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
