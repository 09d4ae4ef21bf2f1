"""Leak scan of a redacted output: reopen it, extract every page's text and
search every known identifier (normalised: no spaces, half-width; OCR
confusions folded for numbers).  Any hit fails verification.

Short values (one character, numbers under five digits) are not searched:
they occur everywhere in clinical text and prove nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

import pymupdf

from core.detect.normalize import NormalizedText, is_numeric_like, normalize_value
from core.masking import mask


@dataclass(frozen=True)
class Identifier:
    value: str
    category: str = ""


@dataclass
class Leak:
    page_index: int
    category: str
    masked: str
    where: str = "text"  # text | metadata | annotation | ocr


@dataclass
class VerifyReport:
    ok: bool
    checked: int
    pages: int
    leaks: list[Leak] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "identifiers_checked": self.checked,
            "pages": self.pages,
            "leaks": [vars(l) for l in self.leaks],
        }


def searchable(value: str) -> Optional[str]:
    numeric = is_numeric_like(value)
    norm = normalize_value(value, numeric)
    if numeric:
        return norm if sum(c.isdigit() for c in norm) >= 5 else None
    return norm if len(norm) >= 2 else None


def unique_identifiers(items: Iterable) -> list[Identifier]:
    """Identifiers from findings, seeds or (value, category) pairs, deduplicated."""
    out: dict[str, Identifier] = {}
    for it in items:
        if isinstance(it, Identifier):
            value, cat = it.value, it.category
        elif isinstance(it, tuple):
            value, cat = it
        else:  # Finding or Seed
            value = getattr(it, "text", None) or getattr(it, "value", "")
            cat = getattr(getattr(it, "category", ""), "value", getattr(it, "category", ""))
        if value and searchable(value):
            out.setdefault(searchable(value), Identifier(value, str(cat)))
    return list(out.values())


def scan_text(page_index: int, text: str, identifiers: list[Identifier], where: str = "text") -> list[Leak]:
    leaks = []
    views: dict[bool, NormalizedText] = {}
    for ident in identifiers:
        numeric = is_numeric_like(ident.value)
        view = views.get(numeric) or views.setdefault(numeric, NormalizedText(text, numeric))
        if view.find_all(searchable(ident.value) or ""):
            leaks.append(Leak(page_index, ident.category, mask(ident.value, ident.category), where))
    return leaks


def verify_no_leaks(doc: pymupdf.Document, identifiers: Iterable, page_texts: Optional[dict[int, str]] = None) -> VerifyReport:
    """Search ``identifiers`` in the text layer of every page, in metadata
    and in annotations.  ``page_texts`` may add text per page (e.g. OCR of
    image pages, done by the export step)."""
    idents = unique_identifiers(identifiers)
    leaks: list[Leak] = []
    meta = " ".join(str(v) for v in (doc.metadata or {}).values() if v) + " " + (doc.get_xml_metadata() or "")
    leaks += scan_text(-1, meta, idents, "metadata")
    for page in doc:
        leaks += scan_text(page.number, page.get_text("text"), idents)
        annot_text = " ".join((a.info.get("content", "") + " " + a.info.get("title", "")) for a in (page.annots() or []))
        if annot_text.strip():
            leaks += scan_text(page.number, annot_text, idents, "annotation")
        if page_texts and page.number in page_texts:
            leaks += scan_text(page.number, page_texts[page.number], idents, "ocr")
    return VerifyReport(ok=not leaks, checked=len(idents), pages=doc.page_count, leaks=leaks)
