"""Label–value fields: "姓名：张三", a label cell with its value in the next
table cell to the right, or on the line below.  Labels are data
(``core/rules/labels.yaml``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.detect.base import AnalysisContext, PageInput, Recognizer, finding_from_span
from core.detect.normalize import label_regex, plain_forms, visible_text
from core.detect.registry import register
from core.detect.terms import is_clinical_term
from core.models import Category, Finding, PageText, Source
from core.rules import load_rules

SEP = re.compile(r"\s*[:：]\s*|\s+")
COLON = re.compile(r"\s*[:：]\s*")
JOINER = re.compile(r"\s*[/／、]\s*|及|和")  # "地址/电话：", "住址、邮编：": one field, two labels
TYPED_NAME = re.compile(r"[（(]\s*([^\s（()）]{2,8})\s*[）)]")


@dataclass(frozen=True)
class FieldRule:
    label: str
    category: Category
    shape: re.Pattern
    max_len: int
    colon_required: bool
    role_hint: str
    labels_end_value: bool = False  # long values: only a label with its colon ends them


@lru_cache(maxsize=1)
def field_rules() -> tuple:
    cfg = load_rules("labels")
    shapes = {
        k: (re.compile(v["pattern"]), v["max"], v.get("ends_at") == "label")
        for k, v in cfg["value_shapes"].items()
    }
    colon = set(cfg.get("colon_required", []))
    rules: dict[str, FieldRule] = {}
    for group in cfg["fields"]:
        shape, max_len, labels_end = shapes[group["value"]]
        for label in _with_synonyms(group["labels"], cfg.get("label_synonyms", [])):
            key = re.sub(r"\s", "", label)
            hint = key if group.get("role_hints") else ""
            rule = FieldRule(key, Category(group["category"]), shape, max_len, key in colon, hint, labels_end)
            rules.setdefault(key, rule)
    labels = sorted(rules, key=len, reverse=True)  # matched on visible_text(): invisibles are spaces there
    label_re = re.compile("(?:" + "|".join(label_regex(l, on_visible_text=True) for l in labels) + ")")
    stops = sorted(set(cfg.get("stop_words", [])) | set(labels), key=len, reverse=True)
    stop_re = re.compile("|".join(label_regex(s, on_visible_text=True) for s in stops))
    label_stop_re = re.compile("(?:" + stop_re.pattern + r")(?=\s*[:：])")
    prefixes = tuple(sorted(cfg.get("label_prefixes", []), key=len, reverse=True))
    return rules, label_re, stop_re, frozenset(cfg.get("not_values", [])), prefixes, label_stop_re


@lru_cache(maxsize=1)
def _not_name_starts() -> tuple[str, ...]:
    return tuple(load_rules("labels").get("not_name_starts", []))


def _with_synonyms(labels: list[str], pairs: list[list[str]]) -> list[str]:
    """The labels, then each one's variant with its last word swapped for its pair's other word."""
    out = list(labels)
    for label in labels:
        for a, b in pairs:
            for old, new in ((a, b), (b, a)):
                if label.endswith(old) and len(label) > len(old):
                    out.append(label[: -len(old)] + new)
    return list(dict.fromkeys(out))


@register
class LabelFieldRecognizer(Recognizer):
    name = "label_fields"
    order = 30

    def analyze(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        rules, label_re, stop_re, not_values, prefixes, _ = field_rules()
        text = plain_forms(visible_text(page.text.text))  # same length: offsets hold
        lines = page.text.lines()
        findings: list[Finding] = []
        for ls, le in lines:
            for m in label_re.finditer(text, ls, le):
                rule = rules[re.sub(r"\s", "", m.group(0))]
                end = _after_joined_labels(text, m.end(), le, label_re)
                if _inside_word(text, m.start(), ls, prefixes, page.text) and not _role_label_with_colon(
                    text, end, le, rule
                ):
                    continue
                span = self._value_on_line(text, end, le, rule, stop_re, not_values, page.text)
                alone = _alone_in_cell(page.text, text, end, le) and not _form_row(
                    page.text, text, lines, (ls, le), m
                )
                if span is None and alone:
                    span = self._value_in_neighbour(
                        page.text, text, lines, (ls, le), m, rule, stop_re, not_values
                    )
                spans = [span] if span else []
                if span and rule.category.is_person:
                    spans += _names_after(text, span[1], rule, stop_re, not_values, page.text)
                if rule.category.is_person and alone:
                    spans += _column_values(page.text, text, lines, (ls, le), m, rule, stop_re, not_values)
                findings += self._found(page, ctx, spans, rule)
        for line, piece, rule in _labels_wrapped_mid_word(page.text, text, lines, rules):
            span = self._value_in_neighbour(page.text, text, lines, line, piece, rule, stop_re, not_values)
            findings += self._found(page, ctx, [span] if span else [], rule)
        return findings

    def _found(self, page: PageInput, ctx: AnalysisContext, spans, rule: FieldRule) -> list[Finding]:
        out = []
        for span in dict.fromkeys(spans):
            f = finding_from_span(page, span[0], span[1], rule.category, self.name, 0.95, rule.role_hint)
            if f:
                out.append(f)
                if rule.category.is_person or rule.category in (Category.ID_NUMBER, Category.PHONE):
                    ctx.add_seed(f.text, rule.category.value, "found:label_fields", rule.role_hint)
        return out

    @staticmethod
    def _value_on_line(text, pos, line_end, rule, stop_re, not_values, pt: PageText | None = None):
        sep = SEP.match(text, pos, line_end)
        if (sep is None or sep.end() == pos) and pt is not None and _cell_gap(pt, pos, line_end):
            span = _match_value(text, pos, line_end, rule, stop_re, not_values, pt)
            return _cell_value(text, span, rule, stop_re)  # "责任护士│钟明": the next cell
        if sep is None or sep.end() == pos:
            return _signed_name(text, pos, line_end, rule, stop_re, not_values, pt)
        if rule.colon_required and not COLON.match(text, pos, line_end):
            return None
        return _match_value(text, sep.end(), line_end, rule, stop_re, not_values, pt)

    @staticmethod
    def _value_in_neighbour(pt: PageText, text: str, lines, line, m, rule, stop_re, not_values):
        label_rects = pt.rects_for(m.start(), m.end())
        if not label_rects:
            return None
        h = max(1.0, label_rects[-1][3] - label_rects[-1][1])  # one line's height
        whole = pt.rects_for(*line) if not text[m.end() : line[1]].strip() else []
        label = _label_box(whole if len(whole) > 1 else label_rects)  # 持证人 / 姓名 wrapped in its cell
        if label == label_rects[-1]:  # a label read over two lines already is its box (join_cell_wraps)
            label = _stacked_label_box(pt, text, lines, line, label)
        lx0, ly0, lx1, ly1 = label
        candidates = []
        for ls, le in lines:
            if (ls, le) == line:
                continue
            rects = pt.rects_for(ls, le)
            if not rects:
                continue
            x0, y0, x1, y1 = rects[0]
            overlap = min(y1, ly1) - max(y0, ly0)
            if overlap > 0.5 * h and x0 >= lx1 - 2 and x0 - lx1 < 12 * h:
                if not _cell_between(pt, lines, label, x0):
                    candidates.append(((0, x0 - lx1), ls, le))  # same row, the next cell to the right
            else:
                piece = _piece_below(pt, text, ls, le, label)
                if piece is not None:
                    candidates.append(((1, piece[1]), piece[0], le))  # directly below
        # nearest first; a neighbour that holds no value (the next header
        # cell "一助" right of "术者") gives way to the next one (the cell below)
        for _, ls, le in sorted(candidates)[:3]:
            blanks = LEADING_BLANKS.match(text, ls, le)  # "&nbsp;" before a cell's value too
            start = blanks.end() if blanks else ls
            span = _cell_value(
                text, _match_value(text, start, le, rule, stop_re, not_values, pt), rule, stop_re
            )
            if span:
                return span
        return None


def _form_row(pt: PageText, text: str, lines, line, m) -> bool:
    """A label with its colon on a row of such labels ("孕妇姓名：　　年龄：　　高危因素："): a form's
    blanks, each value on the row, so an empty blank takes nothing from the cell below or the column
    under it (the next table's header 孕周).  Any word before a colon counts as a label here."""
    ls, le = line
    rects = pt.rects_for(m.start(), m.end())
    if not COLON.match(text, m.end(), le) or not rects:
        return False
    x1, y0, y1 = rects[-1][2], rects[-1][1], rects[-1][3]
    for s, e in lines:
        for other in COLON_LABEL.finditer(text, m.end() if s == ls else s, e):
            box = pt.rects_for(other.start(), other.end())
            if box and box[0][0] > x1 and min(box[0][3], y1) - max(box[0][1], y0) > 0.5 * (y1 - y0):
                return True
    return False


COLON_LABEL = re.compile(r"[\u4e00-\u9fff]{2,10}\s*[:：]")


def _label_box(rects: list) -> tuple:
    """The box of a label: a label wrapped inside its narrow cell (工作 / 单位, read as one line) is the box
    of its lines; else its last piece."""
    last = rects[-1]
    stacked = [r for r in rects if r[0] < last[2] and r[2] > last[0]]  # the lines above it in its cell
    if len(stacked) > 1 and all(a[3] <= b[1] + 0.5 * (b[3] - b[1]) for a, b in zip(stacked, stacked[1:])):
        return (min(r[0] for r in stacked), stacked[0][1], max(r[2] for r in stacked), last[3])
    return last


BELOW_GAP = 1.2  # a value below its label starts at most this many label heights under it
STACKED_PIECE = re.compile(r"[\u4e00-\u9fff]{1,4}")
LEADING_BLANKS = re.compile(r"[\s:：]*")


def _stacked_label_box(pt: PageText, text: str, lines, line, label):
    """A label printed over two lines of one narrow cell ("工作" above "单位", "持证人" above "姓名"): the box
    of both lines, so that the value cell to the right, centred on the two lines, is on the same row.  The
    piece above is a short run of Chinese characters, centred over the label, with (almost) no gap between
    the two lines: the next row's label is further away."""
    lx0, ly0, lx1, ly1 = label
    h = max(1.0, ly1 - ly0)
    centre = (lx0 + lx1) / 2
    for ls, le in lines:
        if (ls, le) == line or not STACKED_PIECE.fullmatch(text[ls:le].strip()):
            continue
        rects = pt.rects_for(ls, le)
        if len(rects) != 1:
            continue
        x0, y0, x1, y1 = rects[0]
        if -0.3 * h <= ly0 - y1 < 0.3 * h and abs((x0 + x1) / 2 - centre) < h and y1 - y0 < 1.5 * h:
            return (min(lx0, x0), y0, max(lx1, x1), ly1)
    return label


class _Piece:
    """The span of one line, in the shape of the label match ``_value_in_neighbour`` takes."""

    def __init__(self, start: int, end: int):
        self._start, self._end = start, end

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end


def _labels_wrapped_mid_word(pt: PageText, text: str, lines, rules: dict):
    """Labels that wrap inside a narrow cell in the middle of a word ("配偶姓" over "名", "子女姓" over "名"):
    (the lower line, its span, the rule) for every line that completes the line right above it into a label.
    The upper piece is no label of its own (a label that is whole on one line is read as such)."""
    by_line = [(ls, le, text[ls:le].strip()) for ls, le in lines]
    for ls, le, lower in by_line:
        if not STACKED_PIECE.fullmatch(lower):
            continue
        rects = pt.rects_for(ls, le)
        if len(rects) != 1:
            continue
        start = ls + text[ls:le].index(lower)
        box = _stacked_label_box(pt, text, lines, (ls, le), rects[0])
        if box == rects[0]:
            continue
        for us, ue, upper in by_line:
            ur = pt.rects_for(us, ue)
            if (
                len(ur) == 1
                and abs(ur[0][1] - box[1]) < 0.5
                and upper + lower in rules
                and upper not in rules
            ):
                yield (ls, le), _Piece(start, start + len(lower)), rules[upper + lower]
                break


def _cell_between(pt: PageText, lines, label, x: float) -> bool:
    """Some other text stands on the label's row between the label and ``x``
    (the cell right of the label is not the one at ``x``)."""
    lx0, ly0, lx1, ly1 = label
    cy = (ly0 + ly1) / 2
    for ls, le in lines:
        rects = pt.rects_for(ls, le)
        if rects:
            r = rects[0]
            if r[0] >= lx1 - 2 and r[2] <= x - 0.5 and r[1] <= cy <= r[3]:
                return True
    return False


def _is_under(label, box) -> bool:
    """``box``'s centre is below ``label``'s, by half a line, and its top
    below the label's middle.  Centres, not edges: OCR boxes of a table's
    rows overlap a little, and a header box may take in some of its cell's
    border."""
    ly0, ly1, y0, y1 = label[1], label[3], box[1], box[3]
    lcy, cy = (ly0 + ly1) / 2, (y0 + y1) / 2
    return cy - lcy >= 0.5 * max(1.0, min(ly1 - ly0, y1 - y0)) and y0 >= lcy


def _below(label, box) -> float | None:
    """How far ``box`` lies under ``label`` (None: not under it).  Judged by
    centres (``_is_under``); horizontally a value is centred under its
    header as often as it is left-aligned with it."""
    lx0, ly0, lx1, ly1 = label
    x0, y0, x1, y1 = box
    h = max(1.0, ly1 - ly0)
    if not _is_under(label, box) or y0 - ly1 >= BELOW_GAP * h:
        return None
    lcx, cx = (lx0 + lx1) / 2, (x0 + x1) / 2
    if not (x0 <= lcx <= x1 or lx0 <= cx <= lx1):
        return None
    if x0 < lx0 - 1.5 * h:
        return None  # it starts under another column (text overflowing from the cell on the left)
    return max(0.0, y0 - ly1)


def _piece_below(pt: PageText, text: str, ls: int, le: int, label):
    """(start, distance) of the piece of line ``ls:le`` under ``label``: a
    run of characters without a cell-wide blank (a text layer joins the
    cells of a table row into one line), or None."""
    best = None
    lcx = (label[0] + label[2]) / 2
    for ps, pe in _pieces_of_line(pt, text, ls, le):
        rects = pt.rects_for(ps, pe)
        if rects:
            d = _below(label, rects[0])
            if d is not None:
                # the piece centred nearest under the label (a procedure name that
                # overflows its cell reaches under the next column's header too)
                off = abs((rects[0][0] + rects[0][2]) / 2 - lcx)
                if best is None or off < best[0]:
                    best = (off, ps, d)
    return None if best is None else (best[1], best[2])


def _pieces_of_line(pt: PageText, text: str, ls: int, le: int):
    start, prev = -1, -1
    for i in range(ls, le):
        if text[i].isspace() or pt.boxes[i] is None:
            continue
        if start >= 0 and not _same_cell(pt, prev, i):
            yield start, prev + 1
            start = -1
        if start < 0:
            start = i
        prev = i
    if start >= 0:
        yield start, prev + 1


def _column_values(pt: PageText, text: str, lines, line, m, rule, stop_re, not_values, max_rows: int = 60):
    """A column header such as 护士签名 / 签名 in a table: the name in every
    cell below it, while the cells keep coming (gap < 3 line heights) and
    hold names."""
    label_rects = pt.rects_for(m.start(), m.end())
    if not label_rects:
        return []
    lx0, ly0, lx1, ly1 = label_rects[-1]
    h = max(1.0, ly1 - ly0)
    below = []
    for ls, le in lines:
        rects = pt.rects_for(ls, le)
        if not rects or (ls, le) == line:
            continue
        x0, y0, x1, y1 = rects[0]
        centre = (x0 + x1) / 2
        if _is_under((lx0, ly0, lx1, ly1), rects[0]) and (lx0 - h <= centre <= lx1 + h):
            below.append((y0, ls, le))
    below.sort()
    spans, last_y = [], ly1
    for y0, ls, le in below[:max_rows]:
        if y0 - last_y > 3 * h + 8:
            break
        last_y = y0
        start = ls + (len(text[ls:le]) - len(text[ls:le].lstrip()))
        span = _cell_value(text, _match_value(text, start, le, rule, stop_re, not_values, pt), rule, stop_re)
        if not (span and _looks_like_name(text[span[0] : span[1]].strip("（()）"))):
            break  # a cell that holds no name ("药物过敏" rows below, the label "采集时间" of a grid): the column has ended
        spans.append(span)
    return spans


NAME_GAP = re.compile(r"[ \t\u00a0\u3000]+|[ \t\u00a0\u3000]*[、/／，,][ \t\u00a0\u3000]*")
NAME_END = " \t\u00a0\u3000、/／，,;；。）)"
MORE_NAMES = 3  # names after the first in one person field


def _names_after(text: str, end: int, rule: FieldRule, stop_re, not_values, pt: PageText) -> list:
    """ "审核者：桂焱   闻人晗滢", "医师：王伟、李娜": the further names that share the first one's field on its
    line, each after a blank or a list mark, each ending the line or ending before a blank or a mark."""
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    spans: list[tuple[int, int]] = []
    while len(spans) < MORE_NAMES:
        gap = NAME_GAP.match(text, end, line_end)
        if gap is None or gap.end() >= line_end:
            break
        span = _match_value(text, gap.end(), line_end, rule, stop_re, not_values, pt)
        if span is None or not _common_name(text[span[0] : span[1]]):
            break
        if span[1] < line_end and text[span[1]] not in NAME_END:
            break  # runs on into other text: not a name of the list
        spans.append(span)
        end = span[1]
    return spans


def _common_name(value: str) -> bool:
    """A name with a common surname (or a compound one): no label ties it to the field, only the list."""
    from core.detect.names import has_compound_surname, is_rare_surname

    return _looks_like_name(value) and (has_compound_surname(value) or not is_rare_surname(value[0]))


def _surname_alone(value: str, rule: FieldRule) -> bool:
    """A person field holding one character that is a surname (姓名：覃): a name cut short or typed so."""
    from core.detect.names import starts_with_surname

    return rule.category.is_person and len(value) == 1 and starts_with_surname(value)


def _read_short_by_ocr(value: str, rule: FieldRule, pt: PageText | None, start: int, vend: int) -> bool:
    """A person field holding one Chinese character that OCR read (户主姓名：玥): the recogniser drops a
    character it cannot read, a rare surname (訾) first, and the box of what it read covers the whole line
    it detected, so the field's value is the name cut short."""
    if not (rule.category.is_person and len(value) == 1 and "\u4e00" <= value <= "\u9fff") or pt is None:
        return False
    return any(pt.sources[i] == Source.OCR for i in range(start, vend) if not pt.text[i].isspace())


def _wrapped_label_at(text: str, start: int) -> bool:
    """The character at ``start`` begins a label that wraps onto the next line of a narrow cell ("配偶姓" /
    "名": 姓 is the start of 姓名, not a one-character name)."""
    flat = re.sub(r"\s", "", text[start : start + 8])
    m = field_rules()[1].match(flat)
    return m is not None and m.end() > 1


def _looks_like_name(value: str) -> bool:
    from core.detect.names import cue_regexes, is_plausible_name

    return is_plausible_name(value, cue_regexes()[4])


def _match_value(text, start, end, rule: FieldRule, stop_re, not_values, pt: PageText | None = None):
    if rule.category.is_person:
        typed = TYPED_NAME.match(text, start, end)
        if typed:  # "医师签名：（刘刚）": the typed name beside a signature, brackets and all
            inner = _match_value(text, typed.start(1), typed.end(1), rule, stop_re, not_values)
            return (start, typed.end()) if inner and inner[1] == typed.end(1) else None
    vm = rule.shape.match(text, start, end)
    if not vm or stop_re.match(text, start, end):
        return None  # nothing, or the next label ("联系人 电话：…")
    vend = min(vm.end(), start + rule.max_len)
    ends = field_rules()[5] if rule.labels_end_value else stop_re
    stop = ends.search(text, start + 1, vend + 3)  # a colon may follow just past the value
    if stop and stop.start() < vend:
        vend = stop.start()
    elif rule.labels_end_value and pt is not None:
        vend = _through_spaces(text, start, vend, end, rule, ends, pt)
    value = text[start:vend].strip()
    short = len(value) < 2 and not any(ch.isdigit() for ch in value)
    cut_short = _surname_alone(value, rule) or _read_short_by_ocr(value, rule, pt, start, vend)
    if short and (not cut_short or _wrapped_label_at(text, start)):
        return None
    if rule.category.is_person and _is_a_label(text, start + len(text[start:vend].rstrip()), end):
        return None
    if rule.category.is_person and _runs_on(text, vm.end(), vend, end):
        return _name_opening_prose(text, start)
    if value in not_values or any(value.startswith(n) and len(n) >= len(value) - 0 for n in not_values):
        return None
    if rule.category.is_person and value.startswith(_not_name_starts()):
        return None  # "患者" above "诉胸闷…": prose
    if (rule.category.is_person or rule.category == Category.WORKPLACE) and is_clinical_term(value):
        return (
            None  # a narrow cell of prose read one word a line ("孕妇" above "平素"), the next row's 月经史
        )
    if rule.category.is_person and not re.match(r"^[\u4e00-\u9fffA-Za-z·•]", value):
        return None
    return (start, start + len(text[start:vend].rstrip()))


SIGNATURE_WORDS = ("签名", "签字")


def _signed_name(text, pos, line_end, rule: FieldRule, stop_re, not_values, pt):
    """ "医（护）人员签名于婷海": a name printed into the blank right after a signature label, glued to
    it, and nothing else on the line.  Any other label glued to text is prose, not a field."""
    if not (rule.category.is_person and rule.label.endswith(SIGNATURE_WORDS)):
        return None
    span = _match_value(text, pos, line_end, rule, stop_re, not_values, pt)
    if span is None or text[span[1] : line_end].strip() or not _looks_like_name(text[span[0] : span[1]]):
        return None
    return span


def _is_a_label(text: str, value_end: int, line_end: int) -> bool:
    """What stands where a person's value should be is a label itself: its
    colon follows right after it ("报告医师：" above "审核：解江")."""
    return value_end < line_end and text[value_end] in ":："


def _runs_on(text: str, shape_end: int, vend: int, line_end: int) -> bool:
    """The name shape stopped at its length limit inside a run of CJK prose
    ("主任医师：同意上述意见"): no label or cell ended it, so it is a sentence."""
    return vend == shape_end < line_end and "\u4e00" <= text[shape_end] <= "\u9fff"


def _name_opening_prose(text: str, start: int):
    """A sentence after a person's label ("患者：王芳因发热入院") keeps the
    name that opens it when it has a common surname, else nothing is taken
    ("主任医师：同意上述意见": 同 is a rare surname, the line is speech)."""
    from core.detect.names import cue_regexes, is_plausible_name, is_rare_surname

    for length in (3, 2):
        cand = text[start : start + length]
        if is_plausible_name(cand, cue_regexes()[4]) and not is_rare_surname(cand[0]):
            return (start, start + length)
    return None


def _cell_value(text: str, span, rule: FieldRule, stop_re):
    """A person's value taken from a neighbouring cell (no colon ties it to
    the label) is no name when a label word runs on from it: the cell is a
    header ("执行时间", "停止日期") or the next field's label ("报告时间：…"
    below an empty 监护医师：).  A name that fills its cell stays, even one
    whose surname OCR misread."""
    if span is None or not rule.category.is_person:
        return span
    return None if stop_re.match(text, span[1]) else span


SPACE_IN_VALUE = 1.5  # a blank narrower than this (in glyph heights) inside a long value is a space in it, not a cell boundary
VALUE_PIECE = re.compile(r"[^\s，,。；;：:]+")


def _through_spaces(text: str, start: int, vend: int, end: int, rule: FieldRule, ends, pt: PageText) -> int:
    """A long value (address, workplace …) runs on over spaces, the ones OCR
    inserts at a wobble ("江苏省南京市 鼓楼区中山路 12号") and typed ones,
    up to the next label, a cell boundary (a blank of SPACE_IN_VALUE glyph
    heights or more), punctuation or the line end."""
    pos = vend
    while pos < end:
        gap = re.match(r"[ \t]+", text[pos:end])
        if not gap:
            break
        nxt = pos + gap.end()
        piece = VALUE_PIECE.match(text, nxt, end)
        if not piece or not _same_cell(pt, pos - 1, nxt) or ends.match(text, nxt, end):
            break
        new_end = piece.end()
        stop = ends.search(text, nxt + 1, new_end + 3)
        if stop and stop.start() < new_end:
            new_end = stop.start()
        if new_end - start > rule.max_len or new_end <= nxt:
            break
        pos = new_end
        if stop and stop.start() <= new_end:
            break
    return pos


def _same_cell(pt: PageText, i: int, j: int) -> bool:
    """Characters ``i`` and ``j`` of one line stand close enough to be one value."""
    a = pt.boxes[i] if 0 <= i < len(pt.boxes) else None
    b = pt.boxes[j] if 0 <= j < len(pt.boxes) else None
    if a is None or b is None:
        return False
    h = max(1.0, min(a[3] - a[1], b[3] - b[1]))
    return -0.5 * h <= b[0] - a[2] < SPACE_IN_VALUE * h


CELL_GAP = 0.5  # a blank this wide (in glyph heights) between a label and what follows: a table cell boundary


def _cell_gap(pt: PageText, pos: int, line_end: int) -> bool:
    """The label's last glyph and the next one stand a cell apart (text
    extraction joins the cells of a table row into one line)."""
    if pos <= 0 or pos >= line_end:
        return False
    a, b = pt.boxes[pos - 1], pt.boxes[pos]
    if a is None or b is None:
        return False
    return b[0] - a[2] >= CELL_GAP * max(1.0, a[3] - a[1])


STAFF_CATEGORIES = (Category.DOCTOR_NAME, Category.NURSE_NAME, Category.STAFF_NAME)


def _after_joined_labels(text: str, end: int, line_end: int, label_re: re.Pattern) -> int:
    """Where the label that ends at ``end`` ends with the labels joined to it before one colon
    ("地址/电话：" ends after 电话): the value after the colon belongs to both, and is hidden as the first's."""
    joined = end
    while (j := JOINER.match(text, joined, line_end)) and j.end() > joined:
        nxt = label_re.match(text, j.end(), line_end)
        if not nxt:
            break
        joined = nxt.end()
    return joined if joined > end and COLON.match(text, joined, line_end) else end


def _role_label_with_colon(text: str, end: int, line_end: int, rule: FieldRule) -> bool:
    """ "手术操作医生：", "审核调配药师：": a staff title glued to words that
    qualify it, then its colon, is still the field's label."""
    return rule.category in STAFF_CATEGORIES and bool(COLON.match(text, end, line_end))


def _inside_word(
    text: str, start: int, line_start: int, prefixes: tuple = (), pt: PageText | None = None
) -> bool:
    """'医师' inside '主治医师' is found as the longer label; a label glued to
    preceding CJK prose ("向家属交代") is not a field label, unless what
    precedes is a person word ("监护人工作单位")."""
    if pt is not None and start > line_start and _wraps_before(pt, start):
        return False  # the label starts the next line of its cell (持证人 / 姓名)
    if start == line_start or text[line_start:start].endswith(prefixes):
        return False
    prev = text[start - 1]
    return "\u4e00" <= prev <= "\u9fff"


def _wraps_before(pt: PageText, i: int) -> bool:
    """The character at ``i`` starts a new line of a wrapped line (its box lies below and left of the one
    before)."""
    from core.models import wraps_after

    a, b = pt.boxes[i - 1], pt.boxes[i]
    return a is not None and b is not None and wraps_after(a, b)


def _alone_in_cell(pt: PageText, text: str, pos: int, line_end: int) -> bool:
    """Nothing follows the label in its cell: the line ends, or what comes
    next stands a cell apart (a header row read as one line: "手术日期
    手术名称  麻醉医师  备注", the values in the row below)."""
    if _rest_is_empty(text, pos, line_end):
        return True
    j = pos
    while j < line_end and (text[j].isspace() or text[j] in ":：_"):
        j += 1
    return j > pos and not _same_cell(pt, pos - 1, j)


def _rest_is_empty(text: str, pos: int, line_end: int) -> bool:
    return not text[pos:line_end].strip(" \t:：_")
