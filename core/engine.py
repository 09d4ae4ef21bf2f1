"""The de-identification pipeline, stage by stage:

    open -> page text (text layer + OCR of image regions) -> recognizers
    (visual, text, then record-wide) -> findings -> policy -> plan ->
    apply + sanitize -> verify

``analyze_document`` produces findings; ``redact_document`` turns findings
into a redacted, sanitised, verified document.  Both take an open PyMuPDF
document so the store, CLI and export share one engine.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

import pymupdf

from core.detect.base import AnalysisContext, PageInput, Seed, release_scan_render
from core.detect.registry import load_default_recognizers
from core.config import settings
from core.detect.seeding import seeds_from_meta
from core.models import CaseMeta, Char, Finding, as_rect
from core.ocr.ahead import active as active_reading, reading_ahead
from core.pdf.drawings import one_reading
from core.pdf.geometry import area, intersection, union
from core.pdf.render import release_page_memory
from core.pdf.sanitize import clean_bytes, sanitize
from core.pdf.text import text_lines
from core.redaction.plan import RedactionPlan, build_plan
from core.policy import Policy, load_policy
from core.redaction.apply import apply_plan
from core.spawn import neutral_main
from core.verify import VerifyReport, identifiers_from, verify_pdf
from core.verify.ocr import DEFAULT_MODE

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]  # (done, total, step)


@dataclass
class PageSummary:
    index: int
    scanned: bool = False
    text_chars: int = 0
    ocr_chars: int = 0
    findings: int = 0
    seconds: float = 0.0
    error: str = ""
    unread: bool = False  # analysed without OCR, yet the page shows what only OCR can read


@dataclass
class Analysis:
    findings: list[Finding] = field(default_factory=list)
    seeds: list[Seed] = field(default_factory=list)
    pages: list[PageSummary] = field(default_factory=list)

    @property
    def failed_pages(self) -> list[int]:
        return [p.index for p in self.pages if p.error]

    @property
    def unread_pages(self) -> list[int]:
        return [p.index for p in self.pages if p.unread]


def _ocr_lines(
    page: pymupdf.Page,
    base_lines: list[list[Char]],
    dpi: int,
    trusted: bool = True,
    keep: Optional[dict] = None,
) -> tuple[list[list[Char]], bool]:
    """OCR lines for the regions that need it, minus characters the text
    layer already has at the same place; (lines, page_is_scanned).  A page
    whose text layer cannot be trusted is OCRed whole, like a scan.  A
    render of the whole page made for OCR is left in ``keep["image"]``."""
    try:
        from core.ocr.page import drop_duplicates, ocr_page_chars, ocr_regions
    except ImportError:  # OCR module not installed
        return [], False
    if not trusted:
        return ocr_page_chars(page, dpi=dpi, keep=keep, read=_read_ahead(page, dpi)), True
    regions = ocr_regions(page, sum(len(l) for l in base_lines))
    if not regions:
        return [], False
    full = area(tuple(page.rect)) or 1.0
    scanned = any(area(as_rect(r)) >= 0.6 * full for r in regions)
    lines: list[list[Char]] = []
    for region in regions:
        clip = None if area(as_rect(region)) >= 0.95 * full else region
        read = _read_ahead(page, dpi) if clip is None else None
        lines += ocr_page_chars(page, dpi=dpi, clip=clip, keep=keep, read=read)
    return drop_duplicates(lines, base_lines), scanned


def _read_ahead(page: pymupdf.Page, dpi: int) -> Optional[tuple]:
    """The whole page's reading when the page loop read it ahead (``core.ocr.ahead``)."""
    ahead = active_reading()
    return ahead.take(page, dpi) if ahead is not None else None


def page_input(page: pymupdf.Page, ocr: bool = True, dpi: int = 150) -> tuple[PageInput, PageSummary]:
    """Page text for the recognizers.  The text layer is used as it is only
    when it can be trusted (``core.pdf.trust``); otherwise the page is
    OCRed whole and the layer keeps only the characters OCR did not see
    at the same place (invisible or off-pixel text still gets redacted)."""
    summary = PageSummary(page.number)
    base_lines = text_lines(page)
    summary.text_chars = sum(len(l) for l in base_lines)
    extra: list[list[Char]] = []
    kept: dict = {}
    if ocr:
        trusted = True
        if base_lines:
            from core.pdf.trust import assess_page

            trusted = assess_page(page).trusted
        extra, summary.scanned = _ocr_lines(page, base_lines, dpi, trusted, kept)
        if not trusted:
            from core.ocr.page import drop_duplicates

            base_lines = drop_duplicates(base_lines, extra)
        summary.ocr_chars = sum(len(l) for l in extra)
    else:
        summary.unread = _needs_ocr(page, base_lines)
    lines = base_lines + extra
    # a scan's render made for OCR is the page image the visual recognizers look at (same page, same dpi)
    image = kept.get("image") if summary.scanned else None
    return PageInput(
        page.number, page, _from_lines(page, lines), dpi=dpi, is_scanned=summary.scanned, _image=image
    ), summary


def _needs_ocr(page: pymupdf.Page, base_lines: list[list[Char]]) -> bool:
    """Whether OCR would have read this page (a scan, an image insert, letters drawn as outlines, a text
    layer that cannot be trusted)."""
    from core.ocr.page import ocr_regions
    from core.pdf.trust import assess_page

    if ocr_regions(page, sum(len(l) for l in base_lines)):
        return True
    return bool(base_lines) and not assess_page(page, ocr_check=False).trusted


def _from_lines(page, lines):
    from core.pdf.text import reading_text

    return reading_text(page, lines)


def analyze_page(
    page: pymupdf.Page,
    per_page: list,
    ctx: AnalysisContext,
    ocr: bool,
    dpi: int,
    then: Optional[Callable[[], None]] = None,
):
    """Page stage: page text (+ OCR) and the per-page recognizers; ``then``
    runs between the two (the page loop starts reading the next page).

    Returns (PageInput, PageSummary, findings); a failing page gives an
    error summary instead of raising.
    """
    t0 = time.perf_counter()
    try:
        with one_reading(page):  # the page's drawings are read once for the OCR regions and the visual layout
            pin, summary = page_input(page, ocr=ocr, dpi=dpi)
            if then is not None:
                then()
            found: list[Finding] = []
            for rec in per_page:
                found += rec.analyze(pin, ctx)
        pin._image = None  # free the render; record-wide passes re-render if they must
        summary.findings = len(found)
    except Exception as exc:  # a broken page must not stop the case
        log.warning("page %d failed: %s", page.number + 1, type(exc).__name__)
        pin, summary, found = None, PageSummary(page.number, error=type(exc).__name__), []
    summary.seconds = time.perf_counter() - t0
    return pin, summary, found


def analyze_document(
    doc: pymupdf.Document,
    meta: CaseMeta | dict | None = None,
    progress: Optional[Progress] = None,
    ocr: bool = True,
    recognizers: Optional[Iterable[str]] = None,
    dpi: int = 150,
    pages: Optional[Iterable[int]] = None,
    workers: Optional[int] = None,
) -> Analysis:
    """Find every identifier on every page of ``doc``.

    Pages are analysed in ``workers`` processes when the document is long
    enough (default ``DEID_WORKERS``, the number of cores); record-wide
    recognizers (repeated headers, logos, propagation) then run once over
    all pages.  A page that fails is recorded in ``Analysis.pages[i].error``
    and the rest go on.  ``meta`` is the archive-index record (case seeding).
    ``progress(done, total, step)`` may raise to cancel.
    """
    meta = meta if isinstance(meta, CaseMeta) else CaseMeta.from_dict(meta)
    ctx = AnalysisContext(meta=meta, page_count=doc.page_count)
    seeds_from_meta(meta, ctx)
    names = list(recognizers) if recognizers is not None else None
    recs = load_default_recognizers(names)
    per_page = [r for r in recs if r.kind in ("text", "visual")]
    record_wide = [r for r in recs if r.kind == "record"]
    indices = list(pages) if pages is not None else list(range(doc.page_count))
    workers = settings().workers if workers is None else workers
    result = Analysis()
    if workers > 1 and _worth_a_pool(doc, indices, ocr):
        staged = _pages_in_pool(doc, meta, names, indices, ocr, dpi, workers, ctx, progress)
    else:
        staged = _pages_in_turn(doc, per_page, ctx, indices, ocr, dpi, progress)
    inputs: list[PageInput] = []
    for pin, summary, found in staged:
        result.pages.append(summary)
        result.findings += found
        if pin is not None:
            pin.pdf_page = doc[pin.index]
            inputs.append(pin)
    for rec in record_wide:
        try:
            result.findings += rec.analyze_record(inputs, result.findings, ctx)
        except Exception as exc:
            log.warning("record recognizer %s failed: %s", rec.name, type(exc).__name__)
    pymupdf.TOOLS.store_shrink(100)  # renders of the record-wide passes are not needed again
    release_scan_render()
    result.findings = merge_findings(result.findings)
    result.seeds = list(ctx.seeds)
    if progress:
        progress(len(indices), len(indices), "done")
    return result


def _pages_in_turn(doc, per_page, ctx, indices, ocr, dpi, progress) -> list:
    """The page stage page after page in this process; with OCR on and two
    OCR threads, the next scanned page is read while this one's recognizers
    run (``core.ocr.ahead``)."""
    staged = []
    with reading_ahead(ocr and len(indices) > 1 and settings().ocr_threads >= 2) as ahead:
        for n, i in enumerate(indices):
            then = None
            if ahead is not None and n + 1 < len(indices):
                then = functools.partial(_read_next, ahead, doc, indices[n + 1], dpi)
            staged.append(analyze_page(doc[i], per_page, ctx, ocr, dpi, then))
            if staged[-1][1].scanned:
                release_page_memory()  # a scan's renders and OCR tensors are not needed again
            if progress:
                progress(n + 1, len(indices), "detect")
    return staged


def _read_next(ahead, doc: pymupdf.Document, index: int, dpi: int) -> None:
    try:
        ahead.start(doc[index], dpi)
    except Exception as exc:  # the page stage reads that page itself and meets the same problem there
        log.debug("reading page %d ahead failed: %s", index + 1, type(exc).__name__)


POOL_START_SECONDS = 6.0  # spawning workers and loading their models
SECONDS_PER_PAGE = {"text": 0.08, "scan": 2.0}


def _worth_a_pool(doc: pymupdf.Document, indices: list[int], ocr: bool) -> bool:
    """Use worker processes only when the work clearly outweighs starting
    them: scanned pages (OCR) are ~25x dearer than text pages."""
    if len(indices) < 4:
        return False
    scans = sum(1 for i in indices if ocr and len(doc[i].get_text("text").strip()) < 30) if ocr else 0
    estimate = scans * SECONDS_PER_PAGE["scan"] + (len(indices) - scans) * SECONDS_PER_PAGE["text"]
    return estimate > 2 * POOL_START_SECONDS


_WORKER: dict = {}


def _pool_init(pdf_bytes: bytes, meta: dict, names, ocr: bool, dpi: int) -> None:
    os.environ["DEID_OCR_THREADS"] = "1"  # one process per core already
    doc = pymupdf.open("pdf", pdf_bytes)
    recs = load_default_recognizers(names)
    ctx = AnalysisContext(meta=CaseMeta.from_dict(meta), page_count=doc.page_count)
    seeds_from_meta(ctx.meta, ctx)
    _WORKER.update(
        doc=doc, per_page=[r for r in recs if r.kind in ("text", "visual")], ctx=ctx, ocr=ocr, dpi=dpi
    )


def _pool_pages(indices: list[int]):
    w = _WORKER
    out = []
    for i in indices:
        pin, summary, found = analyze_page(w["doc"][i], w["per_page"], w["ctx"], w["ocr"], w["dpi"])
        release_page_memory()  # each page is seen once
        if pin is not None:
            pin.pdf_page, pin._render = None, None  # not picklable; re-attached in the parent
        out.append((pin, summary, found))
    return out, [(s.value, s.category, s.origin, s.role_hint) for s in w["ctx"].seeds]


def _pages_in_pool(doc, meta: CaseMeta, names, indices, ocr, dpi, workers, ctx, progress):
    chunk = max(2, min(8, len(indices) // (workers * 4) or 1))
    chunks = [indices[k : k + chunk] for k in range(0, len(indices), chunk)]
    results: dict[int, list] = {}
    mp = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers,
        mp_context=mp,
        initializer=_pool_init,
        initargs=(doc.tobytes(), meta.to_dict(), names, ocr, dpi),
    ) as pool:
        with neutral_main():  # workers start during the first submits
            futures = {pool.submit(_pool_pages, c): k for k, c in enumerate(chunks)}
        done = 0
        try:
            for fut in as_completed(futures):
                staged, seeds = fut.result()
                results[futures[fut]] = staged
                for value, category, origin, hint in seeds:
                    ctx.add_seed(value, category, origin, hint)
                done += len(staged)
                if progress:
                    progress(done, len(indices), "detect")
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [item for k in range(len(chunks)) for item in results[k]]


def merge_findings(findings: list[Finding]) -> list[Finding]:
    """Drop duplicates: a finding whose boxes are ≥ 80 % inside the boxes of
    a more confident finding on the same page (any category) adds nothing.
    Among equals, a specific person role beats "person_name"."""
    kept: list[Finding] = []
    by_page: dict[int, list[tuple[tuple, Finding]]] = {}

    def rank(f: Finding) -> tuple:
        return (-f.confidence, f.category.value == "person_name", -sum(area(r) for r in f.rects))

    for f in sorted((f for f in findings if f.rects), key=rank):
        bucket = by_page.setdefault(f.page_index, [])
        box = union(f.rects)
        if any(_overlaps(box, kbox) and _covered_by(f, k) for kbox, k in bucket):
            continue
        bucket.append((box, f))
        kept.append(f)
    kept.sort(key=lambda f: (f.page_index, f.rects[0][1] if f.rects else 0, f.rects[0][0] if f.rects else 0))
    return kept


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _covered_by(a: Finding, b: Finding) -> bool:
    """Is every box of ``a`` at least 80 % covered by some box of ``b``?"""
    if a.category.is_visual != b.category.is_visual:
        return False
    return all(any(intersection(ra, rb) >= 0.8 * (area(ra) or 1e-6) for rb in b.rects) for ra in a.rects)


def redact_document(doc: pymupdf.Document, findings: list[Finding], **options):
    """:func:`redact_to_bytes`, the output opened: (redacted doc, verify report, plan)."""
    data, report, plan = redact_to_bytes(doc, findings, **options)
    return pymupdf.open("pdf", data), report, plan


def redact_to_bytes(
    doc: pymupdf.Document,
    findings: list[Finding],
    policy: str | Policy = "review",
    style: Optional[str] = None,
    seeds: Iterable[Seed] = (),
    rejected_ids: Iterable[str] = (),
    labels: Optional[dict] = None,
    extra_identifiers: Iterable = (),
    meta: CaseMeta | dict | None = None,
    blank_pages: Iterable[int] = (),
    verify_ocr: str = DEFAULT_MODE,
    hidden_pages: Optional[dict] = None,
) -> tuple[bytes, VerifyReport, RedactionPlan]:
    """Redact a copy of ``doc``; returns (the output's bytes, exactly as the
    leak gate checked them, verify report, plan).

    plan (:func:`plan_document`, shared with the export) -> apply (every
    page reduced to its visible area; ``blank_pages``, the pages that could
    not be analysed, and pages MuPDF cannot redact are blanked, see
    ``core.redaction.apply``) -> sanitize -> verify (``core.verify``; ``verify_ocr``
    says which pages the leak gate OCRs).  ``plan.blanked`` lists the
    blanked pages; ``hidden_pages`` (page index -> reason code) are pages a
    person hid whole (shown black with the reason).  The caller must not
    release the document when the report is not ok.
    """
    pol = policy if isinstance(policy, Policy) else load_policy(policy)
    research = research_for(pol, meta)
    plan, findings, _flags = plan_document(
        doc,
        findings,
        pol,
        style,
        rejected_ids=rejected_ids,
        labels=labels,
        research=research,
        hidden_pages=hidden_pages,
    )
    out = pymupdf.open("pdf", doc.tobytes())
    applied = apply_plan(out, plan, blank=blank_pages)
    plan.blanked, plan.unseen_removed = applied.blanked, applied.unseen_removed()
    plan.unseen_removed["streams"] += sanitize(out)  # images no decoder reads
    data = clean_bytes(out)
    rejected = set(rejected_ids)
    kept = [f for f in findings if f.id not in rejected and pol.hides(f) or f.source.value == "manual"]
    report = verify_pdf(data, identifiers_from(kept, seeds, pol, extra_identifiers), ocr=verify_ocr)
    return data, report, plan


def research_for(policy: Policy, meta: CaseMeta | dict | None = None):
    """The case's ResearchTransformer when ``policy`` generalises, else None."""
    if not any(rule.action == "generalise" for rule in policy.categories.values()):
        return None
    from core.policy.research import ResearchTransformer

    meta = meta if isinstance(meta, CaseMeta) else CaseMeta.from_dict(meta)
    return ResearchTransformer.for_case(meta, policy)


def plan_document(
    doc: pymupdf.Document,
    findings: list[Finding],
    policy: Policy,
    style: Optional[str] = None,
    rejected_ids: Iterable[str] = (),
    labels: Optional[dict] = None,
    research=None,
    hidden_pages: Optional[dict] = None,
) -> tuple[RedactionPlan, list[Finding], list[dict]]:
    """The one plan building path of the CLI, the review preview and the
    export: with a ``research`` transformer, indirect identifiers (dates,
    ages) are added, generalised values become the labels and the style is
    "label"; returns (plan, findings planned from, rare-value flags)."""
    findings, labels, flags = list(findings), dict(labels or {}), []
    if research is not None:
        style = "label"  # generalised values must be written, not blacked out
        findings += research.indirect_findings(doc, findings)
        labels.update(research.labels(findings))
        flags = research.flags(doc)
    plan = build_plan(
        findings, policy, style, rejected_ids=rejected_ids, labels=labels, hidden_pages=hidden_pages
    )
    return plan, findings, flags
