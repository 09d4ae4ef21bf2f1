"""Propagation: a value found anywhere in the record (a name after a label,
a patient name in prose, an ID, a hospital name, a decoded barcode) is
hidden at every other occurrence, on every page, too."""
from __future__ import annotations

from core.detect.base import AnalysisContext, PageInput, Recognizer, Seed
from core.detect.registry import register
from core.detect.seeding import find_seeds
from core.models import Finding


@register
class PropagationRecognizer(Recognizer):
    name = "propagation"
    kind = "record"
    order = 90

    def analyze(self, page, ctx):
        return []

    def analyze_record(self, pages: list[PageInput], findings: list[Finding], ctx: AnalysisContext) -> list[Finding]:
        seeds = [s for s in ctx.seeds if not s.origin.startswith("case_meta")]
        known = {(s.value, s.category) for s in seeds}
        for f in findings:  # whatever is hidden once is hidden everywhere
            key = (f.text.strip(), f.category.value)
            if key[0] and not f.category.is_visual and key not in known:
                known.add(key)
                seeds.append(Seed(key[0], key[1], f"found:{f.detector}", f.role_hint))
        return [f for page in pages for f in find_seeds(page, seeds, self.name, 0.9)]
