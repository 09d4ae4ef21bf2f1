"""With two OCR threads on CPU the line crops of a page are read two at a
time by one-thread recognisers: the reading is the one a single recogniser
gives, line for line."""

from __future__ import annotations

import pytest

from core.ocr.engine import RapidOcrEngine
from core.ocr.page import render
from tests.ocr.scans import pixels, scan_of, source_page


def test_lines_read_two_at_a_time_read_as_one_recogniser_reads_them():
    lines = ["姓名：张伟明  性别：男  年龄：35岁", "住院号：20250117  床号：12", "诊断：社区获得性肺炎"] * 3
    _, src = source_page(lines, height=500)
    _, page = scan_of(pixels(src), 595, 500)
    img, _ = render(page, 150)
    shared = RapidOcrEngine(threads=2)
    if shared.use_cuda:
        pytest.skip("one GPU recogniser reads batches; nothing is shared out")
    single = RapidOcrEngine(threads=2)
    single._line_readers = lambda: []  # type: ignore[method-assign]
    assert len(shared._line_readers()) == 2
    got, want = shared.recognize(img), single.recognize(img)
    assert len(want) >= len(lines)
    assert [(ln.text, ln.box, ln.char_boxes) for ln in got] == [
        (ln.text, ln.box, ln.char_boxes) for ln in want
    ]
    assert [round(ln.score, 4) for ln in got] == [round(ln.score, 4) for ln in want]


def test_a_few_lines_are_read_in_one_thread_without_building_more_recognisers():
    _, src = source_page(["住院号：20250117  床号：12", "诊断：社区获得性肺炎"], height=200)
    _, page = scan_of(pixels(src), 595, 200)
    img, _ = render(page, 150)
    engine = RapidOcrEngine(threads=2)
    assert engine.recognize(img)
    assert "_readers" not in engine.__dict__  # two sessions more cost more than two lines take
