"""Pages without visual identifiers keep >= 98 % of their area: ECG (pink
grid, black traces), fetal monitoring (red grid, red scale numbers), lab
tables with red values, plain text."""

from __future__ import annotations

import pytest

from tools.synth.visual import NEGATIVE

from .helpers import analyze, false_alarm_share


@pytest.mark.parametrize("scanned", [False, True], ids=["born_digital", "scanned"])
@pytest.mark.parametrize("kind", sorted(NEGATIVE))
def test_negative_pages_stay_readable(kind, scanned):
    for seed in (0, 1):
        pages, findings, _ = analyze(kind, scanned, seed)
        for p in pages:
            assert false_alarm_share(p, findings) < 0.02, (kind, seed, [f.category.value for f in findings])
        assert not [f for f in findings if f.category.value == "seal"]


def test_red_seal_not_fired_by_red_text_block():
    """A paragraph of red clinical text, square-ish, is not a seal."""
    import pymupdf

    from tools.eval.visual import page_inputs, run_visual

    doc = pymupdf.open()
    page = doc.new_page()
    for k in range(8):
        page.insert_text(
            (60, 120 + k * 14),
            "危急值：血钾6.8mmol/L",
            fontname="china-s",
            fontsize=12,
            color=(0.85, 0.05, 0.05),
        )
    page.draw_rect((50, 100, 220, 230), color=(0.85, 0.05, 0.05), width=1.2)  # a red box around it
    findings = run_visual(page_inputs(doc))
    assert not [f for f in findings if f.category.value == "seal"]
    import random

    from tools.synth.scan import scan_document
    from tools.synth.visual import rasterize

    for scan in (rasterize(doc), scan_document(doc, random.Random(0), [], [])):
        findings = run_visual(page_inputs(scan, True, doc))
        assert not [f for f in findings if f.category.value == "seal"]


@pytest.mark.parametrize("kind", sorted(NEGATIVE))
def test_negative_pages_on_grayscale_skewed_scans(kind):
    """The engine's own scanner (grayscale, ±1° skew, paper tone): the
    grayscale seal path (dark rings) must not fire on grids or traces."""
    import random

    from tools.eval.visual import page_inputs, run_visual
    from tools.synth.scan import scan_document

    src, truths = NEGATIVE[kind](2)
    doc = scan_document(src, random.Random(2), truths, [])
    pages = page_inputs(doc, True, src)
    findings = run_visual(pages)
    for p in pages:
        assert false_alarm_share(p, findings) < 0.02, (kind, [f.category.value for f in findings])


def test_red_pen_circle_round_a_value_is_not_a_seal():
    """A doctor's red circle round an abnormal value (colour scan) keeps the
    value readable: a ring with nothing red inside is not a seal."""
    import pymupdf

    from tools.eval.visual import page_inputs, run_visual
    from tools.synth.visual import rasterize

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((80, 200), "血钾 6.8 mmol/L", fontname="china-s", fontsize=12)
    page.draw_oval((70, 170, 190, 215), color=(0.85, 0.1, 0.1), width=2.5)
    page.draw_circle((300, 400), 40, color=(0.85, 0.1, 0.1), width=3)
    page.insert_text((280, 405), "↑↑", fontname="china-s", fontsize=12)
    for scan in (False, True):
        d = rasterize(doc) if scan else doc
        findings = run_visual(page_inputs(d, scan, doc if scan else None))
        assert not [f for f in findings if f.category.value == "seal"], scan
