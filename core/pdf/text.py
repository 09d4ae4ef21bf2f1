"""Text layer -> :class:`PageText` with one box per character (PyMuPDF)."""
from __future__ import annotations

import pymupdf

from core.models import Char, PageText, Source

_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_PRESERVE_LIGATURES | pymupdf.TEXT_MEDIABOX_CLIP


def text_lines(page: pymupdf.Page) -> list[list[Char]]:
    """Lines of characters from the text layer, in reading order.

    Invisible text (render mode 3, e.g. an OCR layer) is included: it is
    still in the file and must be redacted too.
    """
    raw = page.get_text("rawdict", flags=_FLAGS)
    lines: list[list[Char]] = []
    for block in raw.get("blocks", []):
        for line in block.get("lines", []):
            chars = [
                Char(ch["c"], tuple(ch["bbox"]), Source.TEXT)
                for span in line.get("spans", [])
                for ch in span.get("chars", [])
                if ch["c"] not in ("\n", "\r")
            ]
            if any(not c.c.isspace() for c in chars):
                lines.append(chars)
    return lines


def extract_page_text(page: pymupdf.Page, extra_lines: list[list[Char]] | None = None) -> PageText:
    lines = text_lines(page)
    if extra_lines:
        lines = lines + extra_lines
    return PageText.from_lines(page.number, page.rect.width, page.rect.height, lines)


def text_char_count(page: pymupdf.Page) -> int:
    return sum(len(l) for l in text_lines(page))
