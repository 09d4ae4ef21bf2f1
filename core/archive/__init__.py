"""Archive sources: where cases come from (see ``base.ArchiveSource``).
Must not import core.store, core.cases, core.export, ui/ or streamlit."""

from __future__ import annotations

from core.archive.base import ArchiveCase, ArchiveSource, CaseFilter, Manifest, ManifestDocument, REVIEW_TYPES
from core.archive.folder import FolderArchive, parse_manifest
from core.config import settings


def default_archive() -> ArchiveSource:
    """The configured archive (``DEID_ARCHIVE_DIR``, default the demo archive)."""
    return FolderArchive(settings().archive_dir)


__all__ = [
    "ArchiveCase",
    "ArchiveSource",
    "CaseFilter",
    "FolderArchive",
    "Manifest",
    "ManifestDocument",
    "REVIEW_TYPES",
    "default_archive",
    "parse_manifest",
]
