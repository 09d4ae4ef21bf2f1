"""Nothing hidden survives: hidden data, content outside the page, hidden
layers, vector seals, the research policy and hostile files, through the
command line on PDFs built here."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pymupdf
import pytest

from core.redaction.plan import PlanItem, RedactionPlan
from core.redaction.apply import apply_plan
from tests.engine.hostile_pdfs import HOSTILE
from tests.engine.pdfs import FONT, fail_on_page, text_page

ROOT = Path(__file__).resolve().parents[2]
NAME, ID = "王小红", "320106199501011237"
CLINICAL = "入院诊断：妊娠期高血压"


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def redact(tmp_path, doc_or_bytes, *extra, meta=None):
    src, out, report = tmp_path / "in.pdf", tmp_path / "out.pdf", tmp_path / "report.json"
    src.write_bytes(doc_or_bytes if isinstance(doc_or_bytes, bytes) else doc_or_bytes.tobytes())
    args = ["redact", str(src), "-o", str(out), "--report", str(report), *extra]
    if meta:
        (tmp_path / "case.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        args += ["--meta", str(tmp_path / "case.json")]
    r = run_cli(*args)
    return r, out, (json.loads(report.read_text(encoding="utf-8")) if report.exists() else None)


def raw_content(path: Path) -> str:
    """Every object and every decompressed stream of the file, as text."""
    doc = pymupdf.open(path)
    parts = []
    for xref in range(1, doc.xref_length()):
        parts.append(doc.xref_object(xref, compressed=False))
        if doc.xref_is_stream(xref):
            parts.append((doc.xref_stream(xref) or b"").decode("latin-1"))
    parts += [str(doc.metadata), doc.get_xml_metadata()]
    return "\n".join(parts)


def assert_nowhere(path: Path, *values: str) -> None:
    raw = raw_content(path)
    text = "".join(p.get_text() for p in pymupdf.open(path))
    poppler = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    for value in values:
        encodings = {
            value,
            value.encode("utf-16-be").hex(),
            value.encode("utf-16-be").hex().upper(),
            value.encode("utf-8").hex(),
            value.encode("utf-8").hex().upper(),
        }
        assert not any(e in raw for e in encodings), "value left in the raw file"
        assert value not in text and value not in poppler, "value left in the text layer"


def clinical_page(doc: pymupdf.Document) -> pymupdf.Page:
    return text_page(doc, [CLINICAL, "血压135/85mmHg"])


# ------------------------------------------------------------ hidden data
def test_structure_tree_alt_and_actualtext_are_gone(tmp_path):
    doc = pymupdf.open()
    page = clinical_page(doc)
    content = page.get_contents()[0]
    doc.update_stream(
        content,
        b"/Span <</ActualText <FEFF"
        + NAME.encode("utf-16-be").hex().encode()
        + b"> /MCID 0>> BDC\n"
        + doc.xref_stream(content)
        + b"\nEMC\n",
    )
    elem = doc.get_new_xref()
    doc.update_object(
        elem, f"<</Type/StructElem /S/Figure /Alt ({ID}) /ActualText ({ID}) /Pg {page.xref} 0 R /K 0>>"
    )
    root = doc.get_new_xref()
    doc.update_object(root, f"<</Type/StructTreeRoot /K [{elem} 0 R]>>")
    doc.xref_set_key(doc.pdf_catalog(), "StructTreeRoot", f"{root} 0 R")
    doc.xref_set_key(doc.pdf_catalog(), "MarkInfo", "<</Marked true>>")
    r, out, _ = redact(tmp_path, doc, "--no-ocr")
    assert r.returncode == 0, r.stderr
    assert_nowhere(out, ID, NAME)
    # the ActualText replaces the first glyphs in extraction: those are hidden (safe); the rest stays
    assert "血压135/85mmHg" in pymupdf.open(out)[0].get_text()


def test_page_label_prefix_is_gone(tmp_path):
    doc = pymupdf.open()
    clinical_page(doc)
    doc.set_page_labels([{"startpage": 0, "prefix": f"{ID}-", "style": "D", "firstpagenum": 1}])
    r, out, _ = redact(tmp_path, doc, "--no-ocr")
    assert r.returncode == 0, r.stderr
    assert_nowhere(out, ID)
    assert pymupdf.open(out)[0].get_label() == ""


def test_open_action_and_page_actions_with_javascript_are_gone(tmp_path):
    doc = pymupdf.open()
    page = clinical_page(doc)
    doc.xref_set_key(doc.pdf_catalog(), "OpenAction", f"<</S/JavaScript /JS (app.alert\\('{ID}'\\))>>")
    doc.xref_set_key(page.xref, "AA", "<</O <</S/JavaScript /JS (var phone = '13912345678';)>>>>")
    r, out, _ = redact(tmp_path, doc, "--no-ocr")
    assert r.returncode == 0, r.stderr
    assert_nowhere(out, ID, "13912345678")
    result = pymupdf.open(out)
    assert result.xref_get_key(result.pdf_catalog(), "OpenAction")[0] == "null"
    assert result.xref_get_key(result[0].xref, "AA")[0] == "null"


def test_export_strips_with_the_same_sanitizer():
    from core.export import finalize
    from core.pdf import sanitize

    assert finalize.sanitize is sanitize.sanitize


def test_marked_content_property_lists_are_neutralised_inline_images_kept():
    from core.pdf.sanitize import neutral_marked_content

    data = (
        b"/Span <</ActualText (A\\)B) /K [1 <</Alt (X)>>]>> BDC BT (keep) Tj ET EMC "
        b"BI /W 2 /H 1 /BPC 8 /CS /G ID \x00\xff EI /P <</Alt (DPALT)>> DP"
    )
    out = neutral_marked_content(data)
    assert b"ActualText" not in out and b"Alt" not in out
    assert b"/Span BMC" in out and b"/P MP" in out and b"(keep) Tj" in out
    assert b"ID \x00\xff EI" in out


def _jpeg_with_metadata(mode: str, progressive: bool) -> bytes:
    """A JPEG of a clinical word whose EXIF (description, XP title in UTF-16LE), XMP-style APP
    segment and comment hold the name and ID, with trailing bytes after the image."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 80), "white")
    ImageDraw.Draw(image).rectangle((20, 20, 300, 60), fill=(40, 90, 160))
    exif = Image.Exif()
    exif[0x010E] = f"{NAME} {ID}"  # ImageDescription
    exif[0x9C9B] = f"{NAME}.jpg".encode("utf-16-le")  # XPTitle, as Windows scanners write it
    out = io.BytesIO()
    image.convert(mode).save(
        out, "JPEG", exif=exif, comment=f"patient {NAME}".encode("gbk"), progressive=progressive, quality=90
    )
    data = out.getvalue()
    app13 = (
        b"\xff\xed"
        + (2 + 20 + len(ID)).to_bytes(2, "big")
        + b"Photoshop 3.0\x00\x00\x00\x00\x00\x00\x00"
        + ID.encode()
    )
    return data[:2] + app13 + data[2:] + f"trailer {ID}".encode()


def _image_streams(path: Path) -> list[bytes]:
    doc = pymupdf.open(path)
    return [
        doc.xref_stream_raw(x) or b""
        for x in range(1, doc.xref_length())
        if doc.xref_get_key(x, "Subtype")[1] == "/Image"
    ]


@pytest.mark.parametrize("mode,progressive", [("RGB", False), ("CMYK", False), ("L", True)])
def test_metadata_inside_jpeg_images_is_gone_and_the_pixels_are_kept(tmp_path, mode, progressive):
    doc = pymupdf.open()
    page = clinical_page(doc)
    page.insert_image(pymupdf.Rect(72, 200, 392, 280), stream=_jpeg_with_metadata(mode, progressive))
    before = page.get_pixmap(dpi=72).samples
    r, out, _ = redact(tmp_path, doc)  # OCR on: a page with an image is read, not blanked
    assert r.returncode == 0, r.stderr
    streams = _image_streams(out)
    assert streams and all(s[:2] == b"\xff\xd8" for s in streams), "still a JPEG, not re-coded"
    for value in (NAME, ID, f"{NAME}.jpg"):
        for encoding in ("utf-8", "utf-16-le", "gbk"):
            assert not any(value.encode(encoding) in s for s in streams), f"{encoding} value left in an image"
    assert pymupdf.open(out)[0].get_pixmap(dpi=72).samples == before  # the same pixels, bit for bit


def test_the_leak_gate_reads_jpeg_metadata_itself():
    from core.verify import Identifier, verify_pdf

    doc = pymupdf.open()
    clinical_page(doc).insert_image(pymupdf.Rect(72, 200, 392, 280), stream=_jpeg_with_metadata("RGB", False))
    report = verify_pdf(
        doc.tobytes(), [Identifier(NAME, "patient_name"), Identifier(ID, "id_number")], ocr="none"
    )
    assert not report.ok
    assert {l.where for l in report.leaks} == {"image metadata"}
    assert {l.category for l in report.leaks} == {"patient_name", "id_number"}


def test_a_jpeg_2000_image_is_re_coded_from_its_pixels_and_an_undecodable_one_emptied(tmp_path):
    from PIL import Image

    jp2 = io.BytesIO()
    Image.new("RGB", (64, 32), (40, 90, 160)).save(jp2, "JPEG2000", comment=f"patient {ID}".encode())
    doc = pymupdf.open()
    page = clinical_page(doc)
    xref = page.insert_image(pymupdf.Rect(72, 200, 200, 264), stream=jp2.getvalue())
    before = page.get_pixmap(dpi=72).samples
    r, out, report = redact(tmp_path, doc)
    assert r.returncode == 0, r.stderr
    result = pymupdf.open(out)
    assert not any(ID.encode() in s for s in _image_streams(out))
    assert "JPXDecode" not in "".join(result.xref_object(x) for x in range(1, result.xref_length()))
    assert result[0].get_pixmap(dpi=72).samples == before
    assert report["unseen_removed"]["streams"] == 0

    # bytes no decoder reads: MuPDF shows nothing, another viewer might show anything
    doc.update_stream(xref, f"not a codestream {ID}".encode(), compress=False)
    doc.xref_set_key(xref, "Filter", "/JPXDecode")
    before = doc[0].get_pixmap(dpi=72).samples
    r, out, report = redact(tmp_path, doc)
    assert r.returncode == 0, r.stderr
    assert not any(ID.encode() in s for s in _image_streams(out))
    assert pymupdf.open(out)[0].get_pixmap(dpi=72).samples == before
    assert report["unseen_removed"]["streams"] == 1 and "已移除页面上看不见的内容" in r.stderr


def _inline_jpeg_page() -> pymupdf.Document:
    jpg = _jpeg_with_metadata("RGB", False)
    doc = pymupdf.open()
    page = clinical_page(doc)
    xref = page.get_contents()[0]
    inline = b"q 160 0 0 40 72 400 cm BI /W 320 /H 80 /CS /RGB /BPC 8 /F /DCT /L %d ID " % len(jpg) + jpg
    doc.update_stream(xref, doc.xref_stream(xref) + b"\n" + inline + b"\nEI Q\n")
    return doc


def test_metadata_inside_an_inline_jpeg_is_gone_and_the_gate_reads_it(tmp_path):
    from core.verify import Identifier, verify_pdf

    doc = _inline_jpeg_page()
    identifiers = [Identifier(NAME, "patient_name"), Identifier(ID, "id_number")]
    report = verify_pdf(doc.tobytes(), identifiers, ocr="none")
    assert {l.where for l in report.leaks} == {"raw stream"}
    assert {l.category for l in report.leaks} == {"patient_name", "id_number"}
    before = doc[0].get_pixmap(dpi=72).samples
    r, out, _ = redact(tmp_path, doc)
    assert r.returncode == 0, r.stderr
    result = pymupdf.open(out)
    content = result[0].read_contents()
    assert b"/DCT" in content and b"\xff\xd8" in content  # still inline, still a JPEG
    for value in (NAME, ID, f"{NAME}.jpg"):
        for encoding in ("utf-8", "utf-16-le", "gbk"):
            assert value.encode(encoding) not in content
    assert result[0].get_pixmap(dpi=72).samples == before
    assert verify_pdf(result.tobytes(), identifiers, ocr="none").ok


def test_an_alternate_image_for_printing_is_gone(tmp_path):
    doc = pymupdf.open()
    page = clinical_page(doc)
    shown = page.insert_image(pymupdf.Rect(72, 200, 392, 280), stream=_jpeg_with_metadata("RGB", False))
    alternate = page.insert_image(pymupdf.Rect(0, 0, 1, 1), stream=_jpeg_with_metadata("L", False))
    doc.xref_set_key(shown, "Alternates", f"[<</Image {alternate} 0 R /DefaultForPrinting true>>]")
    r, out, _ = redact(tmp_path, doc)
    assert r.returncode == 0, r.stderr
    result = pymupdf.open(out)
    images = [x for x in range(1, result.xref_length()) if result.xref_get_key(x, "Subtype")[1] == "/Image"]
    assert images and all(result.xref_get_key(x, "Alternates")[0] == "null" for x in images)


# ------------------------------------------------ outside what is shown
@pytest.mark.parametrize("ocr", [False, True], ids=["no-ocr", "ocr"])
def test_name_and_id_between_cropbox_and_mediabox_are_removed(tmp_path, ocr):
    """With OCR on, the text-layer check must not sample text it cannot see (an empty crop failed
    the page, which was then blanked whole, its clinical text with it)."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_font(fontname="wqy", fontfile=FONT)
    page.insert_text((100, 300), CLINICAL, fontname="wqy", fontsize=12)
    page.insert_text((20, 40), f"姓名：{NAME}", fontname="wqy", fontsize=10)
    page.insert_text((20, 60), f"ID {ID}", fontsize=10)  # base-14 font: the digits are plain in the stream
    page.insert_text((-400, 500), f"ID {ID}", fontsize=10)  # even outside the MediaBox
    page.set_cropbox(pymupdf.Rect(80, 100, 520, 760))
    r, out, report = redact(tmp_path, doc, *([] if ocr else ["--no-ocr"]))
    assert r.returncode == 0, r.stderr
    assert report["blanked_pages"] == [] and report["failed_pages"] == []
    assert_nowhere(out, ID, NAME)
    result = pymupdf.open(out)[0]
    assert CLINICAL in result.get_text()
    for key in ("BleedBox", "TrimBox", "ArtBox"):
        assert result.parent.xref_get_key(result.xref, key)[0] == "null"
    assert result.parent.xref_get_key(result.xref, "MediaBox") == result.parent.xref_get_key(
        result.xref, "CropBox"
    )


def test_name_and_id_in_a_hidden_layer_are_found_and_removed(tmp_path):
    doc = pymupdf.open()
    page = clinical_page(doc)
    off = doc.add_ocg("hidden", on=False)
    page.insert_text((40, 300), f"身份证号：{ID}", fontname="wqy", fontsize=10.5, oc=off)
    assert ID not in page.get_text()  # hidden from a plain reader
    r, out, report = redact(tmp_path, doc, "--no-ocr")
    assert r.returncode == 0, r.stderr
    assert any(f["category"] == "id_number" for f in report["findings"])
    assert_nowhere(out, ID)
    result = pymupdf.open(out)
    assert result.xref_get_key(result.pdf_catalog(), "OCProperties")[0] == "null"
    assert CLINICAL in result[0].get_text()


def _seal(page: pymupdf.Page, center=(300, 400), radius=45) -> None:
    page.draw_circle(center, radius, color=(0.8, 0, 0), width=2)
    page.draw_line((center[0] - 30, center[1]), (center[0] + 30, center[1]), color=(0.8, 0, 0), width=2)


def test_vector_seal_sticking_out_of_its_box_is_removed_table_rule_beside_text_kept():
    doc = pymupdf.open()
    page = clinical_page(doc)
    _seal(page)
    page.draw_line((40, 93), (400, 93), color=(0, 0, 0), width=0.5)  # table rule under the first line
    plan = RedactionPlan(
        "review",
        "black",
        [
            PlanItem(0, (275, 375, 325, 425), "seal"),  # the box covers the middle of the seal only
            PlanItem(0, (40, 65, 120, 82), "patient_name"),  # a text box near the rule
        ],
    )
    apply_plan(doc, plan)
    page = doc[0]
    around = pymupdf.Rect(245, 345, 355, 455)
    red = [
        d
        for d in page.get_drawings()
        if d.get("color") and d["color"][0] > 0.5 and d["rect"].intersects(around)
    ]
    assert not red, "seal paths survive under or beside the fill"
    assert any(abs(d["rect"].y0 - 93) < 1 and d["rect"].width > 300 for d in page.get_drawings())


# ------------------------------------------------------ research policy
def test_research_policy_via_cli_generalises_age_and_shifts_dates(tmp_path):
    doc = pymupdf.open()
    text_page(doc, [f"姓名：{NAME}  性别：女  年龄：28岁", "入院日期：2023-03-01", CLINICAL])
    r, out, report = redact(
        tmp_path,
        doc,
        "--no-ocr",
        "--policy",
        "research",
        meta={"case_id": "C-research", "patient_name": NAME},
    )
    assert r.returncode == 0, r.stderr
    assert report["style"] == "label"
    text = pymupdf.open(out)[0].get_text().replace(" ", "")
    assert "[25-29岁]" in text and "28岁" not in text
    assert "2023-03-01" not in text and ("[2023-" in text or "[2022-" in text)
    assert NAME not in text and CLINICAL in text


# ------------------------------------------------------- hostile files
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_file_exits_0_or_2_never_a_traceback(tmp_path, name):
    ocr = ["--no-ocr"] if name not in ("huge_image", "many_colour_components") else []
    r, out, _ = redact(tmp_path, HOSTILE[name](), *ocr)
    assert r.returncode in (0, 2), r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    if r.returncode == 2:
        assert len(r.stderr.strip().splitlines()) == 1 and " / " in r.stderr
        assert not out.exists()
    else:
        result = pymupdf.open(out)
        assert result.page_count >= 1
        for page in result:
            page.get_text()
            assert "320106199501011237" not in page.get_text()


def test_page_that_cannot_be_analysed_is_blanked_not_released(tmp_path, monkeypatch, capsys):
    from core import cli

    doc = pymupdf.open()
    text_page(doc, [CLINICAL])
    text_page(doc, [f"身份证号：{ID}", CLINICAL])
    src, out = tmp_path / "in.pdf", tmp_path / "out.pdf"
    doc.save(src)
    fail_on_page(monkeypatch, 1)
    assert cli.main(["redact", str(src), "-o", str(out), "--no-ocr"]) == 0
    assert "[2]" in capsys.readouterr().err
    result = pymupdf.open(out)
    assert CLINICAL in result[0].get_text()
    assert ID not in result[1].get_text() and CLINICAL not in result[1].get_text()
    assert_nowhere(out, ID)
