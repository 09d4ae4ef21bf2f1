"""Classes of misses and over-redactions seen on real EMR print layouts
(issue 10, corpus (b)), on PDFs built here: values that overflow onto the
next label, Chromium's zero-width moves, staff names in table cells."""

from __future__ import annotations

import pymupdf
import pytest

from core.detect.base import AnalysisContext, PageInput
from core.detect.registry import load_default_recognizers
from core.models import CaseMeta
from core.pdf.sanitize import sanitize
from core.pdf.text import extract_page_text
from core.redaction.plan import PlanItem, RedactionPlan
from core.redaction.apply import apply_plan
from tests.engine.pdfs import FONT, char_positions
from tests.engine.test_recognizers import found

ADDRESS = "杭州市南明区中山东路223号27栋2220室"


def _page_with(
    doc: pymupdf.Document, texts: list[tuple[float, float, str]], size: float = 8.0
) -> pymupdf.Page:
    page = doc.new_page(width=595, height=842)
    page.insert_font(fontname="wqy", fontfile=FONT)
    for x, y, text in texts:
        page.insert_text((x, y), text, fontname="wqy", fontsize=size)
    return page


def _findings(name: str, page: pymupdf.Page, meta: dict | None = None):
    rec = load_default_recognizers([name])[0]
    pin = PageInput(page.number, page, extract_page_text(page))
    return rec.analyze(pin, AnalysisContext(meta=CaseMeta.from_dict(meta)))


def test_a_value_overflowing_across_the_next_label_is_read_whole():
    """An absolutely positioned form: the address runs on over the 电话 label
    of the next cell.  Merged by x the two would interleave (…22电20话室) and
    the address would be covered only up to 27栋."""
    doc = pymupdf.open()
    value_x = 80.0
    label_x = value_x + pymupdf.Font(fontfile=FONT).text_length(ADDRESS[:-4], 8.0)  # over "2220室"
    page = _page_with(
        doc,
        [
            (40, 100, "现住址"),
            (value_x, 100, ADDRESS),
            (label_x, 100, "电话"),
            (label_x + 20, 100, "15891620900"),
        ],
    )
    text = extract_page_text(page).text
    assert ADDRESS in text and "电话" in text
    hits = [f for f in _findings("address", page)]
    assert [f.text for f in hits] == [ADDRESS]
    last = max(c[1] for c in char_positions(page) if c[0] == "室")
    assert max(r[2] for f in hits for r in f.rects) > last + 6  # the box reaches past 室


def test_text_printed_side_by_side_is_still_one_line():
    doc = pymupdf.open()
    page = _page_with(doc, [(40, 100, "姓名："), (64, 100, "王小红"), (88, 100, "性别：女")])
    assert "姓名：王小红性别：女" in extract_page_text(page).text


def _zero_move_page(doc: pymupdf.Document) -> pymupdf.Page:
    """What Chromium prints for '\\u200b男': a space glyph, then "0 0 Td" back to
    the line start, then the next glyph at the same place."""
    page = doc.new_page(width=600, height=200)
    page.insert_text((20, 40), "x", fontname="helv", fontsize=10)
    font = page.get_fonts()[0][4]
    xref = page.get_contents()[0]
    stream = (
        f"\nBT /{font} 10 Tf 1 0 0 1 386 150 Tm /Span<</ActualText <FEFF200B> >> BDC ( ) Tj EMC "
        f"0 0 Td (AB) Tj ET\n"
    ).encode()
    doc.update_stream(xref, doc.xref_stream(xref) + stream)
    return page


def test_glyphs_after_a_zero_width_move_keep_their_place_after_redaction():
    doc = pymupdf.open()
    _zero_move_page(doc)
    before = [c for c in char_positions(doc[0]) if c[0] in "AB"]
    plan = RedactionPlan("review", "black", [PlanItem(0, (15.0, 30.0, 30.0, 45.0), "patient_name")])
    apply_plan(doc, plan)
    sanitize(doc)
    out = pymupdf.open("pdf", doc.tobytes())
    after = [c for c in char_positions(out[0]) if c[0] in "AB"]
    assert [c[0] for c in after] == ["A", "B"]
    assert all(abs(a[1] - b[1]) < 0.01 and abs(a[2] - b[2]) < 0.01 for a, b in zip(before, after)), (
        before,
        after,
    )
    assert "x" not in out[0].get_text()


# ---------------------------------------------------------------- staff names in table cells
def _cells(*cells: tuple[str, float], y: float = 454.0, size: float = 7.0):
    from core.models import Char

    return [
        Char(c, (x + i * size, y, x + (i + 1) * size, y + size + 1))
        for text, x in cells
        for i, c in enumerate(text)
    ]


def _label_fields(*rows):
    from core.models import PageText

    page = PageInput(0, None, PageText.from_lines(0, 595, 842, list(rows)))
    rec = load_default_recognizers(["label_fields"])[0]
    return [
        (f.category.value, f.text) for f in rec.analyze(page, AnalysisContext(meta=CaseMeta.from_dict({})))
    ]


def test_a_name_in_the_next_cell_of_a_row_read_as_one_line():
    """病案首页 signature row: "责任护士" and "施海" are two cells a blank apart,
    extracted as one line without a separator."""
    assert ("nurse_name", "施海") in _label_fields(_cells(("责任护士", 74.0), ("施海", 106.6)))
    assert _label_fields(_cells(("责任护士施海", 74.0))) == []  # glued in prose: not a field


@pytest.mark.parametrize(
    "line,category,value",
    [
        ("审核调配药师: \u200b施晓", "staff_name", "施晓"),
        ("复核发药药师: 尤浩", "staff_name", "尤浩"),
        ("手术操作医生：乐刚瑶", "doctor_name", "乐刚瑶"),
    ],
)
def test_staff_titles_qualified_by_words_before_them(line, category, value):
    assert (category, value) in [(c, t.replace("\u200b", "")) for c, t in found("label_fields", line)]


def test_a_role_word_before_a_title_with_its_colon_is_no_name():
    assert found("person_names", "手术操作医生：乐刚瑶") == []
    assert found("person_names", "教学查房病例：否") == []


def test_a_name_column_ends_at_the_first_cell_without_a_name():
    rows = [
        _cells(("联系人姓名", 74.0), y=200.0),
        _cells(("潘志雨", 74.0), y=212.0),
        _cells(("2", 74.0), y=224.0),
        _cells(("药物过敏", 74.0), y=236.0),
    ]
    assert [t for _, t in _label_fields(*rows)] == ["潘志雨"]


def test_kinds_of_institution_are_not_institutions():
    assert (
        found(
            "institutions",
            "1、医嘱离院 2、医嘱转院 3、医嘱转社区卫生服务机构/乡镇卫生院，拟接收医疗机构名称：",
        )
        == []
    )
    assert [t for _, t in found("institutions", "转入鼓楼区乡镇卫生院")] != []


# ---------------------------------------------------------------- boxes beside printed glyphs
@pytest.mark.parametrize("shift", [0.8, 2.0])  # 2 pt: OCR's box of 张 starts inside 日's glyph
def test_an_ocr_box_leaves_the_text_layer_glyphs_beside_it_whole(shift):
    """A page OCRed because its layer is not trusted still prints that layer:
    MuPDF drops every layer glyph a box touches, so a padded OCR box must stop
    at the glyphs before and after the name and at the lines above and below,
    by the pad the box gets when it is applied."""
    from core.detect.base import finding_from_span
    from core.models import Char, PageText, Source
    from core.redaction.plan import REDACTION_PAD
    from tests.engine.pdfs import char_boxes

    doc = pymupdf.open()
    page = _page_with(doc, [(40, 100, "病理征阴性。"), (40, 112, "今日张梅国主任医师查房")], size=10.0)
    layer = char_boxes(page)
    second = [(c, r) for c, r in layer if (r[1] + r[3]) / 2 > 104]
    # OCR's estimate of each character: left of the printed glyph
    ocr = [Char(c, (r[0] - shift, r[1] + 0.5, r[2] - shift, r[3] - 0.5), Source.OCR) for c, r in second]
    pin = PageInput(0, page, PageText.from_lines(0, 595, 842, [ocr]), is_scanned=False)
    f = finding_from_span(pin, 2, 5, "doctor_name", "test")
    box = pymupdf.Rect(f.rects[0])
    px, py = REDACTION_PAD
    applied = pymupdf.Rect(box.x0 - px, box.y0 - py, box.x1 + px, box.y1 + py)
    for ch, r in layer:
        if ch not in "张梅国":
            assert not applied.intersects(pymupdf.Rect(r)), ch
    name = [pymupdf.Rect(r) for c, r in second if c in "张梅国"]
    assert box.x0 <= name[0].x0 + 1.0 and box.x1 >= name[-1].x1 - max(
        1.0, shift
    )  # the name, as far as OCR saw it


# ---------------------------------------------------------------- table borders are no signatures
def test_table_cell_borders_beside_a_signature_header_are_no_pen_signature():
    from core.detect.visual.signatures import SignatureRecognizer

    doc = pymupdf.open()
    page = _page_with(doc, [(60, 60, "手术及操作者"), (120, 60, "术者"), (150, 60, "Ⅰ助"), (180, 60, "Ⅱ助")])
    for x in range(110, 260, 30):
        page.draw_rect(pymupdf.Rect(x, 50, x + 30, 64), color=(0, 0, 0), width=0.6)
        page.draw_rect(pymupdf.Rect(x, 64, x + 30, 78), color=(0, 0, 0), width=0.6)
    pin = PageInput(0, page, extract_page_text(page))
    assert SignatureRecognizer().analyze(pin, AnalysisContext()) == []
    # a pen stroke there is still a signature
    page.draw_bezier((112, 66), (120, 50), (128, 70), (140, 54), color=(0, 0, 0.3), width=1.2)
    pin = PageInput(0, page, extract_page_text(page))
    assert SignatureRecognizer().analyze(pin, AnalysisContext()) != []


# ---------------------------------------------------------------- 1D codes drawn as vector bars
def _vector_bars(page: pymupdf.Page, rect: pymupdf.Rect, seed: int, digits: str) -> None:
    """Bars of 1-3 modules (no symbology zxing reads: only the structure
    tells it is a code), every bar a filled rectangle of one path as an EMR's
    barcode component draws it, the digits printed right under the bars."""
    import random

    rng = random.Random(seed)
    widths = [rng.choice((1, 1, 2, 3)) for _ in range(2 * 34)]
    unit = rect.width / sum(widths)
    shape, x = page.new_shape(), rect.x0
    for k, w in enumerate(widths):
        if k % 2 == 0:
            shape.draw_rect(pymupdf.Rect(x, rect.y0, x + w * unit, rect.y1))
        x += w * unit
    shape.finish(color=None, fill=(0, 0, 0), width=0)
    shape.commit()
    if digits:
        page.insert_text((rect.x0 + 4, rect.y1 + 6.5), digits, fontname="helv", fontsize=7)


@pytest.mark.parametrize("width", [60.0, 80.0, 120.0])
@pytest.mark.parametrize("digits", ["48512343", ""])
def test_a_1d_code_drawn_as_vector_bars_is_hidden_undecoded(width, digits):
    from core.detect.visual.barcodes import BarcodeRecognizer

    doc = pymupdf.open()
    page = _page_with(doc, [(40, 60, "南京市中心医院 住院病案首页")], size=12.0)
    bars = pymupdf.Rect(380, 40, 380 + width, 64)
    _vector_bars(page, bars, int(width), digits)
    pin = PageInput(0, page, extract_page_text(page))
    boxes = [pymupdf.Rect(f.rects[0]) for f in BarcodeRecognizer().analyze(pin, AnalysisContext())]
    assert any(b.contains(bars + (1, 1, -1, -1)) for b in boxes), boxes


# ---------------------------------------------------------------- faces only in photos
def test_a_cascade_hit_on_printed_text_is_no_face(monkeypatch):
    """The Haar cascade fires on dense print of pages OCRed whole (tables,
    narrative); a face is kept only where the pixels have a photo's tones."""
    import io

    from core.detect.visual import faces
    from tools.synth.visual import face_image
    from tests.engine.pdfs import rasterize, text_page

    doc = pymupdf.open()
    text_page(doc, ["辅助检查：血常规示白细胞计数9.6×10^9/L，中性粒细胞百分比78.2%。"] * 8, top=60)
    photo = pymupdf.Rect(300, 400, 420, 550)
    buf = io.BytesIO()
    face_image(200, 250, 0).save(buf, format="PNG")
    doc[0].insert_image(photo, stream=buf.getvalue())
    scan = rasterize(doc)
    text_box, photo_box = pymupdf.Rect(60, 50, 140, 130), photo + (20, 30, -20, -40)

    def cascade(
        bgr, min_px
    ):  # the cascade's hits (framed page render at 150 dpi): on the text and on the photo
        scale = 150 / 72
        m = (bgr.shape[0] - round(scan[0].rect.height * scale)) // 2
        return [tuple(int(m + v * scale) for v in (r.x0, r.y0, r.x1, r.y1)) for r in (text_box, photo_box)]

    monkeypatch.setattr(faces, "detect_faces", cascade)
    from core.engine import page_input

    pin, _ = page_input(scan[0])
    found = [pymupdf.Rect(f.rects[0]) for f in faces.FaceRecognizer().analyze(pin, AnalysisContext())]
    assert len(found) == 1 and found[0].intersects(photo) and not found[0].intersects(text_box)


def test_an_ocr_box_pads_no_further_than_the_lines_above_and_below():
    """Scans of tight tables and narrative: the padding of a name's OCR box
    must not reach into the OCR'd line above or below (it blackened their
    descenders and ascenders), but the box keeps the name's own OCR boxes."""
    from core.detect.base import finding_from_span
    from core.models import Char, PageText, Source

    def line(text, y0, y1, x0=40.0, w=10.0):
        return [Char(c, (x0 + i * w, y0, x0 + (i + 1) * w, y1), Source.OCR) for i, c in enumerate(text)]

    above, row, below = (
        line("病理征阴性", 100.0, 111.0),
        line("患者顾洋诉", 111.6, 122.6),
        line("神志清精神可", 123.2, 134.2),
    )
    page = PageInput(0, None, PageText.from_lines(0, 595, 842, [above, row, below]), is_scanned=True)
    start = page.text.text.index("顾洋")
    f = finding_from_span(page, start, start + 2, "patient_name", "test")
    ((x0, y0, x1, y1),) = f.rects
    assert y0 >= 111.0 and y1 <= 123.2  # clear of the neighbouring lines
    assert y0 <= 111.6 and y1 >= 122.6  # the name's own boxes stay covered
