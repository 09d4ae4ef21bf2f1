"""Each visual recognizer covers the items placed at known boxes, on
born-digital pages (image objects, vector drawings) and scanned pages
(the whole page rasterised to a JPEG)."""

from __future__ import annotations

import pytest

from core.detect.base import AnalysisContext
from core.models import Category, Source

from .helpers import analyze, covered

MODES = [False, True]
IDS = ["born_digital", "scanned"]


def _all_covered(kind: str, category: str, scanned: bool, seeds=(0, 1)) -> list:
    misses = []
    for seed in seeds:
        pages, findings, truths = analyze(kind, scanned, seed)
        assert truths
        for t in truths:
            if covered(t, findings, category) < 0.9:
                misses.append((seed, t.role, t.rect))
        for f in findings:
            assert f.source == Source.IMAGE and f.category.is_visual
            # a finding is tight: not much larger than the item it covers
        for t in truths:
            hits = [f for f in findings if f.category.value == category and f.page_index == t.page_index]
            for f in hits:
                r = f.rects[0]
                assert (r[2] - r[0]) * (r[3] - r[1]) < 4 * (t.rect[2] - t.rect[0]) * (
                    t.rect[3] - t.rect[1]
                ) + 4000
    return misses


@pytest.mark.parametrize("scanned", MODES, ids=IDS)
def test_signatures_covered_including_ink_across_label_line(scanned):
    assert _all_covered("signature", "signature", scanned) == []


@pytest.mark.parametrize("scanned", MODES, ids=IDS)
def test_signatures_in_table_column_under_header(scanned):
    """长期医嘱单: signatures sit in the cells under 医师签名 / 护士签名."""
    assert _all_covered("signature_table", "signature", scanned, seeds=(0,)) == []
    pages, findings, truths = analyze("signature_table", scanned)
    header_y = min(t.rect[1] for t in truths)
    assert not [f for f in findings if f.rects[0][3] < header_y]  # headers themselves stay


def test_blank_signature_field_gives_nothing():
    pages, findings, truths = analyze("signature", True)
    # the generated page ends with "审核者：" + an empty underline
    blank_y = max(t.rect[3] for t in truths) + 30
    assert not [f for f in findings if f.category == Category.SIGNATURE and f.rects[0][1] > blank_y]


@pytest.mark.parametrize("scanned", MODES, ids=IDS)
def test_red_seals_round_oval_and_vector_over_text(scanned):
    assert _all_covered("seal", "seal", scanned, seeds=(0, 2)) == []  # seed 2: a faded pink stamp


@pytest.mark.parametrize("scanned", MODES, ids=IDS)
def test_logos_repeated_and_emblem(scanned):
    pages, findings, truths = analyze("logo", scanned)
    assert truths and all(covered(t, findings, "logo") >= 0.9 for t in truths)
    assert {f.detector for f in findings} >= {"emblem", "repeated_logo"}


@pytest.mark.parametrize("scanned", MODES, ids=IDS)
def test_barcodes_decoded_and_seeded(scanned):
    ctx = AnalysisContext()
    pages, findings, truths = analyze("barcode", scanned, ctx=ctx)
    assert truths and all(covered(t, findings, "barcode") >= 0.9 for t in truths)
    decoded = {f.text for f in findings if f.category == Category.BARCODE}
    assert {t.text for t in truths} <= decoded  # QR image, Code 128 image, vector-drawn QR
    seeds = {s.value for s in ctx.seeds if s.origin == "decoded:barcode"}
    assert {t.text for t in truths} <= seeds
    assert ctx.seeds and all(s.category == Category.RECORD_NUMBER.value for s in ctx.seeds)


@pytest.mark.parametrize("scanned", MODES, ids=IDS)
def test_id_card_copy(scanned):
    assert _all_covered("card", "id_card", scanned, seeds=(0, 1, 2)) == []


def test_seal_on_rotated_page_maps_to_unrotated_points():
    import pymupdf

    from tools.eval.visual import page_inputs, run_visual
    from tools.synth.visual import seal_doc

    doc, truths = seal_doc(3)
    doc[0].set_rotation(90)
    doc = pymupdf.open("pdf", doc.tobytes())
    findings = run_visual(page_inputs(doc))
    from .helpers import covered as cov

    assert truths and all(cov(t, findings, "seal") >= 0.9 for t in truths)


def test_grayscale_skewed_scan_round_seals_signatures_codes():
    """Grayscale scans lose the red: seals (round, oval, faded) are still
    found as mid-grey rings; signatures and codes do not depend on colour."""
    import random

    from tools.eval.visual import page_inputs, run_visual
    from tools.synth import visual as V
    from tools.synth.scan import scan_document

    for gen, seed, cat, roles in (
        (V.seal_doc, 1, "seal", None),
        (V.seal_doc, 2, "seal", None),  # 2: faded stamp
        (V.signature_doc, 1, "signature", None),
        (V.barcode_doc, 1, "barcode", None),
    ):
        src, truths = gen(seed)
        doc = scan_document(src, random.Random(seed), truths, [])
        findings = run_visual(page_inputs(doc, True, src))
        for t in truths:
            if roles is None or t.role in roles:
                assert covered(t, findings, cat) >= 0.8, (cat, t.role)


def test_corpus_record_visual_items_born_digital():
    """The project's synthetic record generator (tools.synth.corpus) places
    signatures after staff labels, seals and lab barcodes: all are found."""
    from tools.eval.visual import page_inputs, run_visual
    from tools.synth.corpus import build_record

    doc, truth = build_record(pages=12, seed=3, scanned=0.0)
    findings = run_visual(page_inputs(doc))
    items = [
        t for t in truth.identifiers if t.category in ("signature", "seal", "barcode", "logo", "id_card")
    ]
    assert items
    missed = [(t.page_index, t.category, t.role) for t in items if covered(t, findings, t.category) < 0.9]
    assert missed == []
    # nothing visual where the generator put no visual item
    stray = [
        f
        for f in findings
        if not any(
            covered(t, [f], f.category.value) > 0
            or (t.page_index == f.page_index and _overlaps(t.rect, f.rects[0]))
            for t in truth.identifiers
        )
    ]
    assert stray == []


def _overlaps(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def test_a_failing_visual_recognizer_costs_no_text_findings(monkeypatch, caplog):
    """A bug in one visual detector is logged (no identifiers) and gives no
    findings, instead of failing the page and losing its text findings."""
    from core.detect.visual.seals import RedSealRecognizer

    def boom(self, page, ctx):
        raise ValueError("secret 张三")

    monkeypatch.setattr(RedSealRecognizer, "find", boom)
    pages, findings, truths = analyze("seal", False)
    assert not [f for f in findings if f.category == Category.SEAL]
    assert "red_seal" in caplog.text and "ValueError" in caplog.text and "张三" not in caplog.text


def test_a_signature_column_ends_where_the_form_goes_on_with_field_labels():
    """病案首页: 操作者 heads a column of the operations table; below the table the form goes on with
    labelled fields (切口等级：, values written by hand …) that cross the column: no signature is looked for there."""
    import random

    import pymupdf

    from core.engine import analyze_document
    from tests.engine.pdfs import FONT, rasterize

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_font(fontname="F", fontfile=FONT)
    page.insert_text((296, 80), "操作者", fontname="F", fontsize=10)
    rng = random.Random(3)
    cells = []
    for row in range(2):  # a scribbled signature in each cell under the header
        y = 100 + row * 22
        points = [(292 + k * 4, y + rng.uniform(-5, 5)) for k in range(10)]
        page.draw_polyline(points, color=(0, 0, 0), width=1.4)
        cells.append(pymupdf.Rect(290, y - 7, 332, y + 7))
    page.draw_line((250, 140), (380, 140), width=0.8)
    page.insert_text((250, 170), "切口等级：0.0类切口 1.I类切口 2.II类切口", fontname="F", fontsize=9)
    for k in range(6):  # the rest of the form: fields whose values were written by hand under the column
        y = 200 + k * 40
        page.insert_text((200, y), f"手术费 {4326 + k}.93", fontname="F", fontsize=9)
        points = [(300 + j * 3, y - 4 + rng.uniform(-4, 4)) for j in range(8)]
        page.draw_polyline(points, color=(0, 0, 0), width=1.4)
    scan = rasterize(pymupdf.open("pdf", doc.tobytes()), dpi=200)
    signatures = [f for f in analyze_document(scan, {}).findings if f.category == Category.SIGNATURE]
    assert all(any(pymupdf.Rect(f.rects[0]).intersects(c) for f in signatures) for c in cells)
    assert not [f for f in signatures if f.rects[0][1] > 150]


def test_a_code_found_by_structure_alone_where_ocr_read_ideographs_is_print():
    """On a page read by OCR, a dense line of Chinese (睡眠, 咳嗽) can look like a code's bars; a code
    OCR reads as garbage, never as ideographs.  Decoded codes do not depend on this."""
    from core.detect.base import PageInput
    from core.detect.visual.barcodes import _mostly_ocr_words
    from core.models import Char, PageText

    def page(line: str) -> PageInput:
        chars = [
            Char(c, (100 + i * 10.0, 100, 110 + i * 10.0, 112), source=Source.OCR) for i, c in enumerate(line)
        ]
        return PageInput(0, None, PageText.from_lines(0, 600, 800, [chars]), is_scanned=True)  # type: ignore[arg-type]

    code = (100, 98, 160, 114)
    assert _mostly_ocr_words(page("夜间睡眠欠佳"), code, {})
    assert not _mostly_ocr_words(page("|l1I|:"), code, {})  # what OCR makes of bars
    assert not _mostly_ocr_words(page("2025084"), code, {})  # the digits printed under a code


def test_digits_ocr_reads_in_a_scribble_are_ink_printed_ones_stay():
    """Beside a signature label or in its column, a printed date or time stays readable; OCR also
    reads a scribbled signature as digits ("22"), but those boxes are as tall as the handwriting."""
    from core.detect.visual.signatures import _printed_number

    label_height = 10.0
    assert _printed_number("2", (720, 200, 730, 210), label_height)  # a printed digit: print height
    assert _printed_number("：", (720, 200, 724, 211), label_height)
    assert not _printed_number("2", (722, 213, 747, 234), label_height)  # 21 pt tall: handwriting
    assert not _printed_number("张", (720, 200, 730, 210), label_height)  # no date or number mark
