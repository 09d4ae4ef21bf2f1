"""Ground truth of a synthetic record: what was placed where.

Rects are PDF points in the page's unrotated space (the ``core.models``
convention).  Truth files hold fake identifiers only, so they are plain JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

Rect = tuple[float, float, float, float]


def _rect(r) -> Rect:
    return tuple(round(float(v), 2) for v in r)  # type: ignore[return-value]


@dataclass
class TruthItem:
    """One identifier on one page (text empty for visual items)."""

    page_index: int
    category: str  # core.models.Category value
    text: str
    rect: Rect
    role: str = ""  # 丈夫, 主治医师, header … (what a detector may use as a cue)

    def __post_init__(self) -> None:
        self.rect = _rect(self.rect)


@dataclass
class ClinicalLine:
    """Clinical text that must stay readable after redaction."""

    page_index: int
    text: str
    rect: Rect

    def __post_init__(self) -> None:
        self.rect = _rect(self.rect)


@dataclass
class DocumentTruth:
    doc_id: str
    type: str
    title: str
    date: str
    first_page: int  # index in the record's merged page sequence
    n_pages: int
    scanned: bool = False
    file: str = ""


@dataclass
class RecordTruth:
    record_id: str
    seed: int
    pdf_path: str = ""  # the merged record PDF ("" for per-document archives)
    n_pages: int = 0
    meta: dict = field(default_factory=dict)  # archive-index record (CASE.json)
    identifiers: list[TruthItem] = field(default_factory=list)
    clinical: list[ClinicalLine] = field(default_factory=list)
    documents: list[DocumentTruth] = field(default_factory=list)
    scanned_pages: list[int] = field(default_factory=list)
    page_sizes: list[tuple[float, float]] = field(default_factory=list)

    def items_on(self, page_index: int) -> list[TruthItem]:
        return [t for t in self.identifiers if t.page_index == page_index]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RecordTruth":
        d = dict(d)
        d["identifiers"] = [TruthItem(**t) for t in d.get("identifiers", [])]
        d["clinical"] = [ClinicalLine(**c) for c in d.get("clinical", [])]
        d["documents"] = [DocumentTruth(**x) for x in d.get("documents", [])]
        d["page_sizes"] = [tuple(s) for s in d.get("page_sizes", [])]
        return cls(**d)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "RecordTruth":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
