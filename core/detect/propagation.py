"""Propagation: a value found anywhere in the record (a name after a label,
a patient name in prose, an ID, a hospital name, a decoded barcode) is
hidden at every other occurrence, on every page, too."""

from __future__ import annotations

from core.detect.base import AnalysisContext, PageInput, Recognizer, Seed
from core.detect.registry import register
from core.detect.seeding import find_seeds
from core.detect.terms import is_clinical_word, term_spans
from core.models import Category, Finding


@register
class PropagationRecognizer(Recognizer):
    name = "propagation"
    kind = "record"
    order = 90

    def analyze(self, page, ctx):
        return []

    def analyze_record(
        self, pages: list[PageInput], findings: list[Finding], ctx: AnalysisContext
    ) -> list[Finding]:
        seeds = [s for s in ctx.seeds if not s.origin.startswith("case_meta")]
        known = {(s.value, s.category) for s in seeds}
        for f in findings:  # whatever is hidden once is hidden everywhere
            key = (f.text.strip(), f.category.value)
            if key[0] and not f.category.is_visual and key not in known:
                known.add(key)
                seeds.append(Seed(key[0], key[1], f"found:{f.detector}", f.role_hint))
        return [
            f for page in pages for f in find_seeds(page, seeds, self.name, 0.9, _inside_clinical_word(page))
        ]


def _inside_clinical_word(page: PageInput):
    """A name is not propagated into a clinical term: 墨菲 found once is not
    hidden in 墨菲氏征, 金山 not in (金山专用)."""
    text = page.text.text
    terms = term_spans(text)

    def skip(seed: Seed, start: int, end: int) -> bool:
        return Category(seed.category).is_person and is_clinical_word(text, start, end, terms)

    return skip
