"""Synthetic record generator: real PDFs, ground truth that matches them."""

from __future__ import annotations

import json
import random
from datetime import date

import numpy as np
import pymupdf
import pytest

from core.models import Category
from tools.synth import ids, people
from tools.synth.corpus import build_record, load_corpus, make_corpus, make_record
from tools.synth.truth import RecordTruth

VISUAL = {c.value for c in Category if c.is_visual}


def _inner(rect) -> pymupdf.Rect:
    """The truth box shrunk a hair: get_textbox takes any glyph that touches."""
    r = pymupdf.Rect(rect)
    return pymupdf.Rect(r.x0 + 0.3, r.y0 + 1.0, r.x1 - 0.3, r.y1 - 1.0)


class PageChars:
    """Characters of a page with their centres: text inside a rect, fast."""

    def __init__(self, page: pymupdf.Page):
        chars = [
            (c["c"], c["bbox"])
            for b in page.get_text("rawdict")["blocks"]
            for ln in b.get("lines", [])
            for sp in ln["spans"]
            for c in sp["chars"]
        ]
        self.text = [c for c, _ in chars]
        self.cx = np.array([(b[0] + b[2]) / 2 for _, b in chars])
        self.cy = np.array([(b[1] + b[3]) / 2 for _, b in chars])

    def inside(self, rect) -> str:
        x0, y0, x1, y1 = rect
        hit = np.nonzero((self.cx > x0) & (self.cx < x1) & (self.cy > y0) & (self.cy < y1))[0]
        return "".join(self.text[i] for i in hit).replace(" ", "")


@pytest.fixture(scope="module")
def record():
    return build_record(pages=8, seed=11)


def test_gb11643_check_digit_known_value():
    # the standard's worked example
    assert ids.gb11643_check_digit("11010519491231002") == "X"
    assert ids.is_valid_id18("11010519491231002X")
    assert not ids.is_valid_id18("110105194912310021")


def test_generated_ids_valid_and_sexed():
    rng = random.Random(3)
    for _ in range(200):
        sex = rng.choice("男女")
        n = ids.id_number_18(rng, "320102", date(1990, 5, 17), sex)
        assert ids.is_valid_id18(n)
        assert (int(n[16]) % 2 == 1) == (sex == "男")
        old = ids.id_number_15(rng, "320102", date(1990, 5, 17), sex)
        assert len(old) == 15 and old.isdigit() and old[6:12] == "900517"


def test_cast_has_every_kind_of_identifier():
    cast = people.make_cast(random.Random(5), "maternal", date(2025, 3, 2))
    assert cast.patient.sex == "女" and ids.is_valid_id18(cast.patient.id_number)
    assert cast.relative("丈夫").role == "丈夫"
    kinds = {h.name[-4:] for h in cast.outside}
    assert any(k.endswith("医院") for k in kinds) and any("卫生" in h.name for h in cast.outside)
    assert len({d.name for d in cast.doctors}) == len(cast.doctors)
    assert cast.numbers["inpatient_no"].startswith("2025")
    assert "@" in cast.patient.email and cast.patient.phone


def test_pdf_opens_with_exact_page_count(record):
    doc, truth = record
    assert doc.page_count == truth.n_pages == 8
    assert sum(d.n_pages for d in truth.documents) == 8
    data = doc.tobytes()
    assert pymupdf.open(stream=data, filetype="pdf").page_count == 8


def test_truth_rects_hold_the_identifier_text(record):
    doc, truth = record
    text_items = [t for t in truth.identifiers if t.text and t.category not in VISUAL]
    assert len(text_items) > 80
    cats = {t.category for t in text_items}
    for needed in (
        "patient_name",
        "relative_name",
        "doctor_name",
        "nurse_name",
        "institution",
        "record_number",
        "phone",
        "address",
        "id_number",
    ):
        assert needed in cats, needed
    pages = {p.number: PageChars(p) for p in doc}
    for item in text_items:
        assert Category(item.category)  # a valid model category
        assert pages[item.page_index].inside(item.rect) == item.text.replace(" ", ""), (
            item.category,
            item.page_index,
        )
    # and PyMuPDF's own rectangle extraction agrees (one page)
    page = doc[0]
    for item in truth.items_on(0):
        if item.text and item.category not in VISUAL:
            assert page.get_textbox(_inner(item.rect)).replace("\n", "") == item.text


def test_clinical_lines_hold_their_text(record):
    doc, truth = record
    assert len(truth.clinical) > 100
    pages = {p.number: PageChars(p) for p in doc}
    for line in truth.clinical:
        assert pages[line.page_index].inside(line.rect) == line.text.replace(" ", "")


def test_every_page_has_hospital_header(record):
    doc, truth = record
    for i in range(doc.page_count):
        inst = [
            t for t in truth.items_on(i) if t.category == "institution" and t.role in ("header", "footer")
        ]
        assert inst, i


def test_ids_in_record_have_valid_check_digits(record):
    _, truth = record
    numbers = [t.text for t in truth.identifiers if t.category == "id_number"]
    assert numbers
    for n in numbers:
        assert (len(n) == 18 and ids.is_valid_id18(n)) or (len(n) == 15 and n.isdigit())


def test_deterministic_by_seed():
    a_doc, a = build_record(pages=4, seed=21)
    b_doc, b = build_record(pages=4, seed=21)
    c_doc, c = build_record(pages=4, seed=22)
    assert a.to_dict() == b.to_dict()
    assert [p.get_text() for p in a_doc] == [p.get_text() for p in b_doc]
    assert (
        a.meta["patient_name"] != c.meta["patient_name"] or a.meta["inpatient_no"] != c.meta["inpatient_no"]
    )


def test_scanned_pages_have_no_text_and_truth_stays_on_ink():
    doc, truth = build_record(pages=3, seed=4, scanned=True)
    assert truth.scanned_pages == [0, 1, 2]
    for page in doc:
        assert page.get_text().strip() == ""
        assert page.get_images()
    # each identifier box holds dark pixels (text drawn there), a blank strip beside the page margin does not
    page = doc[0]
    pix = page.get_pixmap(dpi=72, colorspace=pymupdf.csGRAY)

    def darkest(rect) -> int:
        x0, y0, x1, y1 = (int(v) for v in rect)
        vals = [
            pix.pixel(x, y)[0]
            for x in range(max(x0, 0), min(x1, pix.width))
            for y in range(max(y0, 0), min(y1, pix.height))
        ]
        return min(vals) if vals else 255

    items = [t for t in truth.items_on(0) if t.category not in VISUAL]
    assert items
    assert all(darkest(t.rect) < 140 for t in items)
    assert darkest((5, 300, 20, 400)) > 180


def test_make_record_writes_pdf_truth_and_case(tmp_path):
    out = tmp_path / "r.pdf"
    truth = make_record(out, pages=5, seed=9, scanned=0.5)
    assert out.is_file() and pymupdf.open(out).page_count == 5
    again = RecordTruth.load(out.with_suffix(".truth.json"))
    assert again.to_dict() == truth.to_dict()
    case = json.loads(out.with_suffix(".case.json").read_text(encoding="utf-8"))
    assert case["patient_name"] == truth.meta["patient_name"] and case["review_type"] in (
        "儿童死亡评审",
        "孕产妇危重症评审",
    )


def test_make_corpus_and_reload(tmp_path):
    truths = make_corpus(tmp_path, n_records=2, seed=3, scanned_ratio=0.0, pages=(3, 4))
    assert len(truths) == 2
    loaded = load_corpus(tmp_path)
    assert [t.record_id for t in loaded] == [t.record_id for t in truths]
    assert all(pymupdf.open(t.pdf_path).page_count == t.n_pages for t in loaded)


def test_long_record_is_fast():
    import time

    t0 = time.perf_counter()
    doc, truth = build_record(pages=120, seed=1)
    elapsed = time.perf_counter() - t0
    assert doc.page_count == 120 and len(truth.documents) >= 15
    assert elapsed < 15, elapsed  # 300 pages take ~5 s on the 2-core box


def _darkest(page: pymupdf.Page, rect) -> int:
    pix = page.get_pixmap(dpi=72, colorspace=pymupdf.csGRAY)
    x0, y0, x1, y1 = (int(v) for v in rect)
    vals = [
        pix.pixel(x, y)[0]
        for x in range(max(x0, 0), min(x1, pix.width))
        for y in range(max(y0, 0), min(y1, pix.height))
    ]
    return min(vals) if vals else 255


@pytest.mark.parametrize("rotation", [90, 270])
def test_scanning_a_turned_trace_page_moves_truth_with_it(rotation):
    from tools.synth.scan import scan_document
    from tools.synth.truth import TruthItem

    doc, truth = build_record(pages=6, seed=12)
    trace = next(d for d in truth.documents if d.type in ("心电图", "胎心监护"))
    single = pymupdf.open()
    single.insert_pdf(doc, from_page=trace.first_page, to_page=trace.first_page)
    single[0].set_rotation(rotation)
    items = [
        TruthItem(0, t.category, t.text, t.rect, t.role)
        for t in truth.items_on(trace.first_page)
        if t.category not in VISUAL
    ]
    scanned = scan_document(single, random.Random(2), items, [])
    page = scanned[0]
    assert page.rotation == 0 and page.rect.width < page.rect.height  # shown upright as turned
    assert page.get_text().strip() == ""
    assert items and all(_darkest(page, t.rect) < 150 for t in items)


def test_some_trace_pages_are_stored_turned():
    doc, truth = build_record(pages=6, seed=9)  # a seed whose trace page is turned
    turned = [p.number for p in doc if p.rotation in (90, 270)]
    assert turned
    trace_pages = {
        d.first_page + i
        for d in truth.documents
        if d.type in ("心电图", "胎心监护")
        for i in range(d.n_pages)
    }
    assert set(turned) <= trace_pages
    # truth stays in unrotated space: the text is still under each box
    chars = PageChars(doc[turned[0]])
    for item in truth.items_on(turned[0]):
        if item.category not in VISUAL:
            assert chars.inside(item.rect) == item.text.replace(" ", "")


def test_pasted_outside_report_is_pixels_only():
    doc, truth = build_record(pages=40, seed=2)
    inserted = [t for t in truth.identifiers if t.role == "insert"]
    assert {"institution", "patient_name", "record_number", "doctor_name"} <= {t.category for t in inserted}
    page = doc[inserted[0].page_index]
    assert page.get_images() and page.get_text().strip()  # a born-digital page with an image on it
    for t in inserted:
        assert page.get_textbox(t.rect).strip() == ""  # not in the text layer
        assert _darkest(page, t.rect) < 150  # but drawn in the image
