"""Signatures after signature labels (医师签名：, 记录者, 患者/家属签名 …).

Born-digital pages: the EMR places a signature *image* (or a vector path
from a signature pad) right of or just around the label; small images and
non-line drawings there are the signature.

Scanned pages (or labels read by OCR from an inserted scan): handwritten
ink near the label -- dark strokes that are not inside the boxes of OCR'd
printed characters.  Ink pieces are grown from the spot right of the label
so the whole signature is covered, even where it crosses the label line or
the lines above and below.
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from core.detect.base import AnalysisContext, PageInput, trimmed_to_ink
from core.detect.registry import register
from core.detect.visual.common import (
    VisualRecognizer,
    cfg,
    char_boxes,
    clip_view,
    finding,
    glyph_box,
    ink_box,
    label_regex,
    layout,
    merge_boxes,
    printed_mask,
    span_rect,
)
from core.detect.visual.upright import along_text_lines
from core.models import Category, Finding, PageText, Rect, Source, as_rect
from core.pdf import geometry

# printed characters that never belong to a signature (dates, times, numbers)
KEEP_CHARS = set("0123456789０１２３４５６７８９-/:：.年月日时分秒")
PRINT_HEIGHT = 1.5  # label heights: an OCR'd digit taller than this is handwriting read as a digit


def _printed_number(ch: str, box, label_height: float) -> bool:
    """A digit or date/time mark in print: a date or time beside a signature stays readable.  OCR reads
    a scribbled signature as digits too ("22"), but those boxes are as tall as the handwriting."""
    return ch in KEEP_CHARS and box is not None and box[3] - box[1] <= PRINT_HEIGHT * label_height


NEXT_LABEL = re.compile(r"[\u4e00-\u9fff]{2}[:：]")
SENTENCE_PUNCT = re.compile(r"[，。；！？,;]")
SPEECH_CHARS = 8  # a role label followed by this many characters and a comma or full stop: speech


def _overlap_y(a: Rect, b: Rect) -> float:
    return max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


class _Label:
    def __init__(self, text: PageText, start: int, end: int, rect: Rect, role_label: bool = False):
        self.start, self.end, self.rect = start, end, rect
        self.role_label = role_label
        self.height = max(4.0, rect[3] - rect[1])
        self.ocr = text.source_for(start, end) == Source.OCR
        line_end = text.text.find("\n", end)
        self.line_end = len(text.text) if line_end < 0 else line_end
        self.limit_x = rect[2] + cfg("signature").get("max_width", 170)
        m = NEXT_LABEL.search(text.text, end, self.line_end)
        if m:
            # the next field's label starts after the last space before its colon
            colon = m.end() - 1
            k = m.start()
            while k > end and not text.text[k - 1].isspace() and colon - k < 6:
                k -= 1
            k = k if k > end and text.text[k - 1].isspace() else m.start()
            if box := text.boxes[k]:
                self.limit_x = min(self.limit_x, box[0] - 1)
        # Only after "医师签名：" (a colon) may OCR'd letters be the signature read
        # as text; a table header "医师签名" or "家属签名同意…" in a sentence is print.
        self.colon = text.text[end - 1] in ":："
        # a role label ("记录者：", "主治医师：") is followed by the printed name first:
        # "主治医师：王建国 [signature image]"; that first run is print
        self.role = not any(k in text.text[start:end] for k in ("签名", "签字", "签章"))
        # "主治医师：患者病情进展迅速，…" in a discussion record: what follows the
        # role label on its line is a sentence someone said, not a signature field
        rest = text.text[end : self.line_end]
        self.speech = role_label and len(rest.strip()) >= SPEECH_CHARS and bool(SENTENCE_PUNCT.search(rest))
        # a table header ("医师签名" alone in its cell): the signatures are below it
        nxt = next(
            (j for j in range(end, self.line_end) if not text.text[j].isspace() and text.boxes[j]), None
        )
        self.alone = nxt is None  # nothing after it on its line: the signature may be right of it too
        nxt_box = None if nxt is None else text.boxes[nxt]
        self.header = (
            not self.colon
            and not self.role_label
            and (self.alone or nxt_box is None or nxt_box[0] - rect[2] > 1.5 * self.height)
        )
        if self.header:  # the whole header word ("执行者签名"): its column is as wide
            self.rect = _word_rect(text, start, rect, self.height)
        self.start_x, self.first_run_end = rect[2], end
        prev = rect[2]
        for j in range(end, min(self.line_end, end + 5)):
            b = glyph_box(text, j)
            if (
                b is None
                or not text.text[j].isalpha()
                or b[0] - prev > 0.6 * self.height
                or b[0] >= self.limit_x
            ):
                break
            self.start_x = prev = b[2]
            self.first_run_end = j + 1


def _colon_ink_end(text: PageText, lab: _Label, ink: np.ndarray, v, origin) -> float | None:
    """Where the ink of the colon that ends ``lab`` stops (points), or None.

    OCR's box of a label often stops short of its colon's ink, and the colon
    then reads as the first stroke of the signature: the box swallowed the
    colon's cell.  The colon is the narrow run of ink columns, in the label's
    middle rows, nearest the middle of the colon's cell (one character pitch
    of the label from the colon box's left edge: OCR may merge the colon and
    the handwriting after it into one wide box)."""
    if not lab.colon or (cb := text.boxes[lab.end - 1]) is None:
        return None
    pitch = _pitch(text, lab)
    if pitch is None:
        return None
    x0, y0 = origin
    y_mid = (lab.rect[1] + lab.rect[3]) / 2
    band = (cb[0], y_mid - 0.3 * pitch, cb[0] + pitch, y_mid + 0.3 * pitch)
    bx0, by0, bx1, by1 = v.px(band)
    bx0, bx1, by0, by1 = bx0 - x0, bx1 - x0, by0 - y0, by1 - y0
    if bx1 - bx0 < 2 or by1 - by0 < 2 or bx0 < 0 or by0 < 0:
        return None
    cols: np.ndarray = np.asarray(ink[by0:by1, bx0:bx1].any(axis=0))
    runs, start = [], None
    for i, on in enumerate(list(cols) + [False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            runs.append((start, i))
            start = None
    narrow = [r for r in runs if r[1] - r[0] <= max(2, v.n(0.4 * pitch))]
    if not narrow:
        return None
    mid = (bx1 - bx0) / 2
    run = min(narrow, key=lambda r: abs((r[0] + r[1]) / 2 - mid))
    return v.pt((bx0 + run[1] + x0, 0, bx0 + run[1] + x0 + 1, 1))[0]


def _pitch(text: PageText, lab: _Label) -> float | None:
    """The label's character pitch (points) from its characters' OCR boxes."""
    xs = [b[0] for i in range(lab.start, lab.end - 1) if (b := text.boxes[i]) is not None]
    if len(xs) < 2 or xs[-1] <= xs[0]:
        return None
    return (xs[-1] - xs[0]) / (len(xs) - 1)


def _word_rect(text: PageText, start: int, rect: Rect, height: float) -> Rect:
    """``rect`` grown left over the characters that run into it without a gap."""
    k, x0 = start, rect[0]
    while k > 0 and text.text[k - 1] not in "\n" and not text.text[k - 1].isspace():
        b = glyph_box(text, k - 1)
        if b is None or x0 - b[2] > 0.5 * height or b[0] >= x0:
            break
        x0, k = b[0], k - 1
    return (x0, rect[1], rect[2], rect[3])


def _line_spans(text: PageText) -> list[tuple[float, float]]:
    """For every character offset, the x extent of its line's glyphs."""
    out = [(0.0, 0.0)] * len(text.text)
    for s, e in text.lines():
        bs = [
            b
            for i in range(s, e)
            if text.boxes[i] is not None
            and not text.text[i].isspace()
            and (b := glyph_box(text, i)) is not None
        ]
        if bs:
            out[s:e] = [(min(b[0] for b in bs), max(b[2] for b in bs))] * (e - s)
    return out


FIELD_LABEL = re.compile(r"[\u4e00-\u9fff]{2,}\s*[:：]")


def _table_end(text: PageText, left: float, right: float, below: float) -> float:
    """Where a column headed by a signature label ends: at the first line
    below ``below`` that holds a field label ("切口等级：") reaching into the
    column -- a new section of the form, no cell of the table."""
    end = float("inf")
    for m in FIELD_LABEL.finditer(text.text):
        rect = span_rect(text, m.start(), m.end())
        if rect is not None and rect[1] >= below and rect[0] < right and rect[2] > left:
            end = min(end, rect[1] - 1)
    return end


def _line_lengths(text: PageText) -> list[int]:
    """For every character offset, the number of non-space characters of its line."""
    out = [0] * len(text.text)
    for s, e in text.lines():
        n = sum(1 for c in text.text[s:e] if not c.isspace())
        out[s:e] = [n] * (e - s)
    return out


def find_labels(text: PageText) -> list[_Label]:
    """Signature labels (colon optional) and staff-role labels (only when a
    colon follows: "主治医师：", not "主治医师查房")."""
    c = cfg("signature")
    out: list[_Label] = []
    spans: list[tuple[int, int]] = []
    for rx, need_colon in (
        (label_regex(c.get("labels", [])), False),
        (label_regex(c.get("role_labels", [])), True),
    ):
        for m in rx.finditer(text.text):
            if need_colon and text.text[m.end() - 1] not in ":：":
                continue
            if any(s <= m.start() < e for s, e in spans):
                continue
            rect = span_rect(text, m.start(), m.end())
            if rect is not None:
                spans.append((m.start(), m.end()))
                out.append(_Label(text, m.start(), m.end(), rect, need_colon))
    return out


def _window(label: _Label) -> Rect:
    c = cfg("signature")
    reach = c.get("line_reach", 1.6) * label.height
    r = label.rect
    return (r[0], r[1] - reach, max(r[2] + 10, label.limit_x), r[3] + reach)


@register
class SignatureRecognizer(VisualRecognizer):
    name = "signature"
    order = 16

    @along_text_lines
    def find(self, page: PageInput, ctx: AnalysisContext) -> list[Finding]:
        labels = find_labels(page.text)
        if not labels:
            return []
        boxes: list[tuple[Rect, float, str]] = []
        line_len = _line_lengths(page.text)
        for lab in labels:
            if lab.header:
                boxes += [(r, 0.8, "column") for r in self._column(page, lab, line_len)]
                if not lab.alone:
                    continue  # other column headers follow on the right
            if lab.speech:
                continue
            if page.is_scanned or lab.ocr:
                r = self._ink(page, lab, line_len)
                if r:
                    boxes.append((r, 0.8, "ink"))
            else:
                for r in self._objects(page, lab):
                    boxes.append((ink_box(page, r), 0.9, "image"))
        pad = cfg("signature").get("pad", 2)
        merged = merge_boxes([list(b[0]) for b in boxes], 0)
        out = []
        for m in merged:
            conf = max(b[1] for b in boxes if geometry.intersection(b[0], as_rect(m)) > 0)
            out.append(finding(page, Category.SIGNATURE, as_rect(m), self.name, conf, pad=pad))
        return out

    # -- a table column headed "医师签名": signatures in the cells below
    def _column(self, page: PageInput, lab: _Label, line_len: list[int]) -> list[Rect]:
        c = cfg("signature")
        w = lab.rect[2] - lab.rect[0]
        bottom = (page.text.height or page.pdf_page.rect.height) * 0.95
        left, right = lab.rect[0] - 0.3 * w, lab.rect[2] + 0.3 * w
        bottom = min(bottom, _table_end(page.text, left, right, lab.rect[3] + lab.height))
        col = (left, lab.rect[3] + 1, right, bottom)
        if col[3] - col[1] < lab.height:
            return []
        if not (page.is_scanned or lab.ocr):
            max_area = c.get("max_image_area", 40000)
            return [
                ink_box(page, im.rect)
                for im in layout(page).images
                if col[0] <= (im.rect[0] + im.rect[2]) / 2 <= col[2]
                and im.rect[1] >= lab.rect[3] - 1
                and geometry.area(im.rect) <= max_area
            ]
        v = clip_view(page, col, page.dpi if page.is_scanned else 150)
        x0, y0, x1, y1 = v.px(col)
        if x1 - x0 < 4 or y1 - y0 < 4:
            return []
        ink = (v.gray[y0:y1, x0:x1] < int(c.get("ink_gray", 120))).astype(np.uint8)
        ink = self._drop_rules(ink, min(v.n(30), int((x1 - x0) * 0.7)), v.n(3))
        text = page.text
        offsets, arr = char_boxes(page)
        near: np.ndarray | list = (
            (arr[:, 2] >= col[0]) & (arr[:, 0] <= col[2]) & (arr[:, 3] >= col[1]) & (arr[:, 1] <= col[3])
            if len(arr)
            else []
        )
        # a handwritten name OCR'd as a short line of letters in a cell is still ink
        # what OCR read inside the column's cells (a line that stays within the
        # column) is a signature or a typed name, unless it is a date or time
        spans = _line_spans(text)
        slack = lab.height
        skip = {
            int(i)
            for i in offsets[near]
            if not text.text[int(i)].isspace()
            and not _printed_number(text.text[int(i)], text.boxes[int(i)], lab.height)
            and spans[int(i)][0] >= col[0] - slack
            and spans[int(i)][1] <= col[2] + slack
        }
        printed = printed_mask(v, page, (x0, y0, x1, y1), skip)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
        if n <= 1:
            return []
        in_printed = np.bincount(labels[printed > 0], minlength=n)
        thr = c.get("printed_overlap", 0.6)
        thin = max(1, v.n(0.5))
        keep = [
            k
            for k in range(1, n)
            if stats[k][4] >= 3 and min(stats[k][2], stats[k][3]) > thin and in_printed[k] < thr * stats[k][4]
        ]
        if not keep:
            return []
        # one signature per cell: pen pieces join along the row, not across rows
        ink = np.isin(labels, keep).astype(np.uint8)
        row = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (v.n(c.get("join_gap", 12)), v.n(2))))
        m, cells, cstats, _ = cv2.connectedComponentsWithStats(row, connectivity=8)
        out = []
        for k in range(1, m):
            ys, xs = np.nonzero((cells == k) & (ink > 0))
            if len(xs) >= c.get("min_ink_px", 40) / 2 and (ys.max() - ys.min()) >= 0.4 * v.n(lab.height):
                out.append(v.pt((xs.min() + x0, ys.min() + y0, xs.max() + 1 + x0, ys.max() + 1 + y0)))
        return out

    # -- born-digital: image objects and pen drawings near the label
    def _objects(self, page: PageInput, lab: _Label) -> list[Rect]:
        c = cfg("signature")
        lay = layout(page)
        win = _window(lab)
        max_gap, max_area = c.get("max_gap", 40), c.get("max_image_area", 40000)
        found = []
        for im in lay.images:
            r = im.rect
            if geometry.area(r) > max_area or _overlap_y(r, win) <= 0:
                continue
            near_line = (
                _overlap_y(r, lab.rect) > 0
                or abs((r[1] + r[3]) / 2 - (lab.rect[1] + lab.rect[3]) / 2) < 2 * lab.height
            )
            if near_line and lab.rect[2] - 10 <= r[0] <= lab.start_x + max_gap and r[0] < lab.limit_x:
                found.append(r)
        pen = [
            list(d.rect)
            for d in lay.drawings
            if (d.rect[2] - d.rect[0]) > 2
            and (d.rect[3] - d.rect[1]) > 2  # not a table/underline rule
            and not d.ruled  # not a table cell's border
            and geometry.intersection(d.rect, win) > 0
            and d.rect[0] >= lab.rect[2] - 10
            and geometry.area(d.rect) < max_area
        ]
        for cl in merge_boxes(pen, c.get("join_gap", 12)):
            if cl[0] <= lab.start_x + max_gap and _overlap_y(as_rect(cl), lab.rect) > 0:
                found.append(as_rect(cl))
        return found

    # -- scanned: ink that is not OCR'd printed text
    def _ink(self, page: PageInput, lab: _Label, line_len: list[int]) -> Rect | None:
        c = cfg("signature")
        win = _window(lab)
        v = clip_view(page, win, page.dpi if page.is_scanned else 150)
        x0, y0, x1, y1 = v.px(win)
        if x1 - x0 < 4 or y1 - y0 < 4:
            return None
        ink = (v.gray[y0:y1, x0:x1] < int(c.get("ink_gray", 120))).astype(np.uint8)
        ink = self._drop_rules(ink, v.n(30), v.n(3))
        text = page.text
        offsets, arr = char_boxes(page)
        near: np.ndarray | list = (
            (arr[:, 2] >= win[0]) & (arr[:, 0] <= win[2]) & (arr[:, 3] >= win[1]) & (arr[:, 1] <= win[3])
            if len(arr)
            else []
        )
        # OCR may read the signature as characters: those stay ink
        skip = {
            int(i)
            for i in offsets[near]
            if (b := text.boxes[int(i)]) is not None and self._maybe_signature(text, int(i), b, lab, line_len)
        }
        printed = printed_mask(v, page, (x0, y0, x1, y1), skip)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
        if n <= 1:
            return None
        in_printed = np.bincount(labels[printed > 0], minlength=n)
        thr = c.get("printed_overlap", 0.6)
        thin = max(2, v.n(1.0))
        lx0, ly0, lx1, ly1 = v.px(lab.rect)
        colon_end = _colon_ink_end(text, lab, ink, v, (x0, y0))
        label_end = max(lab.rect[2], colon_end or 0.0)
        lx1 = max(lx1, v.px((label_end, lab.rect[1], label_end + 1, lab.rect[3]))[0]) - x0
        sx = v.px((lab.start_x, lab.rect[1], lab.start_x + 1, lab.rect[3]))[0] - x0
        mid0, mid1 = ly0 - y0 - (ly1 - ly0) * 0.5, ly1 - y0 + (ly1 - ly0) * 0.5
        gap = v.n(c.get("max_gap", 40))
        comps, seeds = [], []
        for k in range(1, n):
            x, y, w, h, a = stats[k]
            if a < 3 or in_printed[k] >= thr * a or min(w, h) <= thin:  # thin: a piece of a table rule
                continue
            if x + w / 2 < lx1 and y < ly1 - y0 and y + h > ly0 - y0:  # the label's own colon or last glyph
                continue
            box = [x, y, x + w, y + h, a]
            comps.append(box)
            if x + w > lx1 and x <= sx + gap and y < mid1 and y + h > mid0:
                seeds.append(box)
        if not seeds:
            return None
        cluster = self._grow(seeds, comps, v.n(c.get("join_gap", 12)))
        if sum(b[4] for b in cluster) < c.get("min_ink_px", 40):
            return None
        bx = (
            min(b[0] for b in cluster),
            min(b[1] for b in cluster),
            max(b[2] for b in cluster),
            max(b[3] for b in cluster),
        )
        if (bx[3] - bx[1]) < 0.4 * (ly1 - ly0):  # flat: what is left of a rule, not a signature
            return None
        rect = v.pt((bx[0] + x0, bx[1] + y0, bx[2] + x0, bx[3] + y0))
        # the label itself stays readable: the box starts right of it (after the finding's pad)
        start = label_end + c.get("pad", 2) + 0.5
        rect = (max(rect[0], start), rect[1], rect[2], rect[3])
        if rect[2] <= rect[0]:
            return None
        # ink over the first run of letters after a role label: OCR read the
        # signature itself (or it is written over the printed name): take both,
        # the letters by their ink (OCR's boxes reach into the label's colon cell)
        for j in range(lab.end, lab.first_run_end):
            b = page.text.boxes[j]
            if b is not None and geometry.intersection(b, rect) > 0:
                t = trimmed_to_ink(page, b)
                rect = geometry.union([rect, (max(t[0], start), t[1], t[2], t[3])])
        return rect

    @staticmethod
    def _maybe_signature(text: PageText, i: int, b: Rect, lab: _Label, line_len: list[int]) -> bool:
        """An OCR'd character that may be the signature read as text: a
        letter right of the label, on the label's line or on a short line
        of its own (OCR often gives the handwriting its own line)."""
        ch = text.text[i]
        if (
            not lab.colon
            or ch.isspace()
            or _printed_number(ch, b, lab.height)
            or (b[0] + b[2]) / 2 < lab.rect[2] - 2
            or b[0] >= lab.limit_x
        ):
            return False
        if lab.end <= i < lab.line_end:
            # handwriting is read as letters or as punctuation ("{(") alike; a typed
            # name right after a role label (记录者：王伟) is a staff name: it goes too
            return True
        return line_len[i] <= 6 and _overlap_y(b, lab.rect) >= 0.3 * (b[3] - b[1])

    @staticmethod
    def _drop_rules(ink: np.ndarray, length: int, bridge: int) -> np.ndarray:
        """Remove underlines and table rules (long straight runs), also
        dashed ones such as a row of printed underscores."""
        rules = np.zeros_like(ink)
        h, w = ink.shape
        for size, gap, across in (((length, 1), (bridge, 1), (1, 3)), ((1, length), (1, bridge), (3, 1))):
            joined = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, gap))
            rules |= cv2.morphologyEx(joined, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, size))
            # on a skewed scan (±1-2°) a rule is no straight pixel run: thicken it across
            # and keep only runs that leave the window (table rules do, a pen stroke does not)
            if h >= 8 and w >= 8:
                half: np.ndarray = (
                    cv2.resize(joined, (w // 2, h // 2), interpolation=cv2.INTER_AREA) > 0
                ).astype(np.uint8)
                half = cv2.dilate(half, cv2.getStructuringElement(cv2.MORPH_RECT, across))
                k = (max(1, size[0] // 2), max(1, size[1] // 2))
                half = cv2.morphologyEx(half, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, k))
                n, lab, stats, _ = cv2.connectedComponentsWithStats(half, connectivity=8)
                hh, ww = half.shape
                edge = [
                    i
                    for i in range(1, n)
                    if stats[i][0] == 0
                    or stats[i][1] == 0
                    or stats[i][0] + stats[i][2] >= ww
                    or stats[i][1] + stats[i][3] >= hh
                ]
                if edge:
                    keep = np.isin(lab, edge).astype(np.uint8)
                    rules |= cv2.resize(keep, (w, h), interpolation=cv2.INTER_NEAREST)
        rules = cv2.dilate(rules, np.ones((3, 3), np.uint8))
        return ink & (1 - rules)

    @staticmethod
    def _grow(seeds: list, comps: list, gap: int) -> list:
        cluster = [list(s) for s in seeds]
        rest = [b for b in comps if b not in seeds]
        changed = True
        while changed and rest:
            changed = False
            cx0, cy0 = min(b[0] for b in cluster), min(b[1] for b in cluster)
            cx1, cy1 = max(b[2] for b in cluster), max(b[3] for b in cluster)
            keep = []
            for b in rest:
                if b[0] <= cx1 + gap and b[2] >= cx0 - gap and b[1] <= cy1 + gap and b[3] >= cy0 - gap:
                    cluster.append(b)
                    changed = True
                else:
                    keep.append(b)
            rest = keep
        return cluster
