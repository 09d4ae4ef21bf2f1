"""Verify the final export file before it is released: the leak gate
(``core.verify``) over the exact bytes, as a report dict.

``ocr``: ``images`` (default: every image region and every page whose
text layer cannot be trusted), ``all``, ``untrusted`` or ``none``.  A hit
blocks the export; the report names page and place, never the value.
"""

from __future__ import annotations

from typing import Iterable

from core.verify import Identifier, describe_leaks, verify_pdf
from core.verify.ocr import ocr_tasks

__all__ = ["verify_final", "describe_leaks", "ocr_tasks"]


def verify_final(
    pdf: bytes,
    identifiers: Iterable[Identifier],
    *,
    password: str = "",
    ocr: str = "images",
    dpi: int = 150,
    workers: int = 2,
    progress=None,
) -> dict:
    """Check the final bytes.  Returns a report dict (``ok`` False on any hit)."""
    return verify_pdf(
        pdf, identifiers, password=password, ocr=ocr, dpi=dpi, workers=workers, progress=progress
    ).to_dict()
