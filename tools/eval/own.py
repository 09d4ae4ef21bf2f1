"""``make eval``: detection quality figures, printed.

1. Synthetic records with ground truth (``tools.synth``): recall per
   category and over-redaction (clinical-line area covered, stray findings),
   born-digital and scanned.
2. Person names and addresses on public NER dev sets in ``../shared/data``
   (CLUENER), and false alarms on clinical sentences (CMeEE), for the text
   recognizers alone (no case seeding: the hardest setting).
3. Visual identifiers (signatures, seals, codes …) on generated pages.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from core.config import PROJECT_ROOT
from core.detect.base import AnalysisContext, PageInput
from core.detect.registry import load_default_recognizers
from core.models import Char, PageText

SHARED = PROJECT_ROOT.parent / "shared" / "data"


def sentence_page(text: str) -> PageInput:
    chars = [Char(c, (i * 10.0, 0.0, i * 10.0 + 10.0, 10.0)) for i, c in enumerate(text)]
    return PageInput(0, None, PageText.from_lines(0, 10.0 * max(1, len(text)), 10.0, [chars]))  # type: ignore[arg-type]


def run_text_recognizers(
    text: str, names=("label_fields", "person_names", "address", "institutions", "workplaces")
):
    recs = [r for r in _recognizers(names)]
    page, ctx = sentence_page(text), AnalysisContext()
    out = []
    for r in recs:
        out += r.analyze(page, ctx)
    return out


_CACHE: dict = {}


def _recognizers(names):
    key = tuple(names)
    if key not in _CACHE:
        _CACHE[key] = load_default_recognizers(names)
    return _CACHE[key]


def _spans(findings, categories):
    out = set()
    for f in findings:
        if f.category.value in categories:
            for r in f.rects:
                out.add((int(r[0] // 10), int(r[2] // 10)))
    return out


def eval_cluener(limit: int | None = None) -> dict:
    path = SHARED / "ner-dev" / "cluener_dev.json"
    if not path.exists():
        return {"skipped": "cluener_dev.json not found"}
    person = {"name_truth": 0, "name_found": 0, "pred": 0, "pred_correct": 0}
    addr = {"truth": 0, "found": 0}
    persons = {"patient_name", "relative_name", "doctor_name", "nurse_name", "staff_name", "person_name"}
    lines = path.read_text(encoding="utf-8").splitlines()[:limit]
    for line in lines:
        row = json.loads(line)
        text = row["text"]
        findings = run_text_recognizers(text)
        pred = _spans(findings, persons)
        truth = [(s, e + 1) for surf, spans in row["label"].get("name", {}).items() for s, e in spans]
        person["name_truth"] += len(truth)
        person["name_found"] += sum(1 for t in truth if any(p[0] <= t[0] and p[1] >= t[1] for p in pred))
        person["pred"] += len(pred)
        person["pred_correct"] += sum(1 for p in pred if any(p[0] < t[1] and t[0] < p[1] for t in truth))
        atruth = [(s, e + 1) for surf, spans in row["label"].get("address", {}).items() for s, e in spans]
        apred = _spans(findings, {"address"})
        addr["truth"] += len(atruth)
        addr["found"] += sum(1 for t in atruth if any(p[0] < t[1] and t[0] < p[1] for p in apred))
    return {
        "sentences": len(lines),
        "person_recall": person["name_found"] / max(1, person["name_truth"]),
        "person_precision": person["pred_correct"] / max(1, person["pred"]),
        "address_overlap_recall": addr["found"] / max(1, addr["truth"]),
    }


PERSON_TAGS = {"resume_dev.bmes": "NAME", "weibo_dev.conll": "PER.NAM"}  # person entities, by set


def tagged_sentences(path: Path):
    """(text, tags) per sentence of a character-per-line BMES / BIO file."""
    chars: list[str] = []
    tags: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        parts = line.split()
        if not parts:
            if chars:
                yield "".join(chars), tags
            chars, tags = [], []
            continue
        chars.append(parts[0][0])
        tags.append(parts[-1])


def entity_spans(tags: list[str], entity: str) -> list[tuple[int, int]]:
    out, start = [], None
    for i, tag in enumerate(tags + ["O"]):
        prefix, _, kind = tag.partition("-")
        if kind != entity or prefix in ("B", "S"):
            if start is not None:
                out.append((start, i))
            start = i if kind == entity else None
        if kind == entity and prefix in ("E", "S"):
            out.append((start if start is not None else i, i + 1))
            start = None
    return out


def eval_person_ner(name: str) -> dict:
    """Person recall (a name counts when one finding covers it) and the share of person findings that
    touch a tagged person, on a public NER set."""
    path = SHARED / "ner-dev" / name
    if not path.exists():
        return {"skipped": f"{name} not found"}
    persons = {"patient_name", "relative_name", "doctor_name", "nurse_name", "staff_name", "person_name"}
    truth_n = found = pred_n = correct = 0
    for text, tags in tagged_sentences(path):
        truth = entity_spans(tags, PERSON_TAGS[name])
        pred = _spans(run_text_recognizers(text), persons)
        truth_n += len(truth)
        found += sum(1 for t in truth if any(p[0] <= t[0] and p[1] >= t[1] for p in pred))
        pred_n += len(pred)
        correct += sum(1 for p in pred if any(p[0] < t[1] and t[0] < p[1] for t in truth))
    return {
        "persons": truth_n,
        "person_recall": found / max(1, truth_n),
        "person_precision": correct / max(1, pred_n),
    }


def eval_cmeee(limit: int | None = 2000) -> dict:
    path = SHARED / "clinical-dev" / "cmeee_v2_dev.json"
    if not path.exists():
        return {"skipped": "cmeee_v2_dev.json not found"}
    rows = json.loads(path.read_text(encoding="utf-8"))[:limit]
    flagged = {"person": 0, "address": 0, "institution": 0, "any": 0}
    chars_flagged = chars = 0
    for row in rows:
        text = row["text"]
        findings = run_text_recognizers(text)
        cats = {f.category.value for f in findings}
        flagged["person"] += any(c.endswith("_name") for c in cats)
        flagged["address"] += "address" in cats
        flagged["institution"] += "institution" in cats
        flagged["any"] += bool(findings)
        chars += len(text)
        chars_flagged += sum(int((r[2] - r[0]) // 10) for f in findings for r in f.rects)
    n = max(1, len(rows))
    return {
        "sentences": len(rows),
        **{f"{k}_flag_rate": v / n for k, v in flagged.items()},
        "chars_hidden_share": chars_flagged / max(1, chars),
    }


def eval_synthetic(n_records: int = 4, seed: int = 7, scanned_ratio: float = 0.25) -> dict:
    try:
        from tools.synth.corpus import make_corpus
        from tools.synth.evaluate import evaluate
    except ImportError as exc:
        return {"skipped": f"synthetic corpus unavailable ({exc.name})"}
    from core.engine import analyze_document
    from core.pdf.open import open_pdf

    def analyze(pdf_path, meta):
        return analyze_document(open_pdf(pdf_path), meta).findings

    with tempfile.TemporaryDirectory() as tmp:
        corpus = make_corpus(Path(tmp), n_records, seed, scanned_ratio)
        return evaluate(analyze, corpus)


def eval_visual() -> dict:
    try:
        from tools.eval.visual import evaluate_visual
    except ImportError as exc:
        return {"skipped": f"visual evaluation unavailable ({exc.name})"}
    return evaluate_visual(verbose=False)


def _print(title: str, result: dict) -> None:
    print(f"\n== {title} ==")
    if "report" in result and isinstance(result["report"], str):
        print(result["report"])
        return
    for k, v in result.items():
        print(f"  {k:28s} {v:.3f}" if isinstance(v, float) else f"  {k:28s} {v}")


def build_parser(prog: str = "python -m tools.eval.own") -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description="print detection quality figures")
    ap.add_argument("--records", type=int, default=4, help="synthetic records to generate")
    ap.add_argument("--quick", action="store_true", help="subsample the public sets")
    return ap


def report(records: int = 4, quick: bool = False) -> dict:
    """Print every section; return the synthetic-records result (for ``tools.eval.run``'s summary)."""
    t0 = time.time()
    syn = eval_synthetic(records)
    if "skipped" not in syn:
        try:
            from tools.synth.evaluate import format_report

            print("\n== synthetic records (ground truth) ==")
            print(format_report(syn))
        except ImportError:
            _print("synthetic records (ground truth)", syn)
    else:
        _print("synthetic records (ground truth)", syn)
    _print(
        "CLUENER dev: person names / addresses (text recognizers, no seeding)",
        eval_cluener(300 if quick else None),
    )
    _print("MSRA resume NER dev: person names in biographies", eval_person_ner("resume_dev.bmes"))
    _print("Weibo NER dev: person names (nicknames, social media)", eval_person_ner("weibo_dev.conll"))
    _print("CMeEE clinical sentences: false alarms", eval_cmeee(500 if quick else 2000))
    vis = eval_visual()
    _print("visual identifiers", vis)
    print(f"\n(eval took {time.time() - t0:.1f} s)")
    return syn


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    report(args.records, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
