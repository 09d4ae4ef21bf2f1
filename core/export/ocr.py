"""OCR for export verification and flattened text layers: a thin view over
the project's OCR module (``core.ocr.page.ocr_page_chars``)."""

from __future__ import annotations

import pymupdf


def ocr_chars(page: pymupdf.Page, dpi: int = 150) -> list[tuple[str, tuple | None]]:
    """[(char, rect in unrotated page points)], with ("\\n", None) between lines."""
    from core.ocr.page import ocr_page_chars

    out: list[tuple[str, tuple | None]] = []
    for line in ocr_page_chars(page, dpi):
        if out:
            out.append(("\n", None))
        out += [(ch.c, tuple(ch.rect)) for ch in line]
    return out


def ocr_text(page: pymupdf.Page, dpi: int = 150) -> str:
    return "".join(c for c, _ in ocr_chars(page, dpi))
