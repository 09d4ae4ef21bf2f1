"""Build small test PDFs with known identifiers at known places."""

from __future__ import annotations

import pymupdf

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


def text_page(
    doc: pymupdf.Document, lines: list[str], size: float = 10.5, width=595, height=842, top=60, rotate=0
):
    page = doc.new_page(width=width, height=height)
    page.insert_font(fontname="wqy", fontfile=FONT)
    y = top
    for line in lines:
        page.insert_text((40, y), line, fontname="wqy", fontsize=size)
        y += size * 2
    if rotate:
        page.set_rotation(rotate)
    return page


def rasterize(doc: pymupdf.Document, dpi: int = 150) -> pymupdf.Document:
    """Turn every page into an image-only page (a 'scan')."""
    out = pymupdf.open()
    for page in doc:
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
        new = out.new_page(width=page.rect.width, height=page.rect.height)
        new.insert_image(new.rect, pixmap=pix)
    return out


def char_boxes(page: pymupdf.Page) -> list[tuple[str, tuple]]:
    """(character, bbox) of every glyph of the page's text layer, in content order."""
    return [
        (c["c"], c["bbox"])
        for b in page.get_text("rawdict")["blocks"]
        for l in b.get("lines", [])
        for s in l["spans"]
        for c in s["chars"]
    ]


def char_positions(page: pymupdf.Page) -> list[tuple[str, float, float]]:
    raw = page.get_text("rawdict")
    return [
        (c["c"], round(c["origin"][0], 2), round(c["origin"][1], 2))
        for b in raw["blocks"]
        for l in b.get("lines", [])
        for s in l["spans"]
        for c in s["chars"]
        if not c["c"].isspace()
    ]


def dark_fraction(page: pymupdf.Page, rect, dpi: int = 100) -> float:
    """Share of dark pixels inside ``rect`` (page points) in a render."""
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, clip=pymupdf.Rect(rect))
    data = pix.samples
    return sum(1 for b in data if b < 100) / max(1, len(data))


def fail_on_page(monkeypatch, page_index: int, recognizer: str = "phone") -> None:
    """Make one recognizer raise on one page (a page that cannot be analysed)."""
    from core.detect.registry import load_default_recognizers, registered

    load_default_recognizers()
    cls = registered()[recognizer]
    real = cls.analyze

    def broken(self, page, ctx):
        if page.index == page_index:
            raise RuntimeError("boom")
        return real(self, page, ctx)

    monkeypatch.setattr(cls, "analyze", broken)
