"""Reading the next scanned page while this one's recognizers run
(``core.ocr.ahead``): real scans of real renders, real OCR."""

from __future__ import annotations

import pymupdf
import pytest

import core.engine as engine
import core.ocr.ahead as ahead_mod
from core.config import settings
from core.ocr.page import ocr_page_chars, render
from tests.ocr.scans import pixels, scan_of, source_page

LINES = [
    ["姓名：欧阳明华  住院号：20231187", "诊断：妊娠期高血压  血压 150/96 mmHg"],
    ["联系电话：13912345678  床号：17", "产后出血 800 ml，给予缩宫素"],
    ["家属：司马文静（丈夫）", "出院诊断：足月顺产"],
]


def _scans() -> pymupdf.Document:
    out = pymupdf.open()
    for lines in LINES:
        _, src = source_page(lines, height=160)
        scan, _ = scan_of(pixels(src), src.rect.width, src.rect.height)
        out.insert_pdf(scan)
    born, _ = source_page(["出院小结：无特殊"], height=160)  # a born-digital page: never read ahead
    out.insert_pdf(born)
    return out


@pytest.fixture(scope="module")
def scans():
    return _scans()


def _signature(analysis) -> list:
    return sorted(
        (f.page_index, f.category.value, f.text, [tuple(round(v, 1) for v in r) for r in f.rects])
        for f in analysis.findings
    )


def _without_reading_ahead(monkeypatch):
    real = ahead_mod.reading_ahead
    monkeypatch.setattr(engine, "reading_ahead", lambda enabled=True: real(False))


def test_pages_read_ahead_give_the_same_findings_and_are_used(scans, monkeypatch):
    assert settings().ocr_threads >= 2  # the default: the loop reads ahead
    used: list[int] = []
    take = ahead_mod.ReadAhead.take

    def counting_take(self, page, dpi):
        got = take(self, page, dpi)
        if got is not None:
            used.append(page.number)
        return got

    monkeypatch.setattr(ahead_mod.ReadAhead, "take", counting_take)
    ahead = engine.analyze_document(scans, {}, ocr=True, workers=1)
    assert used == [1, 2]  # the first page is read in turn; the born-digital page is not read ahead
    monkeypatch.undo()
    _without_reading_ahead(monkeypatch)
    in_turn = engine.analyze_document(scans, {}, ocr=True, workers=1)
    assert _signature(ahead) == _signature(in_turn)
    cats = {f.category.value for f in ahead.findings}
    assert {"patient_name", "phone"} <= cats


def test_a_reading_is_taken_only_for_the_same_request(scans):
    with ahead_mod.reading_ahead() as ahead:
        ahead.start(scans[1], 150)
        assert ahead.take(scans[0], 150) is None  # another page
        assert ahead.take(scans[1], 200) is None  # another resolution
        img, offset, lines = ahead.take(scans[1], 150)
        assert (img == render(scans[1], 150)[0]).all() and lines  # the page stage's own render
        assert ahead.take(scans[1], 150) is None  # taken once
        ahead.start(scans[3], 150)  # born-digital: nothing rendered nor read
        assert ahead.take(scans[3], 150) is None


def test_a_reading_taken_gives_the_characters_of_a_reading_in_turn(scans):
    with ahead_mod.reading_ahead() as ahead:
        ahead.start(scans[2], 150)
        read = ahead.take(scans[2], 150)
    whole = ocr_page_chars(scans[2], dpi=150, read=read)
    assert whole == ocr_page_chars(scans[2], dpi=150)
    assert "".join(c.c for ln in whole for c in ln).count("司马文静") == 1
    clip = (0, 0, scans[2].rect.width, 60)  # the first line only: a clip reads its own pixels
    assert len(ocr_page_chars(scans[2], dpi=150, clip=clip, read=read)) < len(whole)


def test_a_failing_reading_fails_its_page_not_the_record(scans, monkeypatch):
    def broken(*_a, **_k):
        raise MemoryError("simulated")

    monkeypatch.setattr("core.ocr.page.ocr_image", broken)
    analysis = engine.analyze_document(scans, {}, ocr=True, workers=1)
    errors = [p.error for p in analysis.pages]
    assert errors[:3] == ["MemoryError"] * 3  # read in turn or ahead, each scan fails the same way
    assert not errors[3] and not analysis.pages[3].scanned


def test_cancel_during_a_reading_leaves_no_reading_running(scans):
    class Cancelled(Exception):
        pass

    def cancel(done, total, step):
        if done == 1:
            raise Cancelled

    with pytest.raises(Cancelled):
        engine.analyze_document(scans, {}, ocr=True, workers=1, progress=cancel)
    assert ahead_mod.active() is None
