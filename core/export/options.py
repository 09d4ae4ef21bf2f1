"""What an export is made of and what it produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from core.models import Finding
from core.verify.ocr import DEFAULT_MODE

# progress(stage, done, total): stage is a short English name ("redact", "verify" …)
Progress = Callable[[str, int, int], None]


@dataclass
class ExportDocument:
    """One source document of a case as the export sees it.

    ``pdf`` is the ORIGINAL document (path or bytes); ``findings`` are the
    reviewed findings for it (automatic ones accepted, manual boxes added).
    ``title`` is for the store only: bookmarks and the cover page show the
    neutral ``doc_type``.
    """

    doc_id: str
    doc_type: str
    pdf: bytes | str | Path
    findings: list[Finding] = field(default_factory=list)
    title: str = ""
    date: str = ""
    include: bool = True
    blank_pages: list[int] = field(
        default_factory=list
    )  # not analysed (detection failed): blanked, never released
    hidden_pages: dict[int, str] = field(
        default_factory=dict
    )  # hidden whole by a person: page index -> reason code


@dataclass
class ExportOptions:
    policy: str = "review"  # review | research
    style: str = ""  # "" = the policy's default style (black | label)
    include: Optional[list[str]] = None  # doc_ids to include (None = every included document)
    exclude: list[str] = field(default_factory=list)
    order: Optional[list[str]] = None  # doc_ids in the wanted order (None = catalog order)
    cover: bool = True
    page_numbers: bool = True
    watermark: str = ""  # "" = none; "{code}" is replaced by the patient code
    committee: str = ""  # for the default watermark text: 仅供{committee}使用
    password: str = ""  # AES-256 when set
    flatten: bool = False
    flatten_dpi: int = 150
    flatten_ocr_text: bool = False  # rebuild an invisible text layer by OCR
    verify_ocr: str = DEFAULT_MODE  # "images" = OCR pages that hold images; "all" = every page; "none"
    verify_dpi: int = 150
    verify_workers: int = 2
    sign_pades: bool = True
    sign_manifest: bool = True
    pades_signer: str = ""  # "" = DEID_PADES_SIGNER or "neutral"; neutral | institution | off (manifest only)


DEFAULT_WATERMARK = "匿名化副本 · 仅供{committee}使用 · {code}"


@dataclass
class ExportResult:
    code: str  # the patient code of this export (random)
    file_name: str
    pdf: bytes  # the final, signed file
    manifest: dict
    page_count: int
    counts: dict  # category -> number of redacted regions
    verify: dict  # verification report (no identifier text)
    timings: dict = field(default_factory=dict)
    documents: list = field(default_factory=list)  # [{doc_id, doc_type, pages, first_page}]
    plan_hashes: dict = field(default_factory=dict)  # doc_id -> plan hash
    flags: list = field(default_factory=list)  # research: rare free-text items for manual review
    unseen_removed: dict = field(
        default_factory=dict
    )  # glyphs / text streams the pages never showed, removed

    @property
    def ok(self) -> bool:
        return bool(self.verify.get("ok"))
