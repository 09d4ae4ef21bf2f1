"""What the engine keeps between pages and opens of one process (issue 14)
gives the very results it gives without it."""

from __future__ import annotations

import pymupdf
import pytest

import core.detect.names as names
import core.pdf.open as pdf_open
from core.errors import InputError
from core.pdf.open import open_pdf
from tests.engine.pdfs import text_page

TEXTS = [
    "入院记录\n姓名：王小红    科室：产科\n主治医师王伟东查房，患者诉腹痛。\n家属张伟陪同，签字：李娜",
    "入院记录\n姓名：王小红    科室：产科\n护士陈晓梅记录，患者母亲刘芳来院探视。\n值班医师赵强",
]


def _spans_without_memo(text: str) -> list[tuple[int, int]]:
    names._LAC_MEMO.clear()
    out = names.lac_person_spans(text)
    names._LAC_MEMO.clear()
    return out


def test_lac_spans_are_the_same_with_pieces_read_on_an_earlier_page():
    if names._Lac.get() is None:
        pytest.skip("LAC model not installed")
    cold = [_spans_without_memo(t) for t in TEXTS]
    assert any(cold), "the model found no person in texts full of names"
    names._LAC_MEMO.clear()
    warm = [names.lac_person_spans(t) for t in TEXTS]  # the second page shares its header with the first
    again = [names.lac_person_spans(t) for t in reversed(TEXTS)][::-1]
    assert warm == cold and again == cold
    assert "入院记录" in names._LAC_MEMO


def test_lac_memo_is_bounded(monkeypatch):
    if names._Lac.get() is None:
        pytest.skip("LAC model not installed")
    monkeypatch.setattr(names, "_LAC_MEMO_MAX", 2)
    names._LAC_MEMO.clear()
    first = names.lac_person_spans(TEXTS[0])
    assert names.lac_person_spans(TEXTS[1]) == _spans_without_memo(TEXTS[1])
    assert names.lac_person_spans(TEXTS[0]) == first
    assert len(names._LAC_MEMO) <= 2 + len(TEXTS[0].split("\n")) * 2


def _pdf(lines: list[str]) -> bytes:
    doc = pymupdf.open()
    text_page(doc, lines)
    text_page(doc, ["第二页"])
    return doc.tobytes()


def test_reopening_the_same_bytes_skips_the_scans_and_gives_the_same_document(monkeypatch):
    data = _pdf(["姓名：王小红", "住院号：20230456"])
    first = open_pdf(data)
    calls = []
    real = pymupdf.Page.read_contents
    monkeypatch.setattr(pymupdf.Page, "read_contents", lambda self: calls.append(self.number) or real(self))
    second = open_pdf(data)
    assert calls == []  # the content scan ran at the first open only
    assert second.page_count == first.page_count == 2
    assert [p.get_text() for p in second] == [p.get_text() for p in first]
    assert [p.read_contents() for p in second] == [p.read_contents() for p in first]
    assert second.xref_length() == first.xref_length()


def test_other_bytes_are_checked_again(monkeypatch):
    data = _pdf(["姓名：王小红"])
    open_pdf(data)
    monkeypatch.setattr(pdf_open, "MAX_CONTENT_BYTES", 10)  # every page of a new file is now too long
    with pytest.raises(InputError):
        open_pdf(_pdf(["姓名：李娜"]))
    open_pdf(data)  # the bytes already checked: no second scan


def test_a_refused_file_is_refused_every_time(monkeypatch):
    data = _pdf(["姓名：赵强"])
    monkeypatch.setattr(pdf_open, "MAX_CONTENT_BYTES", 10)
    for _ in range(2):  # a refusal never marks the bytes as checked
        with pytest.raises(InputError):
            open_pdf(data)
    monkeypatch.setattr(pdf_open, "MAX_CONTENT_BYTES", 64 * 1024**2)
    assert open_pdf(data).page_count == 2
