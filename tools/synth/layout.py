"""A page canvas that writes text with PyMuPDF and records ground truth.

Text is written with one ``TextWriter`` per colour and the wqy font (one
embedded, subset font per document), lines with one ``Shape`` per page:
a 300-page record takes a few seconds.  Every identifier run records its
exact box from the font metrics (the box ``page.get_text`` reports).

A *run* is plain text (``"入院诊断："``), an identifier
(``("王秀丽", "patient_name", "患者")``) or clinical text that must stay
(``("宫内孕38周", CLIN)``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Union

import pymupdf

from tools.synth.truth import ClinicalLine, TruthItem

FONT_FILE = os.environ.get("DEID_SYNTH_FONT", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
CLIN = "clinical"
BLACK = (0, 0, 0)
GREY = (0.35, 0.35, 0.35)
RED = (0.8, 0.1, 0.1)
BLUE = (0.1, 0.2, 0.6)

Run = Union[str, tuple]


@lru_cache(maxsize=1)
def font() -> pymupdf.Font:
    if os.path.exists(FONT_FILE):
        return pymupdf.Font(fontfile=FONT_FILE)
    return pymupdf.Font("china-s")  # builtin CJK font; metrics still consistent


_ADVANCE: dict[str, float] = {}


def text_width(text: str, size: float) -> float:
    """Advance width of ``text`` (sum of glyph advances, as TextWriter lays it out)."""
    total = 0.0
    for c in text:
        w = _ADVANCE.get(c)
        if w is None:
            w = _ADVANCE[c] = font().text_length(c, fontsize=1.0)
        total += w
    return total * size


def _norm(run: Run) -> tuple[str, str, str]:
    if isinstance(run, str):
        return run, "", ""
    if len(run) == 2:
        return run[0], run[1], ""
    return run[0], run[1], run[2]


@dataclass
class PageCanvas:
    page: pymupdf.Page
    page_index: int
    identifiers: list[TruthItem] = field(default_factory=list)
    clinical: list[ClinicalLine] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.writers: dict[tuple, pymupdf.TextWriter] = {}
        self.shape = self.page.new_shape()  # for the rare curved marks
        self.ops: list[str] = []
        self.images: list[tuple[pymupdf.Rect, bytes]] = []
        self.finished = False
        self.width = self.page.rect.width
        self.height = self.page.rect.height

    # ------------------------------------------------------------ text
    def box(self, x: float, baseline: float, text: str, size: float) -> tuple[float, float, float, float]:
        f = font()
        return (x, baseline - f.ascender * size, x + text_width(text, size), baseline - f.descender * size)

    def write(self, x: float, y: float, runs: Iterable[Run] | Run, size: float = 10.5, color=BLACK) -> float:
        """Write runs left to right from (x, baseline y); return the end x."""
        if isinstance(runs, (str, tuple)):
            runs = [runs]
        tw = self.writers.get(color)
        if tw is None:
            tw = self.writers[color] = pymupdf.TextWriter(self.page.rect, color=color)
        x_start, parts = x, []
        for run in runs:
            text, tag, role = _norm(run)
            if not text:
                continue
            w = text_width(text, size)
            if tag == CLIN:
                self.clinical.append(ClinicalLine(self.page_index, text, self.box(x, y, text, size)))
            elif tag:
                self.identifiers.append(
                    TruthItem(self.page_index, tag, text, self.box(x, y, text, size), role)
                )
            parts.append(text)
            x += w
        if parts:
            _show(tw, x_start, y, "".join(parts), size)
        return x

    def centered(self, y: float, runs: Iterable[Run] | Run, size: float = 10.5, color=BLACK) -> float:
        if isinstance(runs, (str, tuple)):
            runs = [runs]
        runs = list(runs)
        w = sum(text_width(_norm(r)[0], size) for r in runs)
        return self.write((self.width - w) / 2, y, runs, size, color)

    def paragraph(
        self,
        x: float,
        y: float,
        width: float,
        runs: Iterable[Run],
        size: float = 10.5,
        leading: float = 1.6,
        indent: float = 2.0,
    ) -> float:
        """Wrap runs into lines within ``width``; identifiers never break.

        Returns the baseline of the next line.
        """
        tokens: list[tuple[str, str, str]] = []
        for run in runs:
            text, tag, role = _norm(run)
            if tag and tag != CLIN:
                tokens.append((text, tag, role))
            else:
                tokens.extend((c, tag, role) for c in text)
        lines: list[list[tuple[str, str, str]]] = [[]]
        cur = indent * size
        for tok in tokens:
            w = text_width(tok[0], size)
            if cur + w > width and lines[-1]:
                lines.append([])
                cur = 0.0
            lines[-1].append(tok)
            cur += w
        for i, line in enumerate(lines):
            self.write(x + (indent * size if i == 0 else 0), y, _merge(line), size)
            y += size * leading
        return y

    # ------------------------------------------------------------ drawing
    # Paths are written as raw PDF operators (PyMuPDF's Shape costs ~0.2 ms
    # per rectangle, which dominates a 300-page record).  y grows downwards
    # here; PDF space has y = height - y.
    def _y(self, y: float) -> str:
        return f"{self.height - y:.2f}"

    def line(self, x0: float, y0: float, x1: float, y1: float, width: float = 0.6, color=BLACK) -> None:
        self.lines([(x0, y0, x1, y1)], width, color)

    def lines(self, segments, width: float = 0.6, color=BLACK) -> None:
        path = " ".join(f"{x0:.2f} {self._y(y0)} m {x1:.2f} {self._y(y1)} l" for x0, y0, x1, y1 in segments)
        self.ops.append(f"q {_rgb(color)} RG {width:.2f} w {path} S Q\n")

    def rect(self, r, width: float = 0.6, color=BLACK, fill=None) -> None:
        x0, y0, x1, y1 = r
        re = f"{x0:.2f} {self._y(y1)} {x1 - x0:.2f} {y1 - y0:.2f} re"
        if fill is not None and color is not None:
            self.ops.append(f"q {_rgb(fill)} rg {_rgb(color)} RG {width:.2f} w {re} B Q\n")
        elif fill is not None:
            self.ops.append(f"q {_rgb(fill)} rg {re} f Q\n")
        else:
            self.ops.append(f"q {_rgb(color)} RG {width:.2f} w {re} S Q\n")

    def polyline(self, points, width: float = 0.8, color=BLACK) -> None:
        if len(points) < 2:
            return
        (x, y), rest = points[0], points[1:]
        path = f"{x:.2f} {self._y(y)} m " + " ".join(f"{px:.2f} {self._y(py)} l" for px, py in rest)
        self.ops.append(f"q {_rgb(color)} RG {width:.2f} w 1 j {path} S Q\n")

    def image(self, rect, png: bytes, category: str = "", role: str = "") -> None:
        self.images.append((pymupdf.Rect(rect), png))
        if category:
            self.identifiers.append(TruthItem(self.page_index, category, "", tuple(rect), role))

    def visual(self, rect, category: str, role: str = "") -> None:
        """Record a vector-drawn visual identifier (signature scribble, seal)."""
        self.identifiers.append(TruthItem(self.page_index, category, "", tuple(rect), role))

    def finish(self) -> None:
        """Write drawings, text and images to the page (once)."""
        if self.finished:
            return
        self.finished = True
        self.shape.totalcont = "".join(self.ops) + self.shape.totalcont
        self.shape.commit()
        for color, tw in self.writers.items():
            tw.write_text(self.page, color=color)
        for rect, png in self.images:
            self.page.insert_image(rect, stream=png, keep_proportion=False)


def _rgb(color) -> str:
    return " ".join(f"{c:.3f}" for c in color)


def _show(tw: pymupdf.TextWriter, x: float, y: float, text: str, size: float) -> None:
    """``tw.append`` without its per-call bound of all text so far (which
    makes a full page quadratic).  TextWriter maps top-left page space to
    PDF space with ``ctm = (1, 0, 0, -1, 0, height)``."""
    try:
        h = tw.ctm.f
        trm = pymupdf.mupdf.fz_make_matrix(size, 0, 0, size, x, h - y)
        pymupdf.mupdf.fz_show_string(tw.this, font().this, trm, text, 0, 0, 0, 0)
    except (AttributeError, TypeError):  # another PyMuPDF build: the public way
        tw.append((x, y), text, font=font(), fontsize=size)


def _merge(tokens: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Join consecutive plain / clinical characters back into runs."""
    out: list[tuple[str, str, str]] = []
    for text, tag, role in tokens:
        if out and (not tag or tag == CLIN) and out[-1][1] == tag:
            out[-1] = (out[-1][0] + text, tag, role)
        else:
            out.append((text, tag, role))
    return out
