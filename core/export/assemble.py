"""Build the merged PDF: merge, bookmarks, cover page, page numbers,
watermark and (optionally) flattening.

Every step takes and returns a ``pymupdf.Document`` and adds only neutral
text (document types, counts, roles, the patient code) — never anything
read from the documents.
"""

from __future__ import annotations

import math
from datetime import datetime

import pymupdf

FONT = "china-s"  # PyMuPDF builtin CJK font (no file needed)
A4 = pymupdf.paper_rect("a4")
GRAY = (0.35, 0.35, 0.35)


def merge(parts: list[tuple[str, pymupdf.Document]]) -> tuple[pymupdf.Document, list[dict]]:
    """``parts`` = [(doc_type, redacted doc)] in final order.  Returns the
    merged document (page rotation baked in) and one entry per part
    ``{doc_type, pages, first_page}`` (first_page 1-based, before a cover)."""
    out = pymupdf.open()
    entries = []
    for doc_type, doc in parts:
        first = out.page_count + 1
        # links/annots from inputs are not copied; outlines never are
        out.insert_pdf(doc, links=False, annots=False, widgets=False)
        entries.append({"doc_type": doc_type, "pages": doc.page_count, "first_page": first})
    for page in out.pages():
        if page.rotation:
            page.remove_rotation()
    return out, entries


def bookmark_titles(entries: list[dict]) -> list[str]:
    """Neutral titles: the type, numbered when a type occurs more than once."""
    totals: dict[str, int] = {}
    for e in entries:
        totals[e["doc_type"]] = totals.get(e["doc_type"], 0) + 1
    seen: dict[str, int] = {}
    titles = []
    for e in entries:
        t = e["doc_type"] or "其他文书"
        seen[t] = seen.get(t, 0) + 1
        titles.append(f"{t} ({seen[t]})" if totals.get(e["doc_type"], 0) > 1 else t)
    return titles


def set_bookmarks(doc: pymupdf.Document, entries: list[dict], offset: int = 0) -> None:
    toc = []
    if offset:
        toc.append([1, "封面", 1])
    for title, e in zip(bookmark_titles(entries), entries):
        toc.append([1, title, e["first_page"] + offset])
    doc.set_toc(toc)


def _lines_to_page(
    page: pymupdf.Page, lines: list[tuple[str, float]], top: float = 60, left: float = 60
) -> float:
    y = top
    for text, size in lines:
        if y > page.rect.height - 50:
            break
        if text:
            page.insert_text((left, y), text, fontname=FONT, fontsize=size, color=(0, 0, 0))
        y += size * 1.6
    return y


def add_cover(
    doc: pymupdf.Document,
    *,
    code: str,
    policy_title: str,
    entries: list[dict],
    counts: dict[str, int],
    category_names: dict[str, str],
    approval: list[dict] | None = None,
    legend: list[tuple[str, str]] | None = None,
    exported_at: datetime | None = None,
    notes: list[str] | None = None,
) -> list[str]:
    """Insert a cover page at the front (roles and counts only, no names).
    Returns the lines written (neutral text, for the final check)."""
    exported_at = exported_at or datetime.now().astimezone()
    width, height = (doc[0].rect.width, doc[0].rect.height) if doc.page_count else (A4.width, A4.height)
    page = doc.new_page(0, width=max(width, A4.width), height=max(height, A4.height))
    lines: list[tuple[str, float]] = [
        ("匿名化病历副本", 20),
        ("", 6),
        (f"病例代码：{code}", 12),
        (f"导出时间：{exported_at.strftime('%Y-%m-%d %H:%M')}", 11),
        (f"匿名化策略：{policy_title}", 11),
        (f"文书数量：{len(entries)}    总页数（不含封面）：{sum(e['pages'] for e in entries)}", 11),
        ("", 6),
        ("文书目录", 13),
    ]
    for i, (title, e) in enumerate(zip(bookmark_titles(entries), entries), 1):
        lines.append(
            (f"{i:>2}. {title}    第 {e['first_page'] + 1} 页起，共 {e['pages']} 页", 10)
        )  # the cover is page 1
    lines += [("", 6), ("已处理的标识信息（按类别计数）", 13)]
    if counts:
        for cat, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append((f"{category_names.get(cat, cat)}：{n} 处", 10))
    else:
        lines.append(("无", 10))
    if legend:
        lines += [("", 6), ("角色标签（同一标签在全部文书中指同一人或同一机构）", 13)]
        lines.append(("  ".join(label for label, _ in legend), 10))
    lines += [("", 6), ("审批记录（仅记录角色）", 13)]
    for step in approval or []:
        when = step.get("at", "")
        lines.append((f"{step.get('role', '')}：{step.get('action', '')}  {when}".rstrip(), 10))
    if not approval:
        lines.append(("无审批记录", 10))
    for note in notes or []:  # e.g. the demo-keys warning
        lines += [("", 6), (note, 11)]
    _lines_to_page(page, lines)
    return [text for text, _ in lines if text]


def stamp_pages(
    doc: pymupdf.Document,
    *,
    page_numbers: bool = True,
    watermark: str = "",
    skip_first: bool = False,
    opacity: float = 0.13,
) -> None:
    """第 x 页 / 共 N 页 at the bottom centre of every page, x being the PDF's
    own page number (the cover is page 1), and a light diagonal watermark on
    every content page (``skip_first``: not on the cover).  One content stream
    per page: fast."""
    total = doc.page_count
    for i in range(doc.page_count):
        page = doc[i]
        r = page.rect
        shape = page.new_shape()
        if page_numbers:
            text = f"第 {i + 1} 页 / 共 {total} 页"
            w = len(text) * 8 * 0.5 + 8 * 4  # china-s: CJK one em, ASCII/space about half on screen
            shape.insert_text(((r.width - w) / 2, r.height - 12), text, fontname=FONT, fontsize=8, color=GRAY)
        if watermark and not (skip_first and i == 0):
            diag = math.hypot(r.width, r.height)
            size = max(8.0, min(40.0, 0.7 * diag / len(watermark)))  # every glyph one em wide
            centre = pymupdf.Point(r.width / 2, r.height / 2)
            angle = math.degrees(math.atan2(r.height, r.width))
            shape.insert_text(
                pymupdf.Point(centre.x - len(watermark) * size / 2, centre.y + size / 3),
                watermark,
                fontname=FONT,
                fontsize=size,
                color=(0.5, 0.5, 0.5),
                fill_opacity=opacity,
                stroke_opacity=opacity,
                morph=(centre, pymupdf.Matrix(-angle)),
            )
        shape.commit(overlay=True)


def add_page_numbers(doc: pymupdf.Document, skip_first: bool = False) -> None:
    stamp_pages(doc, page_numbers=True, skip_first=skip_first)


def add_watermark(doc: pymupdf.Document, text: str, skip_first: bool = False) -> None:
    if text:
        stamp_pages(doc, page_numbers=False, watermark=text, skip_first=skip_first)


def flatten(doc: pymupdf.Document, dpi: int = 150, ocr_text: bool = False, progress=None) -> pymupdf.Document:
    """Every page becomes one image (JPEG); nothing else remains.

    With ``ocr_text`` an invisible text layer (render mode 3) is rebuilt
    from OCR of the image, so the copy stays searchable.
    """
    out = pymupdf.open()
    for i, page in enumerate(doc.pages()):
        pix = page.get_pixmap(dpi=dpi, alpha=False)
        new = out.new_page(width=page.rect.width, height=page.rect.height)
        new.insert_image(new.rect, stream=pix.tobytes("jpg", jpg_quality=85))
        if progress:
            progress("flatten", i + 1, doc.page_count)
    if ocr_text:
        add_ocr_text_layer(out, dpi)
    return out


def add_ocr_text_layer(doc: pymupdf.Document, dpi: int = 150) -> None:
    """Invisible (render mode 3) OCR text over each page image."""
    from core.export.ocr import ocr_chars

    for page in doc.pages():
        shape = page.new_shape()
        for c, rect in ocr_chars(page, dpi):
            if rect is None or c.isspace():
                continue
            height = max(4.0, rect[3] - rect[1])
            shape.insert_text(
                (rect[0], rect[3] - height * 0.12), c, fontname=FONT, fontsize=height * 0.9, render_mode=3
            )
        shape.commit()
