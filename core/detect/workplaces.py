"""Workplaces named in narrative text: "患者在宁波华瑞电子有限公司工作",
"其夫系东湖区第一中学教师".  A run of name characters ending in an
organisation suffix counts only between a cue word before it and a work
word after it (``core/rules/workplaces.yaml``), so "在公司体检时发现" or a
department ("在产科住院") is never taken."""

from __future__ import annotations

import re
from functools import lru_cache

from core.detect.base import AnalysisContext, PageInput, Recognizer, finding_from_span
from core.detect.institutions import NAME_CHARS, after_open_bracket
from core.detect.normalize import literal_alternation
from core.detect.registry import register
from core.models import Category, Finding
from core.rules import load_rules


@lru_cache(maxsize=1)
def _generic_starts() -> tuple[str, ...]:
    return tuple(load_rules("workplaces")["generic_starts"])


@lru_cache(maxsize=1)
def _compiled() -> re.Pattern:
    cfg = load_rules("workplaces")
    suffixes = literal_alternation(cfg["suffixes"])
    return re.compile(
        f"(?:{literal_alternation(cfg['before'])})"
        f"(?P<name>{NAME_CHARS}{{{cfg['min_prefix']},{cfg['max_name']}}}?(?:{suffixes})"
        f"(?:{NAME_CHARS}{{0,8}}?(?:{suffixes}))?)"  # 人民政府 + 办公室: one name
        f"[\u4e00-\u9fff]{{0,{cfg['gap']}}}?(?:{literal_alternation(cfg['after'])})"
    )


@register
class WorkplaceRecognizer(Recognizer):
    name = "workplaces"
    order = 45

    def analyze(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        text = page.text.text
        out: list[Finding] = []
        for ls, le in page.text.lines():
            for m in _compiled().finditer(text, ls, le):
                start = m.start("name") + after_open_bracket(m.group("name"))
                name = text[start : m.end("name")]
                if len(name) < 4 or name.startswith(_generic_starts()):
                    continue
                f = finding_from_span(page, start, m.end("name"), Category.WORKPLACE, self.name, 0.8)
                if f:
                    out.append(f)
                    ctx.add_seed(name, Category.WORKPLACE.value, "found:workplaces")
        return out
