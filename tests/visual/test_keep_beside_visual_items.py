"""Clinical print beside a visual item stays readable (issue 10, records of
another generator): a signature's box leaves the label's colon, a doctor's
speech after a role label is no signature, a table is no face, and a seal's
box hugs its ring."""

from __future__ import annotations

import pymupdf
import pytest

import core.detect.visual.faces as faces
from core.engine import analyze_document
from tests.ocr.scans import FONT, glyph_box, pixels, scan_of
from tools.eval.visual import page_inputs, run_visual
from tools.synth.visual import ink_bbox, png_bytes, seal_image, signature_image

FS = 10.5


def _write(page: pymupdf.Page, x: float, y: float, text: str) -> None:
    page.insert_text((x, y), text, fontname="wqy", fontfile=FONT, fontsize=FS)


def _signed(page: pymupdf.Page, x: float, y: float, seed: int) -> pymupdf.Rect:
    """A handwritten signature right after a label ending at ``x`` (baseline ``y``)."""
    img = signature_image("贺洁", "kai", seed)
    h = 22.0
    w = h * img.width / img.height
    r = pymupdf.Rect(x + 1.5, y - 16, x + 1.5 + w, y - 16 + h)
    page.insert_image(r, stream=png_bytes(img), keep_proportion=False)
    fx0, fy0, fx1, fy1 = ink_bbox(img)
    return pymupdf.Rect(
        r.x0 + fx0 * r.width, r.y0 + fy0 * r.height, r.x0 + fx1 * r.width, r.y0 + fy1 * r.height
    )


@pytest.fixture(scope="module")
def scanned_signatures():
    src_doc = pymupdf.open()
    src = src_doc.new_page(width=595, height=300)
    inks = {}
    for k, label in enumerate(["记录者：", "医师签名：", "上级医师签名："]):
        y = 60 + 50 * k
        _write(src, 300, y, label)
        inks[label] = (glyph_box(src, label), _signed(src, 300 + FS * len(label), y, k))
    _write(src, 40, 230, "皇甫平祥主治医师：患者病情进展迅速，羊水栓塞诊断明确，抢救过程及时。")
    doc, _ = scan_of(pixels(src), 595, 300)
    return inks, analyze_document(doc, {}, workers=1).findings


def test_a_scanned_signature_box_leaves_the_labels_colon_cell(scanned_signatures):
    inks, findings = scanned_signatures
    sigs = [pymupdf.Rect(f.rects[0]) for f in findings if f.category.value == "signature"]
    for label, (label_box, ink) in inks.items():
        mine = [r for r in sigs if r.intersects(ink)]
        assert mine, f"signature after {label} not found"
        box = mine[0]
        assert box.contains(ink + (1, 1, -1, -1)), f"signature after {label} not covered"
        # the scorer lets a box spill 3 pt onto the label; the colon's em cell ends at label_box.x1
        assert box.x0 >= label_box[2] - 2.5, f"box reaches {label_box[2] - box.x0:.1f} pt into {label}"


def test_speech_after_a_role_label_is_no_signature(scanned_signatures):
    _, findings = scanned_signatures
    assert not [f for f in findings if f.category.value == "signature" and f.rects[0][1] > 210]


def _table_scan() -> pymupdf.Document:
    """A 护理记录 table scanned: shaded header cells (a photo's mid-tones), short number cells;
    beside it a bilevel line drawing (ink that is no text, with few mid-tones)."""
    src_doc = pymupdf.open()
    src = src_doc.new_page(width=595, height=300)
    src.draw_rect(pymupdf.Rect(60, 60, 300, 90), color=None, fill=(0.78, 0.78, 0.78))
    for col, (head, unit) in enumerate(
        [("体温", "℃"), ("脉搏", "次/分"), ("呼吸", "次/分"), ("血压", "mmHg")]
    ):
        x = 66 + 58 * col
        _write(src, x, 73, head)
        _write(src, x, 86, unit)
        for row in range(4):
            _write(src, x, 106 + 16 * row, str(36 + col * 20 + row))
    src.draw_oval(pymupdf.Rect(395, 170, 465, 250), color=(0, 0, 0), width=2)
    for eye in (415, 445):
        src.draw_circle((eye, 200), 4, color=(0, 0, 0), fill=(0, 0, 0))
    src.draw_line((418, 228), (442, 228), color=(0, 0, 0), width=2)
    return scan_of(pixels(src), 595, 300)[0]


@pytest.mark.parametrize("where,kept", [((60, 60, 300, 160), False), ((380, 160, 480, 260), True)])
def test_a_face_the_cascade_sees_in_a_table_is_print(monkeypatch, where, kept):
    """The cascade is made to fire at ``where`` when the search reaches it: over
    the table's cells the hit is print (OCR read its cells); over the line
    drawing beside it on a scan (no text line there) it stands."""
    doc = _table_scan()
    k = 150 / 72
    hit = tuple(int(v * k) for v in where)
    searched = []

    def fake(bgr, area, min_px):
        searched.append(area)
        inside = area[0] < hit[2] and hit[0] < area[2] and area[1] < hit[3] and hit[1] < area[3]
        return [hit] if inside else []

    monkeypatch.setattr(faces, "_faces_in", fake)
    found = [f for f in analyze_document(doc, {}, workers=1).findings if f.category.value == "face"]
    assert searched, "the scan's ink was not searched"
    assert bool(found) == kept, found


def test_blank_paper_of_a_scan_is_not_searched_for_faces(monkeypatch):
    """Only the ink left after the text lines are blanked is searched: the
    drawing and the table, never the blank paper round them."""
    searched = []
    monkeypatch.setattr(faces, "_faces_in", lambda bgr, area, min_px: searched.append(area) or [])
    analyze_document(_table_scan(), {}, workers=1)
    k = 150 / 72
    drawing = (395 * k, 170 * k, 465 * k, 250 * k)
    assert any(
        a[0] <= drawing[0] and a[1] <= drawing[1] and a[2] >= drawing[2] and a[3] >= drawing[3]
        for a in searched
    )
    assert sum((a[2] - a[0]) * (a[3] - a[1]) for a in searched) < 0.3 * (595 * k) * (300 * k)


def test_a_seal_box_hugs_its_ring():
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=400)
    img = seal_image("徐州市儿童医院", "检验专用章")
    r = pymupdf.Rect(345, 110, 450, 215)
    page.insert_image(r, stream=png_bytes(img), keep_proportion=False)
    fx0, fy0, fx1, fy1 = ink_bbox(img)
    ink = pymupdf.Rect(
        r.x0 + fx0 * r.width, r.y0 + fy0 * r.height, r.x0 + fx1 * r.width, r.y0 + fy1 * r.height
    )
    seals = [f for f in run_visual(page_inputs(doc)) if f.category.value == "seal"]
    assert seals, "seal not found"
    box = pymupdf.Rect(seals[0].rects[0])
    assert box.contains(ink + (1, 1, -1, -1)), "seal not covered"
    # the seal is found on a 60 dpi copy and grown by its faint outer ring's share; beyond that
    # the box keeps half a point, so the values printed beside the ring stay readable
    for edge, limit in (
        (ink.x0 - box.x0, 6.0),
        (box.x1 - ink.x1, 6.0),
        (ink.y0 - box.y0, 6.0),
        (box.y1 - ink.y1, 6.0),
    ):
        assert edge <= limit, (box, ink)
