"""A box that covers part of a character or part of a word is flagged (core.redaction.cuts)."""

import pymupdf
import pytest

from core.pdf.text import text_lines
from core.redaction.cuts import GLYPH, WORD, cut_kinds, cuts_text


@pytest.fixture
def page_lines():
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((60, 100), "住院号：ZY20250301  科室：产科", fontsize=12, fontname="china-s")
    page.insert_text((60, 140), "工作单位：第二中学", fontsize=12, fontname="china-s")
    lines = text_lines(page)
    yield page, lines
    doc.close()


def _box(page, text, nth=0):
    hits = page.search_for(text)
    return tuple(hits[nth])


def test_box_over_a_whole_value_does_not_cut(page_lines):
    page, lines = page_lines
    assert not cuts_text([_box(page, "ZY20250301")], lines)
    assert not cuts_text([_box(page, "第二中学")], lines)


def test_box_over_part_of_a_number_cuts_the_word(page_lines):
    page, lines = page_lines
    x0, y0, x1, y1 = _box(page, "ZY20250301")
    head = (x0, y0, x0 + (x1 - x0) * 0.6, y1)  # the tail stays readable
    assert WORD in cut_kinds([head], lines)


def test_box_through_the_middle_of_a_character_cuts_a_glyph(page_lines):
    page, lines = page_lines
    x0, y0, x1, y1 = _box(page, "第二中学")
    w = (x1 - x0) / 4
    half = (x0, y0, x0 + 2.5 * w, y1)  # 第二 and half of 中
    assert GLYPH in cut_kinds([half], lines)
    assert not cuts_text([(x0, y0, x0 + 2 * w + 0.2, y1)], lines)  # 第二 exactly: no cut


def test_two_rects_covering_a_word_together_do_not_cut(page_lines):
    page, lines = page_lines
    x0, y0, x1, y1 = _box(page, "ZY20250301")
    mid = x0 + (x1 - x0) * 0.5
    # split exactly between characters: find a char boundary
    chars = [c for line in lines for c in line if c.rect[0] >= x0 - 0.5 and c.rect[2] <= x1 + 0.5]
    cut = chars[5].rect[0]
    assert not cuts_text([(x0, y0, cut, y1), (cut, y0, x1, y1)], lines)
    assert mid  # the split is inside the word


def test_box_far_from_text_does_not_cut(page_lines):
    _page, lines = page_lines
    assert not cuts_text([(300, 500, 400, 540)], lines)
