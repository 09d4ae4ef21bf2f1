"""The archive source interface: where cases and their documents come from.

The embedded default is :class:`core.archive.folder.FolderArchive` (one folder
per case with ``manifest.json``).  A hospital connecting its records system
implements the same three methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Optional

from core.models import CaseMeta

REVIEW_TYPES = ("儿童死亡评审", "孕产妇危重症评审")


@dataclass(frozen=True)
class CaseFilter:
    """Filters of the case list; empty values match everything.  Dates ISO ``YYYY-MM-DD``."""

    department: str = ""
    discharge_from: str = ""
    discharge_to: str = ""
    review_type: str = ""
    case_number: str = ""  # substring of the case id

    def matches(self, department: str, discharge_date: str, review_type: str, case_id: str) -> bool:
        if self.department and department != self.department:
            return False
        if self.review_type and review_type != self.review_type:
            return False
        if self.discharge_from and (discharge_date or "") < self.discharge_from:
            return False
        if self.discharge_to and (discharge_date or "9999") > self.discharge_to:
            return False
        if self.case_number and self.case_number.strip().lower() not in (case_id or "").lower():
            return False
        return True


@dataclass(frozen=True)
class ArchiveCase:
    """One line of the archive's case list (no identifiers beyond the case id)."""

    key: str  # how the source finds the case again (folder name)
    case_id: str
    department: str
    discharge_date: str
    review_type: str
    document_count: int


@dataclass(frozen=True)
class ManifestDocument:
    doc_id: str
    type: str
    title: str
    date: str
    file: str


@dataclass
class Manifest:
    key: str
    meta: CaseMeta
    review_type: str
    documents: list[ManifestDocument] = field(default_factory=list)

    @property
    def case_id(self) -> str:
        return self.meta.case_id

    def summary(self) -> ArchiveCase:
        return ArchiveCase(
            self.key,
            self.meta.case_id,
            self.meta.department,
            self.meta.discharge_date,
            self.review_type,
            len(self.documents),
        )


class ArchiveSource(ABC):
    """Where cases come from.  Errors are :class:`core.errors.InputError`."""

    @abstractmethod
    def list_cases(self, flt: Optional[CaseFilter] = None) -> list[ArchiveCase]:
        """Cases matching ``flt`` (unreadable entries are skipped and reported in ``problems``)."""

    @abstractmethod
    def read_manifest(self, key: str) -> Manifest:
        """The full manifest of one case; raises InputError when it is unusable."""

    @abstractmethod
    def open_document(self, key: str, doc: ManifestDocument) -> bytes:
        """The bytes of one document's PDF; raises InputError when missing/unreadable."""

    problems: list[str] = []
