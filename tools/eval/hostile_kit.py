"""The systematic half of the hostile-PDF kit: mutations of small PDFs built here.

Each generator returns ``(name, class, bytes)`` items.  The base files are
built with PyMuPDF (text page with a CJK font, an image-only "scan", a
form-XObject page) or written object by object (``raw_pdf``), with
uncompressed streams so that byte-level damage lands where its name says.
Nothing here uses the product's code: the kit measures ``core``, it does
not share its assumptions.  The public half (malformed files of public
projects) is in ``tools.eval.hostile``.
"""

from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterator

import pymupdf

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
NAME, ID = "王小红", "320106199501011237"
LINES = [f"姓名：{NAME}  身份证号：{ID}", "入院诊断：妊娠期高血压", "血压135/85mmHg"]
ASCII_ID = b"(Patient ID 320106199501011237) Tj"
OTHER_NAME, OTHER_ID = "司马文静", "440304198811022159"  # a relative's, nowhere else in the file


@dataclass
class KitFile:
    name: str
    klass: str
    data: bytes
    identifiers: list[str] = field(default_factory=lambda: [NAME, ID])
    source: str = "mutation"
    meta: bool = True  # the identifiers are given as the case's index record (--meta)


# ------------------------------------------------------------------ bases
@lru_cache(maxsize=None)
def base_text() -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_font(fontname="wqy", fontfile=FONT)
    for k, line in enumerate(LINES):
        page.insert_text((40, 60 + 22 * k), line, fontname="wqy", fontsize=10.5)
    doc.subset_fonts()
    return doc.tobytes(garbage=3, expand=255)


@lru_cache(maxsize=None)
def base_scan() -> bytes:
    src = pymupdf.open("pdf", base_text())
    pix = src[0].get_pixmap(dpi=100, colorspace=pymupdf.csGRAY, clip=pymupdf.Rect(0, 0, 595, 200))
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_image(pymupdf.Rect(0, 0, 595, 200), pixmap=pix)
    return doc.tobytes(expand=255)


@lru_cache(maxsize=None)
def base_form() -> bytes:
    """Text drawn inside a form XObject (show_pdf_page makes one)."""
    src = pymupdf.open("pdf", base_text())
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.show_pdf_page(page.rect, src, 0)
    return doc.tobytes(expand=255)


def stream(dict_body: bytes, data: bytes) -> bytes:
    return b"<<%s /Length %d>>\nstream\n" % (dict_body, len(data)) + data + b"\nendstream"


def raw_pdf(objects: list[bytes], root: int = 1, trailer_extra: bytes = b"") -> bytes:
    """Objects 1..n (bodies without ``n 0 obj``) with a valid xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<</Size %d /Root %d 0 R%s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        trailer_extra,
        xref,
    )
    return bytes(out)


HELV = b"/Font<</F1 <</Type/Font/Subtype/Type1/BaseFont/Helvetica>>>>"
TEXT = b"BT /F1 12 Tf 50 700 Td " + ASCII_ID + b" ET"


def one_page(
    content: bytes = TEXT, resources: bytes = HELV, page_extra: bytes = b"", extra: list[bytes] = ()
) -> bytes:
    """Catalog 1, pages 2, page 3, content 4, then ``extra`` objects from 5."""
    objs = [
        b"<</Type/Catalog /Pages 2 0 R>>",
        b"<</Type/Pages /Kids[3 0 R] /Count 1>>",
        b"<</Type/Page /Parent 2 0 R /MediaBox[0 0 595 842] /Resources<<%s>> /Contents 4 0 R%s>>"
        % (resources, page_extra),
        stream(b"", content),
    ]
    return raw_pdf(objs + list(extra))


def image_page(image_dict: bytes, data: bytes, extra: list[bytes] = ()) -> bytes:
    """An image XObject (object 5, ``extra`` from 6) drawn beside ASCII text."""
    draw = b"q 200 0 0 200 50 500 cm /Im1 Do Q " + TEXT
    return one_page(
        draw,
        HELV + b"/XObject<</Im1 5 0 R>>",
        extra=[stream(b"/Type/XObject/Subtype/Image " + image_dict, data), *extra],
    )


GRAY_8x8 = bytes(range(0, 256, 4))[:64]


# ------------------------------------------------------------ mutations
BASES = {"text": base_text, "scan": base_scan, "form": base_form, "raw": lambda: one_page()}


def truncations() -> Iterator[KitFile]:
    for base in ("text", "scan", "raw"):
        data = BASES[base]()
        for frac in (0.02, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.97, 0.995):
            yield KitFile(
                f"truncate-{base}-{int(frac * 1000):03d}", "truncation", data[: int(len(data) * frac)]
            )
        yield KitFile(f"truncate-{base}-before-xref", "truncation", data[: data.rfind(b"xref")])
        yield KitFile(f"truncate-{base}-no-eof", "truncation", data[: data.rfind(b"%%EOF")])


def _spans(data: bytes, region: str) -> list[tuple[int, int]]:
    if region == "xref":
        start = data.rfind(b"xref")
        return [(start, len(data))]
    if region == "stream":
        return [
            (m.end(), m.end() + 1 + data[m.end() :].find(b"endstream"))
            for m in re.finditer(rb"stream\r?\n", data)
            if data[m.end() :].find(b"endstream") > 4
        ]
    if region == "header":
        return [(m.start(), m.end()) for m in re.finditer(rb"\d+ 0 obj", data)]
    return [(m.start(), m.end()) for m in re.finditer(rb"/[A-Za-z]+", data)]  # dictionary keys


def byte_flips() -> Iterator[KitFile]:
    for base in ("text", "scan", "raw"):
        data = BASES[base]()
        for region in ("xref", "stream", "header", "key"):
            spans = _spans(data, region)
            for seed in range(4 if region != "key" else 3):
                rnd = random.Random(f"{base}-{region}-{seed}")
                out = bytearray(data)
                for _ in range(1 + seed * 3):
                    a, b = rnd.choice(spans)
                    pos = rnd.randrange(a, max(a + 1, b))
                    out[pos] ^= 1 << rnd.randrange(8) if seed % 2 else rnd.randrange(1, 256)
                yield KitFile(f"flip-{base}-{region}-{seed}", "byte-flip", bytes(out))


def structural_deletions() -> Iterator[KitFile]:
    for base in ("text", "raw"):
        data = BASES[base]()
        yield KitFile(f"no-endobj-all-{base}", "deleted-endobj", data.replace(b"endobj", b""))
        first = data.find(b"endobj")
        yield KitFile(f"no-endobj-first-{base}", "deleted-endobj", data[:first] + data[first + 6 :])
        yield KitFile(f"no-endstream-{base}", "deleted-endobj", data.replace(b"endstream", b"", 1))
        yield KitFile(f"no-trailer-{base}", "deleted-endobj", data[: data.rfind(b"trailer")])
        yield KitFile(f"no-root-{base}", "deleted-endobj", re.sub(rb"/Root \d+ 0 R", b"", data))


def bogus_lengths() -> Iterator[KitFile]:
    for base in ("text", "scan", "raw"):
        data = BASES[base]()
        for label, value in (
            ("zero", b"0"),
            ("huge", b"999999999999"),
            ("negative", b"-5"),
            ("dangling-ref", b"9999 0 R"),
            ("beyond-file", b"%d" % (len(data) * 4)),
            ("real", b"3.5"),
        ):
            out = re.sub(rb"/Length \d+", b"/Length " + value, data)
            yield KitFile(f"length-{label}-{base}", "bogus-length", out)


def huge_images() -> Iterator[KitFile]:
    flate = zlib.compress(b"\x80" * 4096)
    for w, h in ((2**31 - 1, 1), (65536, 65536), (536_870_913, 536_870_913), (1, 2**31 - 1), (0, 0), (-8, 8)):
        yield KitFile(
            f"image-{w}x{h}",
            "huge-image",
            image_page(
                b"/Width %d/Height %d/BitsPerComponent 8/ColorSpace/DeviceGray/Filter/FlateDecode" % (w, h),
                flate,
            ),
        )
    for bpc in (0, 3, 7, 32, 255):
        yield KitFile(
            f"image-bpc-{bpc}",
            "huge-image",
            image_page(b"/Width 8/Height 8/BitsPerComponent %d/ColorSpace/DeviceGray" % bpc, GRAY_8x8),
        )
    yield KitFile(
        "image-icc-n-huge",
        "huge-image",
        image_page(
            b"/Width 4/Height 4/BitsPerComponent 8/ColorSpace[/ICCBased 6 0 R]",
            b"\x80" * 48,
            [stream(b"/N 536870913", bytes(128))],
        ),
    )
    yield KitFile(
        "image-indexed-short-lookup",
        "huge-image",
        image_page(
            b"/Width 8/Height 8/BitsPerComponent 8/ColorSpace[/Indexed/DeviceRGB 255 <00ff00>]", GRAY_8x8
        ),
    )
    yield KitFile(
        "image-mediabox-1e9",
        "huge-image",
        one_page(page_extra=b"/UserUnit 1000").replace(b"[0 0 595 842]", b"[0 0 1000000000 1000000000]"),
    )
    yield KitFile("mediabox-zero", "huge-image", one_page().replace(b"[0 0 595 842]", b"[0 0 0 0]"))
    yield KitFile("mediabox-inverted", "huge-image", one_page().replace(b"[0 0 595 842]", b"[595 842 0 0]"))
    yield KitFile("mediabox-nan", "huge-image", one_page().replace(b"[0 0 595 842]", b"[0 0 1e400 abc]"))
    yield KitFile("rotate-45", "huge-image", one_page(page_extra=b"/Rotate 45"))


def wrong_filters() -> Iterator[KitFile]:
    flate = zlib.compress(GRAY_8x8)
    gray = b"/Width 8/Height 8/BitsPerComponent 8/ColorSpace/DeviceGray"
    for flt in (
        b"/DCTDecode",
        b"/JPXDecode",
        b"/JBIG2Decode",
        b"/CCITTFaxDecode",
        b"/LZWDecode",
        b"/RunLengthDecode",
        b"/FooDecode",
        b"[/FlateDecode/DCTDecode]",
        b"/ASCII85Decode",
        b"/Crypt",
    ):
        yield KitFile(
            f"image-filter-{flt.strip(b'/[]').decode().replace('/', '+')}",
            "wrong-filter",
            image_page(gray + b"/Filter" + flt, flate),
        )
    yield KitFile(
        "image-ccitt-bad-parms",
        "wrong-filter",
        image_page(
            b"/Width 8/Height 8/BitsPerComponent 1/ColorSpace/DeviceGray/Filter/CCITTFaxDecode"
            b"/DecodeParms<</K 99999/Columns 0/Rows -1>>",
            b"\xff" * 32,
        ),
    )
    yield KitFile(
        "image-jbig2-missing-globals",
        "wrong-filter",
        image_page(
            b"/Width 8/Height 8/BitsPerComponent 1/ColorSpace/DeviceGray/Filter/JBIG2Decode"
            b"/DecodeParms<</JBIG2Globals 99 0 R>>",
            b"\x00\x00\x00\x00\x30\x00\x01" * 8,
        ),
    )
    content = TEXT
    for n in (1, 200):
        enc = content
        for _ in range(n):
            enc = zlib.compress(enc)
        filters = b"[" + b"/FlateDecode " * n + b"]"
        yield KitFile(
            f"content-flate-x{n}-declared-as-dct",
            "wrong-filter",
            raw_pdf(
                [
                    b"<</Type/Catalog /Pages 2 0 R>>",
                    b"<</Type/Pages /Kids[3 0 R] /Count 1>>",
                    b"<</Type/Page /Parent 2 0 R /MediaBox[0 0 595 842] /Resources<<%s>> /Contents 4 0 R>>"
                    % HELV,
                    stream(b"/Filter/DCTDecode", enc),
                ]
            ),
        )
        yield KitFile(
            f"content-flate-x{n}",
            "wrong-filter",
            raw_pdf(
                [
                    b"<</Type/Catalog /Pages 2 0 R>>",
                    b"<</Type/Pages /Kids[3 0 R] /Count 1>>",
                    b"<</Type/Page /Parent 2 0 R /MediaBox[0 0 595 842] /Resources<<%s>> /Contents 4 0 R>>"
                    % HELV,
                    stream(b"/Filter" + filters, enc),
                ]
            ),
        )
    bomb = zlib.compress(b"0 0 m " * 20_000_000, 9)  # ~120 MB of path operators from ~120 KB
    yield KitFile(
        "content-flate-bomb",
        "wrong-filter",
        raw_pdf(
            [
                b"<</Type/Catalog /Pages 2 0 R>>",
                b"<</Type/Pages /Kids[3 0 R] /Count 1>>",
                b"<</Type/Page /Parent 2 0 R /MediaBox[0 0 595 842] /Resources<<%s>> /Contents[4 0 R 5 0 R]>>"
                % HELV,
                stream(b"", TEXT),
                stream(b"/Filter/FlateDecode", bomb),
            ]
        ),
    )


def form(n: int, body: bytes, resources: bytes) -> bytes:
    return stream(b"/Type/XObject/Subtype/Form/BBox[0 0 595 842]/Resources<<%s>>" % resources, body)


def recursion() -> Iterator[KitFile]:
    yield KitFile(
        "forms-a-b-a",
        "recursion",
        one_page(
            b"/X1 Do " + TEXT,
            HELV + b"/XObject<</X1 5 0 R>>",
            extra=[
                form(5, b"/X2 Do", b"/XObject<</X2 6 0 R>>"),
                form(6, b"/X1 Do", b"/XObject<</X1 5 0 R>>"),
            ],
        ),
    )
    yield KitFile(
        "form-self",
        "recursion",
        one_page(
            b"/X1 Do " + TEXT,
            HELV + b"/XObject<</X1 5 0 R>>",
            extra=[form(5, b"/X1 Do " + TEXT, HELV + b"/XObject<</X1 5 0 R>>")],
        ),
    )
    depth = 300
    chain = [
        form(
            5 + k,
            b"/X Do " + (TEXT if k == depth - 1 else b""),
            HELV + (b"/XObject<</X %d 0 R>>" % (6 + k) if k < depth - 1 else b""),
        )
        for k in range(depth)
    ]
    yield KitFile(
        f"forms-chain-{depth}", "recursion", one_page(b"/X Do", HELV + b"/XObject<</X 5 0 R>>", extra=chain)
    )
    yield KitFile("q-nesting-100000", "recursion", one_page(b"q " * 100_000 + TEXT + b" Q" * 100_000))
    yield KitFile(
        "array-nesting-50000", "recursion", one_page(page_extra=b"/Junk " + b"[" * 50_000 + b"]" * 50_000)
    )
    yield KitFile(
        "dict-nesting-20000", "recursion", one_page(page_extra=b"/Junk " + b"<</A " * 20_000 + b">>" * 20_000)
    )
    yield KitFile(
        "content-array-nesting",
        "recursion",
        one_page(b"BT /F1 12 Tf 50 700 Td [" * 5000 + ASCII_ID + b"]" * 5000),
    )
    yield KitFile(
        "pages-kid-is-parent",
        "recursion",
        raw_pdf(
            [
                b"<</Type/Catalog /Pages 2 0 R>>",
                b"<</Type/Pages /Kids[3 0 R 2 0 R] /Count 2>>",
                b"<</Type/Page /Parent 2 0 R /MediaBox[0 0 595 842] /Resources<<%s>> /Contents 4 0 R>>"
                % HELV,
                stream(b"", TEXT),
            ]
        ),
    )
    yield KitFile(
        "pages-two-node-loop",
        "recursion",
        raw_pdf(
            [
                b"<</Type/Catalog /Pages 2 0 R>>",
                b"<</Type/Pages /Kids[5 0 R 3 0 R] /Count 2>>",
                b"<</Type/Page /Parent 2 0 R /MediaBox[0 0 595 842] /Resources<<%s>> /Contents 4 0 R>>"
                % HELV,
                stream(b"", TEXT),
                b"<</Type/Pages /Parent 2 0 R /Kids[2 0 R] /Count 1>>",
            ]
        ),
    )
    levels = 2000
    nodes = [
        b"<</Type/Pages /Kids[%d 0 R] /Count 1%s>>"
        % (6 + k if k < levels - 1 else 3, b" /Parent %d 0 R" % (4 + k) if k else b"")
        for k in range(levels)
    ]
    yield KitFile(
        f"pages-depth-{levels}",
        "recursion",
        raw_pdf(
            [
                b"<</Type/Catalog /Pages 5 0 R>>",
                b"<<>>",
                b"<</Type/Page /Parent %d 0 R /MediaBox[0 0 595 842] /Resources<<%s>> /Contents 4 0 R>>"
                % (4 + levels, HELV),
                stream(b"", TEXT),
            ]
            + nodes
        ),
    )
    yield KitFile(
        "type3-glyph-recursion",
        "recursion",
        one_page(
            b"BT /F1 12 Tf 50 700 Td (AAA) Tj ET",
            b"/Font<</F1 5 0 R>>",
            extra=[
                b"<</Type/Font/Subtype/Type3/FontBBox[0 0 1000 1000]/FontMatrix[0.001 0 0 0.001 0 0]/FirstChar 65/LastChar 65"
                b"/Widths[1000]/Encoding<</Differences[65/a]>>/CharProcs<</a 6 0 R>>/Resources<</Font<</F1 5 0 R>>>>>>",
                stream(b"", b"1000 0 d0 BT /F1 12 Tf (A) Tj ET 0 0 1000 1000 re f"),
            ],
        ),
    )
    yield KitFile("xref-prev-loop", "recursion", _prev_loop(one_page()))
    yield KitFile(
        "outline-loop",
        "recursion",
        raw_pdf(
            [
                b"<</Type/Catalog /Pages 2 0 R /Outlines 5 0 R>>",
                b"<</Type/Pages /Kids[3 0 R] /Count 1>>",
                b"<</Type/Page /Parent 2 0 R /MediaBox[0 0 595 842] /Resources<<%s>> /Contents 4 0 R>>"
                % HELV,
                stream(b"", TEXT),
                b"<</Type/Outlines /First 6 0 R /Last 6 0 R /Count 1>>",
                b"<</Title (Patient 320106199501011237) /Parent 5 0 R /Next 6 0 R /Prev 6 0 R /First 6 0 R /Last 6 0 R /Count 1>>",
            ]
        ),
    )
    yield KitFile(
        "annots-loop",
        "recursion",
        one_page(
            page_extra=b"/Annots 5 0 R",
            extra=[
                b"[5 0 R <</Type/Annot/Subtype/Text/Rect[0 0 10 10]/Contents(320106199501011237)/Popup 6 0 R>>]",
                b"<</Type/Annot/Subtype/Popup/Rect[0 0 10 10]/Parent 6 0 R/AP<</N 7 0 R>>>>",
                form(7, b"/X Do", b"/XObject<</X 7 0 R>>"),
            ],
        ),
    )
    yield KitFile(
        "acroform-field-loop",
        "recursion",
        raw_pdf(
            [
                b"<</Type/Catalog /Pages 2 0 R /AcroForm<</Fields[5 0 R]>>>>",
                b"<</Type/Pages /Kids[3 0 R] /Count 1>>",
                b"<</Type/Page /Parent 2 0 R /MediaBox[0 0 595 842] /Resources<<%s>> /Contents 4 0 R /Annots[5 0 R]>>"
                % HELV,
                stream(b"", TEXT),
                b"<</FT/Tx /T(a) /V(320106199501011237) /Kids[5 0 R] /Parent 5 0 R /Rect[0 0 50 20] /Subtype/Widget>>",
            ]
        ),
    )


def _prev_loop(data: bytes) -> bytes:
    xref = data.rfind(b"xref")
    return data.replace(b"trailer\n<<", b"trailer\n<</Prev %d " % xref)


def encrypted() -> Iterator[KitFile]:
    src = pymupdf.open("pdf", base_text())
    for label, method, user in (
        ("aes256-user", pymupdf.PDF_ENCRYPT_AES_256, "secret"),
        ("rc4-40-user", pymupdf.PDF_ENCRYPT_RC4_40, "secret"),
        ("aes128-owner-only", pymupdf.PDF_ENCRYPT_AES_128, ""),
        ("aes256-owner-only", pymupdf.PDF_ENCRYPT_AES_256, ""),
        ("rc4-128-owner-only", pymupdf.PDF_ENCRYPT_RC4_128, ""),
    ):
        data = src.tobytes(
            encryption=method, user_pw=user, owner_pw="owner-pw", permissions=pymupdf.PDF_PERM_ACCESSIBILITY
        )
        yield KitFile(f"encrypted-{label}", "encrypted", data)
    aes = src.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="o")
    yield KitFile("encrypted-truncated", "encrypted", aes[: len(aes) // 2])
    yield KitFile(
        "encrypt-dict-garbage",
        "encrypted",
        one_page().replace(
            b"trailer\n<<", b"trailer\n<</Encrypt<</Filter/Standard/V 99/R 99/O(x)/U(y)/P -1>> "
        ),
    )


def no_pages() -> Iterator[KitFile]:
    yield KitFile(
        "zero-pages",
        "zero-pages",
        raw_pdf([b"<</Type/Catalog /Pages 2 0 R>>", b"<</Type/Pages /Kids[] /Count 0>>"]),
    )
    yield KitFile(
        "count-5-no-kids",
        "zero-pages",
        raw_pdf([b"<</Type/Catalog /Pages 2 0 R>>", b"<</Type/Pages /Kids[] /Count 5>>"]),
    )
    yield KitFile(
        "kids-not-array",
        "zero-pages",
        raw_pdf([b"<</Type/Catalog /Pages 2 0 R>>", b"<</Type/Pages /Kids 7 /Count 1>>"]),
    )
    yield KitFile("no-pages-key", "zero-pages", raw_pdf([b"<</Type/Catalog>>"]))
    yield KitFile("catalog-is-array", "zero-pages", raw_pdf([b"[1 2 3]"]))


def not_pdf() -> Iterator[KitFile]:
    rnd = random.Random(5)
    items = {
        "empty": b"",
        "one-byte": b"%",
        "header-only": b"%PDF-1.7\n",
        "zip": b"PK\x03\x04" + bytes(400),
        "png": b"\x89PNG\r\n\x1a\n" + bytes(200),
        "html": b"<html><body>%PDF-1.4 report</body></html>",
        "random": bytes(rnd.randrange(256) for _ in range(5000)),
        "header-then-random": b"%PDF-1.7\n" + bytes(rnd.randrange(256) for _ in range(5000)),
        "header-then-zeros": b"%PDF-1.4\n" + bytes(1_000_000),
        "utf16-text": "%PDF-1.7 患者".encode("utf-16"),
        "header-late": bytes(2000) + one_page(),
    }
    for label, data in items.items():
        yield KitFile(f"not-pdf-{label}", "not-a-pdf", data)


def page_counts() -> Iterator[KitFile]:
    n = 6000
    kids = b" ".join(b"3 0 R" for _ in range(n))
    yield KitFile(
        f"pages-{n}-same-object",
        "huge-page-count",
        raw_pdf(
            [
                b"<</Type/Catalog /Pages 2 0 R>>",
                b"<</Type/Pages /Kids[%s] /Count %d>>" % (kids, n),
                b"<</Type/Page /Parent 2 0 R /MediaBox[0 0 595 842] /Resources<<%s>> /Contents 4 0 R>>"
                % HELV,
                stream(b"", TEXT),
            ]
        ),
    )
    yield KitFile(
        "count-2147483647",
        "huge-page-count",
        raw_pdf(
            [
                b"<</Type/Catalog /Pages 2 0 R>>",
                b"<</Type/Pages /Kids[3 0 R] /Count 2147483647>>",
                b"<</Type/Page /Parent 2 0 R /MediaBox[0 0 595 842] /Resources<<%s>> /Contents 4 0 R>>"
                % HELV,
                stream(b"", TEXT),
            ]
        ),
    )
    n = 5001
    pages = [b"<</Type/Page /Parent 2 0 R /MediaBox[0 0 100 100] /Contents 3 0 R>>" for _ in range(n)]
    kids = b" ".join(b"%d 0 R" % (4 + k) for k in range(n))
    yield KitFile(
        f"pages-{n}-blank",
        "huge-page-count",
        raw_pdf(
            [
                b"<</Type/Catalog /Pages 2 0 R>>",
                b"<</Type/Pages /Kids[%s] /Count %d>>" % (kids, n),
                stream(b"", b""),
            ]
            + pages
        ),
        identifiers=[],
    )


def content_junk() -> Iterator[KitFile]:
    rnd = random.Random(9)
    ops = [
        b"q",
        b"Q",
        b"BT",
        b"ET",
        b"Tj",
        b"cm",
        b"re",
        b"f",
        b"Do",
        b"Tf",
        b"TJ",
        b"'",
        b'"',
        b"BI",
        b"ID",
        b"EI",
        b"1e308",
        b"-1e308",
        b"(x",
        b")",
        b"<",
        b">",
        b"[",
        b"]",
        b"/F1",
        b"/Im9",
        b"0",
        b"999999999999",
    ]
    for k in range(4):
        body = b" ".join(rnd.choice(ops) for _ in range(3000))
        yield KitFile(f"content-random-ops-{k}", "content-junk", one_page(TEXT + b"\n" + body))
    yield KitFile(
        "content-bt-no-et", "content-junk", one_page(b"BT /F1 12 Tf 50 700 Td " + ASCII_ID + b" BT BT")
    )
    yield KitFile("content-font-missing", "content-junk", one_page(TEXT.replace(b"/F1", b"/F9")))
    yield KitFile("content-huge-matrix", "content-junk", one_page(b"1e30 0 0 1e30 0 0 cm " + TEXT))
    yield KitFile("content-singular-matrix", "content-junk", one_page(b"0 0 0 0 0 0 cm " + TEXT))
    yield KitFile(
        "content-long-string",
        "content-junk",
        one_page(b"BT /F1 1 Tf 0 0 Td (" + b"A" * 3_000_000 + b") Tj ET " + TEXT),
    )
    yield KitFile(
        "inline-image-no-ei",
        "content-junk",
        one_page(TEXT + b" q 10 0 0 10 0 0 cm BI /W 8 /H 8 /BPC 8 /CS /G ID " + b"\x00" * 20),
    )
    yield KitFile(
        "inline-image-huge",
        "content-junk",
        one_page(
            TEXT + b" q 10 0 0 10 0 0 cm BI /W 100000 /H 100000 /BPC 8 /CS /RGB ID " + b"\x00" * 20 + b" EI Q"
        ),
    )
    yield KitFile(
        "contents-not-stream", "content-junk", one_page().replace(b"/Contents 4 0 R", b"/Contents 1 0 R")
    )
    yield KitFile(
        "contents-dangling", "content-junk", one_page().replace(b"/Contents 4 0 R", b"/Contents 77 0 R")
    )
    yield KitFile(
        "resources-not-dict", "content-junk", one_page().replace(b"/Resources<<", b"/Resources 5 /Junk<<")
    )
    yield KitFile(
        "broken-embedded-font",
        "content-junk",
        one_page(
            TEXT,
            b"/Font<</F1 5 0 R>>",
            extra=[
                b"<</Type/Font/Subtype/TrueType/BaseFont/Odd/FirstChar 32/LastChar 126/FontDescriptor 6 0 R>>",
                b"<</Type/FontDescriptor/FontName/Odd/Flags 32/FontBBox[0 0 1000 1000]/ItalicAngle 0/Ascent 800/Descent -200"
                b"/CapHeight 700/StemV 80/FontFile2 7 0 R>>",
                stream(b"/Length1 5000", bytes(range(256)) * 8),
            ],
        ),
    )
    yield KitFile(
        "cidfont-no-descendants",
        "content-junk",
        one_page(
            b"BT /F1 12 Tf 50 700 Td <0041> Tj ET",
            b"/Font<</F1 5 0 R>>",
            extra=[b"<</Type/Font/Subtype/Type0/BaseFont/X/Encoding/Identity-H/DescendantFonts 9 0 R>>"],
        ),
    )
    yield KitFile(
        "objstm-bogus",
        "content-junk",
        one_page(extra=[stream(b"/Type/ObjStm/N 1000000/First 999999", b"1 0 2 5 garbage")]),
    )


# ------------------------------------------------------------------ carriers nobody sees
def _jpeg_carrying(text: str, **save) -> bytes:
    """A JPEG of a plain blue bar whose comment and EXIF description hold ``text``, with ``text``
    after its end marker as well (PIL writes the segments; nothing of the product builds them)."""
    import io

    from PIL import Image

    image = Image.new("RGB", (240, 60), (40, 90, 160))
    exif = Image.Exif()
    exif[0x010E] = text
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=text.encode("utf-8"), **save)
    return out.getvalue() + text.encode("utf-8")


def hidden_carriers() -> Iterator[KitFile]:
    """Identifiers where no render shows them: image-file metadata (XObject and inline JPEG, a
    progressive one, JPEG 2000 boxes) and an alternate image for printing."""
    import io

    from PIL import Image

    value = f"{NAME} {ID}"
    for name, save in (("jpeg-exif-comment", {}), ("jpeg-progressive", {"progressive": True})):
        doc = pymupdf.open("pdf", base_text())
        doc[0].insert_image(pymupdf.Rect(40, 200, 280, 260), stream=_jpeg_carrying(value, **save))
        yield KitFile(name, "hidden-carrier", doc.tobytes())
    jpg = _jpeg_carrying(value)
    doc = pymupdf.open("pdf", base_text())
    xref = doc[0].get_contents()[0]
    inline = b"q 240 0 0 60 40 580 cm BI /W 240 /H 60 /CS /RGB /BPC 8 /F /DCT /L %d ID " % len(jpg) + jpg
    doc.update_stream(xref, doc.xref_stream(xref) + b"\n" + inline + b"\nEI Q\n")
    yield KitFile("inline-jpeg-comment", "hidden-carrier", doc.tobytes())
    jp2 = io.BytesIO()
    Image.new("RGB", (64, 32), (40, 90, 160)).save(jp2, "JPEG2000", comment=value.encode("utf-8"))
    doc = pymupdf.open("pdf", base_text())
    doc[0].insert_image(pymupdf.Rect(40, 200, 168, 264), stream=jp2.getvalue())
    yield KitFile("jpeg2000-comment", "hidden-carrier", doc.tobytes())
    doc = pymupdf.open("pdf", base_text())
    shown = doc[0].insert_image(pymupdf.Rect(40, 200, 280, 260), stream=_jpeg_carrying("ward 3"))
    alternate = doc[0].insert_image(pymupdf.Rect(0, 0, 1, 1), stream=_jpeg_carrying(value))
    doc.xref_set_key(shown, "Alternates", f"[<</Image {alternate} 0 R>>]")
    yield KitFile("alternate-image", "hidden-carrier", doc.tobytes())


def _glyph_by_glyph(page: pymupdf.Page, text: str, x: float, y: float, dx: float, dy: float, order) -> None:
    for i in order(list(range(len(text)))):
        page.insert_text((x + i * dx, y + i * dy), text[i], fontname="wqy", fontsize=10.5)


def _raw_text(doc: pymupdf.Document, content: bytes) -> None:
    page = doc[0]
    page.insert_text((5, 5), " ", fontname="helv", fontsize=1)  # the Helv resource
    xref = page.get_contents()[-1]
    doc.update_stream(xref, doc.xref_stream(xref) + b"\n" + content + b"\n")


def arranged_text() -> Iterator[KitFile]:
    """Identifiers shown plainly but set so that a text layer reads them apart: one glyph per text object
    stacked down or letter-spaced across (in stream order or reversed), a number kerned apart in groups
    (TJ) or spread by character spacing (Tc), a line drawn outside the crop box, a form placed below
    the page.  They are not in the case index nor elsewhere on the page: only reading them finds them."""
    line = f"家属{OTHER_NAME}身份证{OTHER_ID}"
    both = [OTHER_NAME, OTHER_ID]
    for name, dx, dy, order in (
        ("stacked-down", 0, 13, lambda i: i),
        ("letter-spaced", 18, 0, lambda i: i),
        ("letter-spaced-reversed", 18, 0, lambda i: i[::-1]),
    ):
        doc = pymupdf.open("pdf", base_text())
        doc[0].insert_font(fontname="wqy", fontfile=FONT)
        _glyph_by_glyph(doc[0], line, 300 if dy else 40, 200, dx, dy, order)
        yield KitFile(name, "arranged-text", doc.tobytes(), identifiers=both, meta=False)
    groups = b" -1200 ".join(b"(%s)" % OTHER_ID[k : k + 4].encode() for k in range(0, 18, 4))
    for name, content in (
        ("tj-groups", b"BT /helv 10 Tf 40 300 Td [(ID ) %s] TJ ET" % groups),
        ("tc-spacing", b"BT /helv 10 Tf 7 Tc 40 300 Td (ID %s) Tj ET" % OTHER_ID.encode()),
    ):
        doc = pymupdf.open("pdf", base_text())
        _raw_text(doc, content)
        yield KitFile(name, "arranged-text", doc.tobytes(), identifiers=[OTHER_ID], meta=False)
    doc = pymupdf.open("pdf", base_text())
    doc[0].insert_text((40, 800), f"ID {OTHER_ID}", fontname="helv", fontsize=10)
    doc[0].set_cropbox(pymupdf.Rect(0, 0, 595, 700))
    yield KitFile("outside-cropbox", "arranged-text", doc.tobytes(), identifiers=[OTHER_ID], meta=False)
    other = pymupdf.open()
    other.new_page(width=595, height=200).insert_text(
        (40, 60), f"ID {OTHER_ID}", fontname="helv", fontsize=10
    )
    doc = pymupdf.open("pdf", base_text())
    doc[0].show_pdf_page(pymupdf.Rect(40, 850, 555, 1020), other, 0)
    yield KitFile("form-below-page", "arranged-text", doc.tobytes(), identifiers=[OTHER_ID], meta=False)


GENERATORS: dict[str, Callable[[], Iterator[KitFile]]] = {
    "truncation": truncations,
    "byte-flip": byte_flips,
    "deleted-endobj": structural_deletions,
    "bogus-length": bogus_lengths,
    "huge-image": huge_images,
    "wrong-filter": wrong_filters,
    "recursion": recursion,
    "encrypted": encrypted,
    "zero-pages": no_pages,
    "not-a-pdf": not_pdf,
    "huge-page-count": page_counts,
    "content-junk": content_junk,
    "hidden-carrier": hidden_carriers,
    "arranged-text": arranged_text,
}


def mutation_kit() -> list[KitFile]:
    return [item for gen in GENERATORS.values() for item in gen()]


def quick_kit(per_class: int = 3) -> list[KitFile]:
    """A fast, representative subset: a few files of every class (spread
    at random, the same every run), without the files that cost seconds each."""
    slow = {"pages-5001-blank", "pages-6000-same-object", "content-flate-bomb", "header-then-zeros"}
    out = []
    for klass, gen in GENERATORS.items():
        items = [i for i in gen() if i.name not in slow]
        picked = sorted(random.Random(klass).sample(range(len(items)), min(per_class, len(items))))
        out += [items[k] for k in picked]
    return out
