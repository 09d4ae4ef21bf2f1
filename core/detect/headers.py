"""Repeated header/footer lines: a line in the top or bottom band that
repeats across pages (digits ignored, so page numbers do not matter) and
carries an identifier on any page has that identifier hidden on every
page where the line repeats."""

from __future__ import annotations

import re
from collections import defaultdict

from core.detect.base import AnalysisContext, PageInput, Recognizer, finding_from_span
from core.detect.registry import register
from core.models import Finding

BAND = 0.12  # top/bottom share of the page height


def _band_lines(page: PageInput):
    pt = page.text
    for s, e in pt.lines():
        rects = pt.rects_for(s, e)
        if not rects:
            continue
        y0, y1 = min(r[1] for r in rects), max(r[3] for r in rects)
        h = pt.height or 1
        if y1 <= h * BAND or y0 >= h * (1 - BAND):
            key = re.sub(r"\d+", "#", re.sub(r"\s+", "", pt.text[s:e]))
            if len(key) >= 4:
                yield key, s, e


@register
class RepeatedHeaderRecognizer(Recognizer):
    name = "repeated_headers"
    kind = "record"
    order = 80

    def analyze(self, page, ctx):
        return []

    def analyze_record(
        self, pages: list[PageInput], findings: list[Finding], ctx: AnalysisContext
    ) -> list[Finding]:
        if len(pages) < 2:
            return []
        occurrences = defaultdict(list)  # key -> [(page, start, end)]
        for page in pages:
            for key, s, e in _band_lines(page):
                occurrences[key].append((page, s, e))
        by_page = defaultdict(list)
        for f in findings:
            by_page[f.page_index].append(f)
        out: list[Finding] = []
        for occ in occurrences.values():
            if len({p.index for p, _, _ in occ}) < 2:
                continue
            values = {}
            for page, s, e in occ:
                for f in by_page[page.index]:
                    if f.text and f.text in page.text.text[s:e]:
                        values[f.text] = f
            for page, s, e in occ:
                line = page.text.text[s:e]
                for value, src in values.items():
                    k = line.find(value)
                    while k >= 0:
                        nf = finding_from_span(
                            page, s + k, s + k + len(value), src.category, self.name, 0.9, src.role_hint
                        )
                        if nf:
                            out.append(nf)
                        k = line.find(value, k + 1)
        return out
