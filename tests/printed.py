"""Pages Chromium prints here from test HTML, as an EMR's 'export to PDF' does (the real print layouts
the held-out corpora come from)."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest


def printed_pdf(html: str, folder: Path) -> pymupdf.Document:
    """``html`` printed to ``folder``/page.pdf by Chromium and opened; skips when Chromium is missing."""
    from tools.eval.real_layouts import chromium, print_pdf

    if chromium() is None:
        pytest.skip("chromium is installed by make system-deps")
    (folder / "page.html").write_text(html, encoding="utf-8")
    print_pdf(folder / "page.html", folder / "page.pdf")
    return pymupdf.open(folder / "page.pdf")
