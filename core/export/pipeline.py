"""The export pipeline: named stages over one job, like OCRmyPDF.

    keys -> select -> label -> redact -> merge -> decorate -> flatten -> strip
    -> save -> verify -> sign -> manifest

``keys`` checks the signing material before any work: missing or demo keys
outside demo mode, or a PAdES certificate that would name the institution in
the file (default neutral signer), refuse the export
(:class:`~core.export.signing.SigningNotConfigured`).

``export_case`` runs them and returns an :class:`ExportResult`, or raises
:class:`~core.errors.LeakError` (with the report) when verification finds
an identifier in the final file: nothing is released then.  The store
side (sealing at rest, the exports row, the patient code mapping, audit)
is ``core.export.store``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Optional, TypeVar

import pymupdf

from core.errors import InputError, LeakError
from core.export import assemble, finalize, signing
from core.export.catalog import sort_documents
from core.export.check import describe_leaks, verify_final
from core.export.matcher import Identifier
from core.export.options import DEFAULT_WATERMARK, ExportDocument, ExportOptions, ExportResult
from core.models import CaseMeta
from core.pdf.open import open_pdf
from core.engine import plan_document, research_for
from core.policy import Policy, category_display, load_policy
from core.policy.labels import LabelBook, assign_labels
from core.redaction.apply import apply_plan
from core.verify import identifiers_from

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class ExportJob:
    documents: list[ExportDocument]
    meta: CaseMeta
    options: ExportOptions
    code: str
    seeds: list = field(default_factory=list)
    extra_identifiers: list = field(default_factory=list)
    approval: list = field(default_factory=list)
    progress: Optional[Callable[[str, int, int], None]] = None
    # filled by stages
    policy: Optional[Policy] = None
    style: str = ""
    selected: list[ExportDocument] = field(default_factory=list)
    book: Optional[LabelBook] = None
    research: object = None
    redacted: list[tuple[ExportDocument, pymupdf.Document]] = field(default_factory=list)
    identifiers: list[Identifier] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    plan_hashes: dict = field(default_factory=dict)
    flags: list = field(default_factory=list)
    unseen_removed: dict = field(default_factory=dict)  # summed Applied.unseen_removed() of every document
    doc: Optional[pymupdf.Document] = None
    entries: list = field(default_factory=list)
    cover: bool = False
    neutral: list = field(default_factory=list)  # text the export itself adds (types, cover, watermark)
    signer: str = "neutral"  # PAdES signer identity: neutral | institution | off
    demo_keys: bool = False  # signed with generated demo keys (said on the cover and in the manifest)
    pdf: bytes = b""
    verify: dict = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    def tick(self, stage: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(stage, done, total)


def _filled(value: Optional[T], what: str) -> T:
    """A field an earlier stage fills (``policy``, ``book``, ``doc``); a stage run out of order raises."""
    if value is None:
        raise RuntimeError(f"export stages out of order: {what} is not set")
    return value


# ------------------------------------------------------------------ stages
def stage_keys(job: ExportJob) -> None:
    o = job.options
    job.signer = signing.pades_signer(o.pades_signer) if o.sign_pades else "off"
    if job.signer != "off":
        signing.ensure_certificate()
        if job.signer == "neutral":
            signing.assert_neutral_certificate(institution_names=institution_names(job))
    if o.sign_manifest:
        signing.ensure_sm2_keys()
    job.demo_keys = signing.uses_demo_keys(pades=job.signer != "off", manifest=o.sign_manifest)


def institution_names(job: ExportJob) -> list[str]:
    """The case's institution names (archive record and reviewed findings): a neutral signer must not carry them."""
    names = {job.meta.institution} if getattr(job.meta, "institution", "") else set()
    for d in job.documents:
        names |= {
            f.text for f in d.findings if getattr(f.category, "value", f.category) == "institution" and f.text
        }
    return sorted(n.strip() for n in names if n and n.strip())


DEMO_KEYS_NOTE = "签名：自动生成的演示密钥（自签名证书，仅供演示，不是本院正式签名）"


def stage_select(job: ExportJob) -> None:
    opts = job.options
    # documents excluded in review are never exported; options narrow the rest
    docs = [d for d in job.documents if d.include]
    if opts.include is not None:
        docs = [d for d in docs if d.doc_id in set(opts.include)]
    docs = [d for d in docs if d.doc_id not in set(opts.exclude)]
    if not docs:
        raise InputError("没有可导出的文书（全部被排除）", "no documents selected for export")
    job.selected = sort_documents(docs, opts.order)
    job.policy = policy = load_policy(opts.policy)
    job.style = opts.style or policy.default_style
    job.research = research_for(policy, job.meta)
    if job.research is not None:
        job.style = "label"  # generalised values must be written, not blacked out


def stage_label(job: ExportJob) -> None:
    """Observe every document first so labels agree across the case."""
    job.book = book = LabelBook.for_case(job.meta, _filled(job.policy, "policy"))
    book.hint(job.seeds)
    for d in job.selected:
        book.observe(d.findings)
    book.freeze()


def stage_redact(job: ExportJob) -> None:
    policy = _filled(job.policy, "policy")
    total = len(job.selected)
    for n, d in enumerate(job.selected, 1):
        doc = open_pdf(d.pdf) if not isinstance(d.pdf, pymupdf.Document) else d.pdf
        findings = list(d.findings)
        labels = assign_labels(findings, policy, book=job.book) if job.style == "label" else {}
        plan, findings, flags = plan_document(
            doc,
            findings,
            policy,
            job.style,
            labels=labels,
            research=job.research,
            hidden_pages=d.hidden_pages,
        )
        job.flags += [dict(f, doc_id=d.doc_id) for f in flags]
        applied = apply_plan(doc, plan, blank=d.blank_pages)
        for key, n in applied.unseen_removed().items():
            job.unseen_removed[key] = job.unseen_removed.get(key, 0) + n
        if applied.blanked:
            job.flags += [
                {"doc_id": d.doc_id, "page_index": i, "reason": "page_blanked"} for i in applied.blanked
            ]
        for cat, k in plan.counts_by_category().items():
            job.counts[cat] = job.counts.get(cat, 0) + k
        job.plan_hashes[d.doc_id] = plan.hash()
        hidden_ids = {i.finding_id for i in plan.items}
        job.identifiers += identifiers_from([f for f in findings if f.id in hidden_ids])
        job.redacted.append((d, doc))
        job.tick("redact", n, total)
    job.identifiers += identifiers_from(seeds=job.seeds, policy=policy, extra=job.extra_identifiers)


def stage_merge(job: ExportJob) -> None:
    job.doc, job.entries = assemble.merge([(d.doc_type, doc) for d, doc in job.redacted])
    for d, doc in job.redacted:
        if doc is not d.pdf:
            doc.close()
    for e, (d, _) in zip(job.entries, job.redacted):
        e["doc_id"] = d.doc_id


def stage_decorate(job: ExportJob) -> None:
    opts = job.options
    doc = _filled(job.doc, "doc")
    if opts.cover:
        names = {c: category_display(c).get("zh", c) for c in job.counts}
        job.neutral += assemble.add_cover(
            doc,
            code=job.code,
            policy_title=_filled(job.policy, "policy").title,
            entries=job.entries,
            counts=job.counts,
            category_names=names,
            approval=job.approval,
            legend=[(f"[{label}]", cat) for label, cat in _filled(job.book, "book").legend()]
            if job.style == "label"
            else None,
            notes=[DEMO_KEYS_NOTE] if job.demo_keys else None,
        )
        job.cover = True
    text = ""
    if opts.watermark:
        text = opts.watermark.replace("{code}", job.code).replace("{committee}", opts.committee or "评审")
        job.neutral.append(text)
    if opts.page_numbers or text:
        assemble.stamp_pages(doc, page_numbers=opts.page_numbers, watermark=text, skip_first=job.cover)
    job.neutral += assemble.bookmark_titles(job.entries) + ["封面", "第 页 / 共 页"]
    if job.style == "label":
        job.neutral += [f"[{label}]" for label, _ in _filled(job.book, "book").legend()]


def stage_flatten(job: ExportJob) -> None:
    if job.options.flatten:
        doc = _filled(job.doc, "doc")
        flat = assemble.flatten(doc, job.options.flatten_dpi, job.options.flatten_ocr_text, job.progress)
        doc.close()
        job.doc = flat


def stage_strip(job: ExportJob) -> None:
    doc = _filled(job.doc, "doc")
    emptied = finalize.strip_hidden_data(doc)  # images no decoder reads
    job.unseen_removed["streams"] = job.unseen_removed.get("streams", 0) + emptied
    assemble.set_bookmarks(doc, job.entries, offset=1 if job.cover else 0)


def stage_save(job: ExportJob) -> None:
    doc = _filled(job.doc, "doc")
    job.pdf = finalize.save_final(doc, job.options.password)
    doc.close()
    job.doc = None


def stage_verify(job: ExportJob) -> None:
    """Verify the exact bytes that are released (the PAdES signature only
    appends a revision holding the signature; it adds no page content)."""
    o = job.options
    job.identifiers, skipped = drop_neutral(job.identifiers, job.neutral)
    job.verify = verify_final(
        job.pdf,
        job.identifiers,
        password=o.password,
        ocr=o.verify_ocr,
        dpi=o.verify_dpi,
        workers=o.verify_workers,
        progress=job.progress,
    )
    job.verify["skipped_neutral"] = skipped
    if not job.verify.get("ok"):
        where = describe_leaks(job.verify) or job.verify.get("error", "")
        err = LeakError(
            f"导出文件校验未通过，已阻止导出：{where}",
            f"verification found identifiers in the export; blocked ({len(job.verify.get('leaks', []))} hits)",
            leaks=job.verify.get("leaks", []),
            report=job.verify,
        )
        raise err


def drop_neutral(identifiers: list[Identifier], neutral: list[str]) -> tuple[list[Identifier], int]:
    """Leave out "identifiers" that occur in the text the export adds itself
    (document types, cover wording, watermark, labels): a false alarm of a
    detector such as "记录" must not block every export; the value was
    still hidden wherever it was found."""
    from core.verify.match import gate_norm

    hay = gate_norm(" ".join(neutral))
    kept = [i for i in identifiers if gate_norm(i.value) not in hay]
    return kept, len(identifiers) - len(kept)


def stage_sign(job: ExportJob) -> None:
    if job.signer != "off":
        job.pdf = signing.pades_sign(job.pdf, job.options.password, signer=job.signer)
    if job.signer == "neutral":
        signing.assert_signed_neutrally(job.pdf, job.options.password, institution_names(job))


def stage_manifest(job: ExportJob) -> None:
    o = job.options
    doc = pymupdf.open(stream=job.pdf, filetype="pdf")
    if doc.needs_pass:
        doc.authenticate(o.password)
    pages = doc.page_count
    doc.close()
    manifest = signing.build_manifest(
        job.pdf,
        case_code=job.code,
        file_name=f"{job.code}.pdf",
        page_count=pages,
        policy=_filled(job.policy, "policy").name,
        style=job.style,
        encrypted=bool(o.password),
        pades=job.signer != "off",
    )
    manifest["pades_signer"] = job.signer
    manifest["demo_keys"] = job.demo_keys
    job.manifest = signing.sign_manifest(manifest) if o.sign_manifest else manifest


STAGES: list[tuple[str, Callable[[ExportJob], None]]] = [
    ("keys", stage_keys),
    ("select", stage_select),
    ("label", stage_label),
    ("redact", stage_redact),
    ("merge", stage_merge),
    ("decorate", stage_decorate),
    ("flatten", stage_flatten),
    ("strip", stage_strip),
    ("save", stage_save),
    ("verify", stage_verify),
    ("sign", stage_sign),
    ("manifest", stage_manifest),
]


def run_job(job: ExportJob) -> ExportResult:
    try:
        for name, stage in STAGES:
            t0, c0 = time.perf_counter(), time.process_time()
            stage(job)
            job.timings[name] = round(time.perf_counter() - t0, 3)
            job.timings[f"{name}_cpu"] = round(time.process_time() - c0, 3)
            log.info("export stage %s: %.2fs", name, job.timings[name])
    finally:
        if job.doc is not None:
            job.doc.close()
        for d, doc in job.redacted:
            if not doc.is_closed and doc is not d.pdf:
                doc.close()
    return ExportResult(
        code=job.code,
        file_name=job.manifest["file_name"],
        pdf=job.pdf,
        manifest=job.manifest,
        page_count=job.manifest["page_count"],
        counts=job.counts,
        verify=job.verify,
        timings=job.timings,
        documents=job.entries,
        plan_hashes=job.plan_hashes,
        flags=job.flags,
        unseen_removed=job.unseen_removed,
    )


def export_case(
    documents: Iterable[ExportDocument],
    meta: CaseMeta | dict | None = None,
    options: ExportOptions | None = None,
    *,
    code: str | None = None,
    seeds: Iterable = (),
    extra_identifiers: Iterable = (),
    approval: list | None = None,
    progress=None,
) -> ExportResult:
    """Build, verify and sign the merged export of one case (no store)."""
    from core.export.codes import new_patient_code

    meta = meta if isinstance(meta, CaseMeta) else CaseMeta.from_dict(meta)
    job = ExportJob(
        documents=list(documents),
        meta=meta,
        options=options or ExportOptions(),
        code=code or new_patient_code(),
        seeds=list(seeds),
        extra_identifiers=list(extra_identifiers),
        approval=list(approval or []),
        progress=progress,
    )
    return run_job(job)


def default_watermark(review_type: str = "") -> str:
    return DEFAULT_WATERMARK.replace("{committee}", review_type or "评审")


def exported_now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")
