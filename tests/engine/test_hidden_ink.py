"""Images whose stored samples hold ink that the page does not show legibly
(``/Decode`` squeezing ink and ground into two greys, an ``/Indexed`` palette
of near greys, a stencil mask filled with the page's colour, a soft mask
carrying the ink of a white image, inline images alike, a faint inline image
over a visible one, text over a near-white image, a scan cropped by a clip
path) keep only what the page shows: the ink is gone from the output's
samples, the page looks the same, text drawn over them is still found and
redacted.  Images the page shows keep their samples.  Through the command
line on PDFs built in ``tests/engine/hidden_ink_pdfs.py``."""

from __future__ import annotations

import numpy as np
import pymupdf
import pytest

from tests.engine import hidden_ink_pdfs as pdfs
from tests.engine.test_hostile_constructs import redact

META = {"patient_name": pdfs.NAME, "id_number": pdfs.ID}


def _ink(samples: np.ndarray) -> int:
    """Pixels that differ from the commonest pixel (what a contrast stretch shows)."""
    if samples.size == 0:
        return 0
    values, counts = np.unique(samples, axis=0, return_counts=True)
    return int(len(samples) - counts.max())


def _pixmap_pixels(pix: pymupdf.Pixmap) -> np.ndarray:
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(-1, pix.n)


def stored_ink(path, rows: slice = slice(None)) -> int:
    """Ink held by the file's images, image XObjects and masks and inline images alike, each read on
    its own (what an extractor reads, whatever the page shows); ``rows``: of each image XObject."""
    doc = pymupdf.open(path)
    ink = 0
    for xref in range(1, doc.xref_length()):
        if doc.xref_get_key(xref, "Subtype")[1] == "/Image":
            pix = pymupdf.Pixmap(doc, xref)
            pixels = _pixmap_pixels(pix).reshape(pix.height, pix.width, pix.n)[rows]
            ink += _ink(pixels.reshape(-1, pix.n))
            if rows == slice(None):  # and the stored bytes (a colour key or a stencil leave the pixmap flat)
                ink += _ink(np.frombuffer(doc.xref_stream(xref) or b"", dtype=np.uint8).reshape(-1, 1))
    return ink + _inline_ink(doc)


def _inline_ink(doc: pymupdf.Document) -> int:
    from tests.engine.test_unseen_images import inline_images_alone

    return sum(_ink(_pixmap_pixels(pix)) for pix in inline_images_alone(doc))


def _render(doc_or_path) -> np.ndarray:
    doc = doc_or_path if isinstance(doc_or_path, pymupdf.Document) else pymupdf.open(doc_or_path)
    pix = doc[0].get_pixmap(dpi=72, colorspace=pymupdf.csGRAY)
    return np.frombuffer(pix.samples, dtype=np.uint8).astype(int)


def _visible_inline_ink(tmp_path) -> int:
    alone = tmp_path / "visible.pdf"
    alone.write_bytes(pdfs.visible_inline_alone().tobytes())
    return stored_ink(alone)


HIDDEN = {
    "decode-0.5-0.51": pdfs.decode_trick,
    "indexed-near-greys": pdfs.indexed_trick,
    "stencil-filled-white": pdfs.stencil_trick,
    "soft-mask-of-a-white-image": pdfs.soft_mask_trick,
    "inline-decode-0.5-0.51": pdfs.inline_decode_trick,
    "faint-inline-over-visible-inline": pdfs.faint_inline_over_visible_inline,
    "decode-in-a-form": pdfs.decode_trick_in_a_form,
    "decode-in-a-tiling-pattern": pdfs.decode_trick_in_a_pattern,
    "ink-in-a-soft-mask-group": pdfs.ink_in_a_soft_mask_group,
    "colour-key-masking-everything": pdfs.colour_key_masking_everything,
    "decode-16-bit": pdfs.decode_trick_16_bit,
    "inline-stencil-filled-white": pdfs.inline_stencil_filled_white,
}


@pytest.mark.parametrize("build", HIDDEN.values(), ids=HIDDEN.keys())
def test_ink_the_page_does_not_show_is_gone_and_the_page_looks_the_same(tmp_path, build):
    doc = build()
    source = tmp_path / "source.pdf"
    source.write_bytes(doc.tobytes())
    visible = _visible_inline_ink(tmp_path) if build is pdfs.faint_inline_over_visible_inline else 0
    assert stored_ink(source) > visible + 1000  # the identifiers are in the input's samples
    result, out, report = redact(tmp_path, source.read_bytes(), meta=META)
    assert result.returncode == 0, result.stderr
    if build is pdfs.faint_inline_over_visible_inline:  # the visible image keeps its ink
        assert stored_ink(out) == visible > 1000
    else:
        assert stored_ink(out) == 0
    assert report["unseen_removed"]["covered_images"] >= 1
    assert np.abs(_render(out) - _render(source)).max() <= 26
    assert pdfs.CLINICAL in pymupdf.open(out)[0].get_text()


def test_a_name_an_image_shows_faintly_is_found_by_ocr_and_its_ink_gone(tmp_path):
    """``/Decode [0.9 1]``: ink at 25 of 255 below the ground, which OCR reads."""
    result, out, report = redact(tmp_path, pdfs.decode_trick("[0.9 1]").tobytes(), meta=META)
    assert result.returncode == 0, result.stderr
    assert {f["category"] for f in report["findings"]} >= {"patient_name", "id_number"}
    assert stored_ink(out) == 0


def test_text_over_a_near_white_image_is_redacted_and_the_image_ink_gone(tmp_path):
    source = tmp_path / "source.pdf"
    source.write_bytes(pdfs.text_over_faint_image().tobytes())
    assert stored_ink(source) > 1000
    result, out, _ = redact(tmp_path, source.read_bytes(), meta=META)
    assert result.returncode == 0, result.stderr
    assert stored_ink(out) == 0
    text = pymupdf.open(out)[0].get_text()
    assert pdfs.NAME not in text and "妊娠期高血压" in text


def test_the_part_of_a_scan_a_clip_leaves_out_is_blanked_and_the_part_it_shows_kept(tmp_path):
    source = tmp_path / "source.pdf"
    source.write_bytes(pdfs.clipped_scan().tobytes())
    assert stored_ink(source, slice(60, None)) > 1000
    result, out, report = redact(tmp_path, source.read_bytes(), meta=META)
    assert result.returncode == 0, result.stderr
    assert stored_ink(out, slice(66, None)) == 0  # the left-out row (a pixel row of margin)
    assert stored_ink(out, slice(0, 54)) > 1000  # the shown row
    assert report["unseen_removed"]["covered_images"] >= 1
    assert np.abs(_render(out) - _render(source)).max() <= 2


SHOWN = {"decode-inverted": pdfs.visible_inverted_image, "flat-colour-jpeg": pdfs.flat_colour_jpeg}


@pytest.mark.parametrize("build", SHOWN.values(), ids=SHOWN.keys())
def test_an_image_the_page_shows_looks_the_same(tmp_path, build):
    source = tmp_path / "source.pdf"
    source.write_bytes(build().tobytes())
    result, out, _ = redact(tmp_path, source.read_bytes(), meta=META)
    assert result.returncode == 0, result.stderr
    assert np.abs(_render(out) - _render(source)).max() <= 6
    if build is pdfs.visible_inverted_image:
        assert stored_ink(out) > 1000


def test_images_of_resources_two_pages_share_keep_their_pixels(tmp_path):
    source = tmp_path / "source.pdf"
    source.write_bytes(pdfs.shared_resources().tobytes())
    before = stored_ink(source)
    result, out, _ = redact(tmp_path, source.read_bytes(), meta=META)
    assert result.returncode == 0, result.stderr
    assert stored_ink(out) == before > 2000
    assert all(len(page.get_images()) >= 1 for page in pymupdf.open(out))


OTHER_CODINGS = {
    "ccitt-decode-1-1": lambda: pdfs.bilevel_scan_shown_white("ccitt"),
    "jbig2-decode-1-1": lambda: pdfs.bilevel_scan_shown_white("jbig2"),
    "jpeg2000-decode-0.5-0.51": pdfs.jpeg2000_decode_trick,
}


@pytest.mark.parametrize("build", OTHER_CODINGS.values(), ids=OTHER_CODINGS.keys())
def test_ink_no_coding_shows_is_gone(tmp_path, build):
    source = tmp_path / "source.pdf"
    source.write_bytes(build().tobytes())
    assert stored_ink(source) > 1000
    result, out, _ = redact(tmp_path, source.read_bytes(), meta=META)
    assert result.returncode == 0, result.stderr
    assert stored_ink(out) == 0
    assert np.abs(_render(out) - _render(source)).max() <= 26


def test_an_image_drawn_upside_down_is_read_and_its_identifiers_redacted(tmp_path, monkeypatch):
    """Neither value is in the case index: OCR must read the turned line (its detector finds no line
    upright)."""
    monkeypatch.setenv("DEID_OCR_CACHE", "0")
    result, out, report = redact(
        tmp_path, pdfs.image_drawn_upside_down().tobytes(), meta={"patient_name": "李四"}
    )
    assert result.returncode == 0, result.stderr
    assert {"id_number"} <= {f["category"] for f in report["findings"]}
    assert any(f["category"] in ("patient_name", "person_name") for f in report["findings"])


@pytest.mark.parametrize(
    "matrix", [b"-500 0 0 33 540 509", b"500 0 0 -33 40 542"], ids=["left-to-right", "top-to-bottom"]
)
def test_an_image_drawn_mirrored_is_read_and_its_identifiers_redacted(tmp_path, monkeypatch, matrix):
    """Mirror writing: the detector finds no line upright or turned; neither value is in the case index."""
    monkeypatch.setenv("DEID_OCR_CACHE", "0")
    result, out, report = redact(
        tmp_path, pdfs.image_drawn_mirrored(matrix).tobytes(), meta={"patient_name": "李四"}
    )
    assert result.returncode == 0, result.stderr
    assert {"id_number"} <= {f["category"] for f in report["findings"]}
    assert any(f["category"] in ("patient_name", "person_name") for f in report["findings"])
