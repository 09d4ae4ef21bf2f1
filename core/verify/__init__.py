"""The leak gate: one independent check of an output file before it is
released, used by the CLI (``core.engine.redact_document``) and the
export (``core.export.pipeline.stage_verify``).

It shares neither extraction nor normalisation with the detector: it
reads the file with PyMuPDF (every layer on, whole MediaBox), with
poppler's ``pdftotext``, as raw strings of content streams and objects,
in metadata and annotations, and by OCR of the pages whose text layer
cannot be trusted (and, in the export, of image regions); it matches with
``core.verify.match``.  Any hit blocks the output; a leak names page and
place and carries the value masked only (``core.masking``).
Must not import core.store, core.cases, ui/ or streamlit."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Iterable, Optional

import pymupdf

from core.masking import mask
from core.verify.match import Identifier, Matcher
from core.verify.ocr import DEFAULT_MODE, ocr_pages, ocr_tasks
from core.verify.sources import (
    GateError,
    annotation_texts,
    document_texts,
    everything_shown,
    layer_texts,
    image_metadata_texts,
    metadata_texts,
    object_texts,
    pdftotext_texts,
    raw_stream_texts,
)

__all__ = ["Identifier", "Leak", "VerifyReport", "verify_pdf", "identifiers_from", "describe_leaks"]
NOT_SEARCHED = {"age", "date"}  # generalised values may recur legitimately
PLACE_ZH = {
    "text": "文本层",
    "pdftotext": "pdftotext 文本",
    "raw stream": "原始内容流",
    "ocr": "OCR",
    "metadata": "元数据",
    "annotation": "批注/表单",
    "outline": "书签",
    "attachment": "附件",
    "object": "对象字符串",
    "stream": "数据流",
}


@dataclass(frozen=True)
class Leak:
    page: Optional[int]  # 1-based; None: not on a page
    where: str
    category: str
    masked: str
    origin: str = ""
    fuzzy: bool = False

    @property
    def page_index(self) -> int:
        return self.page - 1 if self.page else -1

    def place(self) -> str:
        """Page and place, never the value (for messages on screen)."""
        page = f"第 {self.page} 页 " if self.page else ""
        return f"{page}{PLACE_ZH.get(self.where, self.where)}（{self.where}） {self.category}"

    def describe(self) -> str:
        return f"{self.place()} {self.masked}"


@dataclass
class VerifyReport:
    ok: bool
    checked: int
    pages: int
    leaks: list[Leak] = field(default_factory=list)
    error: str = ""
    ocr_mode: str = "none"
    ocr_pages: int = 0
    ocr_regions: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        out = {
            "ok": self.ok,
            "identifiers_checked": self.checked,
            "identifiers": self.checked,
            "pages": self.pages,
            "leaks": [asdict(l) for l in self.leaks],
            "ocr_mode": self.ocr_mode,
            "ocr_pages": self.ocr_pages,
            "ocr_regions": self.ocr_regions,
            "seconds": self.seconds,
        }
        if self.error:
            out["error"] = self.error
        return out

    def describe(self, limit: int = 10) -> str:
        return describe_leaks(self.to_dict(), limit)


def describe_leaks(report: dict, limit: int = 10) -> str:
    """Page, place, category and masked value of the first leaks."""
    leaks = [Leak(**l) if isinstance(l, dict) else l for l in report.get("leaks", [])]
    parts = [l.describe() for l in leaks[:limit]]
    more = len(leaks) - limit
    return "；".join(parts) + (f"；另有 {more} 处" if more > 0 else "")


def _category(item) -> str:
    cat = getattr(item, "category", "")
    return str(getattr(cat, "value", cat) or "")


def identifiers_from(
    findings: Iterable = (), seeds: Iterable = (), policy=None, extra: Iterable = ()
) -> list[Identifier]:
    """What the gate searches: the text of every hidden finding, every case
    seed whose category the policy does not keep, and ``extra`` values or
    (value, category) pairs.  Ages and dates are generalised, not hidden,
    so they may legitimately recur and are not searched."""
    out: list[Identifier] = []
    for f in findings:
        if getattr(f, "text", "") and _category(f) not in NOT_SEARCHED:
            out.append(Identifier(f.text, _category(f), getattr(f, "detector", "")))
    for s in seeds:
        cat = _category(s)
        keep = policy is not None and cat and policy.rule(cat).action == "keep"
        if getattr(s, "value", "") and cat not in NOT_SEARCHED and not keep:
            out.append(Identifier(s.value, cat, getattr(s, "origin", "") or "seed"))
    for item in extra:
        if isinstance(item, Identifier):
            out.append(item)
        else:
            value, cat = (item, "") if isinstance(item, str) else (item[0], item[1])
            out.append(Identifier(value, cat, "case"))
    return out


def _leak(page, where: str, hit) -> Leak:
    ident = hit.identifier
    return Leak(page, where, ident.category, mask(ident.value, ident.category), ident.origin, hit.fuzzy)


def _scan(places, matcher: Matcher, fuzzy: bool = False) -> list[Leak]:
    return [_leak(page, where, hit) for page, where, text in places for hit in matcher.search(text, fuzzy)]


def _dedupe(leaks: list[Leak]) -> list[Leak]:
    seen, out = set(), []
    for leak in leaks:
        key = (leak.page, leak.where, leak.masked, leak.category)
        if key not in seen:
            seen.add(key)
            out.append(leak)
    return out


def _file_leaks(pdf: bytes, password: str, matcher: Matcher) -> list[Leak]:
    shown_bytes = everything_shown(pdf, password)
    shown = pymupdf.open(stream=shown_bytes, filetype="pdf")
    try:
        leaks = _scan(layer_texts(shown), matcher)
        leaks += _scan(pdftotext_texts(shown_bytes), matcher)
        leaks += _scan(raw_stream_texts(shown), matcher)
        for source in (metadata_texts, image_metadata_texts, annotation_texts, document_texts, object_texts):
            leaks += _scan(source(shown), matcher)
    finally:
        shown.close()
    return leaks


def verify_pdf(
    pdf: bytes,
    identifiers: Iterable[Identifier],
    *,
    password: str = "",
    ocr: str = DEFAULT_MODE,
    dpi: int = 150,
    workers: int = 1,
    neutral: str = "",
    progress=None,
) -> VerifyReport:
    """Check the exact bytes that will be released.  ``ocr``: see
    ``core.verify.ocr``.  ``neutral``: text the output adds itself (cover,
    watermark): identifiers occurring in it are not searched."""
    t0 = time.perf_counter()
    matcher = Matcher(list(identifiers))
    if neutral:
        matcher = matcher.neutral(neutral)
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    report = VerifyReport(ok=False, checked=len(matcher), pages=0, ocr_mode=ocr)
    try:
        if doc.needs_pass and not doc.authenticate(password):
            report.error = "cannot open the final file with the export password"
            return report
        report.pages = doc.page_count
        tasks = ocr_tasks(doc, ocr)
        report.ocr_pages, report.ocr_regions = len({i for i, _ in tasks}), len(tasks)
        page_texts = ocr_pages(pdf, password, tasks, dpi, workers, progress)
        leaks = _scan(((i + 1, "ocr", t) for i, t in sorted(page_texts.items())), matcher, fuzzy=True)
        leaks += _file_leaks(pdf, password, matcher)
    except GateError as exc:
        report.error = f"verification could not read the file: {exc}"
        return report
    finally:
        doc.close()
        if progress:
            progress("verify", report.pages, report.pages)
    report.leaks = _dedupe(leaks)
    report.ok = not report.leaks
    report.seconds = round(time.perf_counter() - t0, 2)
    return report
