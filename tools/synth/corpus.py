"""Synthetic patient records with ground truth, and corpora of them.

``build_record`` makes one record in memory (a merged PDF and its
:class:`RecordTruth`); ``make_record`` writes it; ``make_corpus`` writes many
(``rec_000.pdf`` + ``rec_000.truth.json`` + ``rec_000.case.json``).
Everything is decided by the seed.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pymupdf

from tools.synth import documents as D
from tools.synth.clinical import SCENARIOS, Scenario
from tools.synth.layout import PageCanvas
from tools.synth.people import make_cast
from tools.synth.scan import scan_document
from tools.synth.truth import ClinicalLine, DocumentTruth, RecordTruth, TruthItem

# when a document type is dated, as a fraction of the stay
DOC_TIME = {
    "住院病案首页": 1.0,
    "出院记录": 1.0,
    "死亡记录": 1.0,
    "死亡病例讨论记录": 1.0,
    "手术同意书": 0.1,
    "术前讨论": 0.08,
    "麻醉记录": 0.12,
    "手术记录": 0.12,
    "病危通知书": 0.05,
    "会诊记录": 0.2,
}
# share of the pages left after the fixed documents, per variable document
GROWTH = {
    "护理记录": 0.25,
    "辅助检查报告": 0.15,
    "医嘱单": 0.08,
    "体温单": 0.04,
    "胎心监护": 0.03,
    "心电图": 0.03,
}


@dataclass
class BuiltDocument:
    type: str
    title: str
    date: str
    doc: pymupdf.Document
    identifiers: list[TruthItem]  # local page indices
    clinical: list[ClinicalLine]
    scanned: bool = False


def pick_scenario(rng: random.Random, key: str | None = None) -> Scenario:
    if key:
        for s in SCENARIOS:
            if key in (s.key, s.department):
                return s
        raise ValueError(f"unknown scenario {key!r}")
    return rng.choice(SCENARIOS)


def make_context(
    seed: int, pages: int, scenario: str | None = None, admission: datetime | None = None
) -> D.RecordContext:
    rng = random.Random(seed)
    sc = pick_scenario(rng, scenario)
    if admission is None:
        admission = datetime(2024, 1, 1, 8) + timedelta(
            days=rng.randrange(0, 700), minutes=rng.randrange(0, 14 * 60)
        )
    stay = min(60, max(2, pages // 8 + rng.randint(1, 5)))
    discharge = admission + timedelta(days=stay, minutes=rng.randrange(0, 600))
    kind = sc.patient_kind
    cast = make_cast(rng, kind, admission.date())
    return D.RecordContext(rng, cast, sc, admission, discharge)


def priority(ctx: D.RecordContext) -> list[str]:
    trace = "胎心监护" if ctx.scenario.patient_kind == "maternal" else "心电图"
    end = "死亡记录" if ctx.died else "出院记录"
    order = [
        "住院病案首页",
        "辅助检查报告",
        "护理记录",
        trace,
        "入院记录",
        "手术同意书",
        end,
        "医嘱单",
        "病危通知书",
        "会诊记录",
        "术前讨论",
        "手术记录",
        "麻醉记录",
        "影像报告",
        "病理报告",
        "体温单",
    ]
    if ctx.died:
        order.append("死亡病例讨论记录")
    if trace == "胎心监护":
        order.append("心电图")
    return order


def _finish(pages: list[PageCanvas]) -> tuple[list[TruthItem], list[ClinicalLine]]:
    for cv in pages:
        cv.finish()
    return [t for cv in pages for t in cv.identifiers], [c for cv in pages for c in cv.clinical]


NARRATIVE_MAX_PAGES = 3


def build_documents(
    ctx: D.RecordContext, pages: int, scanned: float | bool = 0.0, scan_seed: int = 0
) -> list[BuiltDocument]:
    """Documents of one record in catalog order, with exactly ``pages`` pages in total.

    All documents are first rendered into ``ctx.doc`` (one embedded font,
    subset once), the progress notes last so they take up the pages left;
    then each document is copied out (or scanned) into its own PDF.
    """
    pages = max(1, pages)
    work = ctx.doc
    parts: dict[
        str, tuple[int, int, list[TruthItem], list[ClinicalLine]]
    ] = {}  # type -> (first, n, ids, clin)

    def render(doc_type: str, n: int) -> None:
        first = work.page_count
        _, cvs = D.RENDERERS[doc_type][1](ctx, n)
        ids, clin = _finish(cvs)
        parts[doc_type] = (first, work.page_count - first, ids, clin)

    left = pages - 1  # at least one page of progress notes
    chosen_var = []
    for t in priority(ctx):
        if left < 1:
            break
        if D.RENDERERS[t][2]:
            chosen_var.append(t)  # one page reserved now, grown below
            left -= 1
        else:
            render(t, min(NARRATIVE_MAX_PAGES, left))
            left -= parts[t][1]
    extra = left
    for t in chosen_var:
        render(t, 1 + int(extra * GROWTH.get(t, 0.0)))
    render("病程记录", pages - work.page_count)
    work.subset_fonts()
    _turn_some_trace_pages(ctx, work, parts)

    ratio = 1.0 if scanned is True else float(scanned or 0.0)
    scan_rng = random.Random(scan_seed)
    to_scan = _pick_scanned(parts, pages, ratio, scan_rng)
    out = []
    for t in D.CATALOG:
        if t not in parts:
            continue
        first, n, ids, clin = parts[t]
        local_ids = [TruthItem(i.page_index - first, i.category, i.text, i.rect, i.role) for i in ids]
        local_clin = [ClinicalLine(c.page_index - first, c.text, c.rect) for c in clin]
        doc = pymupdf.open()
        doc.insert_pdf(work, from_page=first, to_page=first + n - 1)
        is_scanned = t in to_scan
        if is_scanned:
            doc = scan_document(doc, scan_rng, local_ids, local_clin)
        when = ctx.discharge if t == "住院病案首页" else ctx.moment(DOC_TIME.get(t, 0.0))
        out.append(
            BuiltDocument(
                t, D.RENDERERS[t][0], when.strftime("%Y-%m-%d"), doc, local_ids, local_clin, is_scanned
            )
        )
    return out


def _pick_scanned(parts: dict, pages: int, ratio: float, rng: random.Random) -> set[str]:
    """Document types to rasterise so that about ``ratio`` of the pages are scanned."""
    if ratio <= 0:
        return set()
    if ratio >= 1:
        return set(parts)
    target = ratio * pages
    order = sorted(parts)
    rng.shuffle(order)
    chosen, done = set(), 0
    for t in order:
        n = parts[t][1]
        if done + n <= target + 0.5:
            chosen.add(t)
            done += n
        if done >= target - 0.5:
            break
    if not chosen:  # every document is bigger than the target: scan the smallest
        chosen.add(min(order, key=lambda t: parts[t][1]))
    return chosen


TRACE_TYPES = ("胎心监护", "心电图")


def _turn_some_trace_pages(ctx: D.RecordContext, work: pymupdf.Document, parts: dict) -> None:
    """Store some landscape trace pages turned (``/Rotate`` 90/270), as
    scanners and ECG carts often do.  Truth rects stay in unrotated space."""
    for t in TRACE_TYPES:
        if t not in parts:
            continue
        first, n = parts[t][0], parts[t][1]
        for i in range(first, first + n):
            if ctx.rng.random() < 0.3:
                work[i].set_rotation(ctx.rng.choice((90, 270)))


def case_meta(ctx: D.RecordContext, case_id: str) -> dict:
    p, c, s = ctx.patient, ctx.cast, ctx.scenario
    return {
        "case_id": case_id,
        "patient_id": c.numbers["patient_id"],
        "patient_name": p.name,
        "sex": p.sex,
        "age": p.age,
        "id_number": p.id_number,
        "inpatient_no": c.numbers["inpatient_no"],
        "institution": c.hospital.name,
        "department": s.department,
        "admission_date": ctx.admission.strftime("%Y-%m-%d"),
        "discharge_date": ctx.discharge.strftime("%Y-%m-%d"),
        "main_diagnosis": s.diagnoses[0],
        "main_operation": s.operation,
        "review_type": s.review_type,
        "phone": p.phone,
        "address": p.address,
        "family": [{"relation": r.role, "name": r.name} for r in c.relatives],
    }


def assemble(
    built: list[BuiltDocument], record_id: str, seed: int, meta: dict
) -> tuple[pymupdf.Document, RecordTruth]:
    merged = pymupdf.open()
    truth = RecordTruth(record_id=record_id, seed=seed, meta=meta)
    for b in built:
        first = merged.page_count
        merged.insert_pdf(b.doc)
        truth.identifiers += [
            TruthItem(t.page_index + first, t.category, t.text, t.rect, t.role) for t in b.identifiers
        ]
        truth.clinical += [ClinicalLine(c.page_index + first, c.text, c.rect) for c in b.clinical]
        truth.documents.append(
            DocumentTruth(
                f"d{len(truth.documents) + 1:02d}",
                b.type,
                b.title,
                b.date,
                first,
                b.doc.page_count,
                b.scanned,
            )
        )
        if b.scanned:
            truth.scanned_pages += list(range(first, first + b.doc.page_count))
    truth.n_pages = merged.page_count
    truth.page_sizes = [(round(p.rect.width, 2), round(p.rect.height, 2)) for p in merged]
    return merged, truth


def build_record(
    pages: int = 6,
    seed: int = 0,
    scanned: float | bool = 0.0,
    scenario: str | None = None,
    record_id: str | None = None,
) -> tuple[pymupdf.Document, RecordTruth]:
    """One merged record in memory: (PyMuPDF document, ground truth)."""
    ctx = make_context(seed, pages, scenario)
    record_id = record_id or f"rec{seed:05d}"
    built = build_documents(ctx, pages, scanned, scan_seed=seed * 7919 + 1)
    return assemble(built, record_id, seed, case_meta(ctx, record_id))


def make_record(
    out_path: str | Path | None = None,
    pages: int = 6,
    seed: int = 0,
    scanned: float | bool = 0.0,
    scenario: str | None = None,
    record_id: str | None = None,
) -> RecordTruth:
    """Write one record PDF (``out_path``) and its truth (``<stem>.truth.json``)."""
    doc, truth = build_record(pages, seed, scanned, scenario, record_id)
    if out_path is not None:
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        doc.save(out_path, garbage=3, deflate=True)
        truth.pdf_path = str(out_path)
        truth.save(out_path.with_suffix(".truth.json"))
        out_path.with_suffix(".case.json").write_text(
            json.dumps(truth.meta, ensure_ascii=False, indent=1), encoding="utf-8"
        )
    doc.close()
    return truth


def make_corpus(
    out_dir: str | Path,
    n_records: int = 5,
    seed: int = 0,
    scanned_ratio: float = 0.3,
    pages: tuple[int, int] = (4, 10),
) -> list[RecordTruth]:
    """``n_records`` records in ``out_dir``; about ``scanned_ratio`` of their pages rasterised
    (whole documents)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    truths = []
    for i in range(n_records):
        n = rng.randint(*pages)
        rec_seed = seed * 1000 + i
        truths.append(
            make_record(out_dir / f"rec_{i:03d}.pdf", n, rec_seed, scanned_ratio, record_id=f"rec_{i:03d}")
        )
    (out_dir / "corpus.json").write_text(
        json.dumps(
            {"seed": seed, "records": [Path(t.pdf_path).name for t in truths]}, ensure_ascii=False, indent=1
        ),
        encoding="utf-8",
    )
    return truths


def load_corpus(out_dir: str | Path) -> list[RecordTruth]:
    out_dir = Path(out_dir)
    truths = []
    for path in sorted(out_dir.glob("*.truth.json")):
        t = RecordTruth.load(path)
        t.pdf_path = str(path.with_name(path.name.replace(".truth.json", ".pdf")))
        truths.append(t)
    return truths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tools.synth.corpus", description="Write a synthetic record corpus with ground truth."
    )
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--records", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scanned-ratio", type=float, default=0.3)
    ap.add_argument("--pages", type=int, nargs=2, default=(4, 10), metavar=("MIN", "MAX"))
    args = ap.parse_args(argv)
    t0 = time.time()
    truths = make_corpus(args.out, args.records, args.seed, args.scanned_ratio, tuple(args.pages))
    print(
        f"{len(truths)} records, {sum(t.n_pages for t in truths)} pages, {time.time() - t0:.1f}s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
