"""PDFs with text layers that lie or hide, built for the trust and gate tests."""

from __future__ import annotations

import pymupdf

CJK_FONT = "/usr/share/fonts/truetype/arphic/ukai.ttc"
NAME, NUMBER = "王小明", "6359562"


def _page(doc=None):
    doc = doc or pymupdf.open()
    page = doc.new_page(width=420, height=300)
    page.insert_text((40, 60), "出院记录  科室：心内科", fontname="china-s", fontsize=14)
    return doc, page


def font_without_tounicode() -> bytes:
    """Name and number in an embedded Identity-H font whose /ToUnicode is removed."""
    doc, page = _page()
    page.insert_font(fontname="kai", fontfile=CJK_FONT)
    page.insert_text((40, 120), f"患者 {NAME}  编号 {NUMBER}", fontname="kai", fontsize=16)
    doc = pymupdf.open("pdf", doc.tobytes())
    for xref, _ext, ftype, base, *_ in doc[0].get_fonts(full=True):
        if ftype == "Type0" and "UKai" in base or "kai" in base.lower():
            doc.xref_set_key(xref, "ToUnicode", "null")
    return doc.tobytes()


def _cmap(pairs: dict[int, str]) -> bytes:
    body = "\n".join(f"<{code:04X}> <{ord(ch):04X}>" for code, ch in sorted(pairs.items()))
    return (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Lie def 1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        f"{len(pairs)} beginbfchar\n{body}\nendbfchar\nendcmap CMapName currentdict /CMap defineresource pop end end\n"
    ).encode("ascii")


def lying_tounicode() -> bytes:
    """The name's glyphs map to other characters (no label before it)."""
    doc, page = _page()
    page.insert_font(fontname="kai", fontfile=CJK_FONT)
    page.insert_text((40, 120), f"今日 {NAME} 复查", fontname="kai", fontsize=16)
    doc = pymupdf.open("pdf", doc.tobytes())
    lie = dict(zip(NAME, "李四五"))
    pairs = {
        c[1]: lie.get(chr(c[0]), chr(c[0]))
        for s in doc[0].get_texttrace()
        if "UKai" in s["font"]
        for c in s["chars"]
    }
    for xref, _ext, ftype, base, *_ in doc[0].get_fonts(full=True):
        if ftype == "Type0" and "kai" in base.lower():
            cmap_xref = int(doc.xref_get_key(xref, "ToUnicode")[1].split()[0])
            doc.update_stream(cmap_xref, _cmap(pairs))
    return doc.tobytes()


def reversed_and_shuffled() -> bytes:
    """A name drawn last character first, a number drawn in shuffled order."""
    doc, page = _page()
    y = 120
    page.insert_text((40, y), "患者姓名", fontname="china-s", fontsize=14)
    x0 = 110
    for i in reversed(range(len(NAME))):
        page.insert_text((x0 + 14 * i, y), NAME[i], fontname="china-s", fontsize=14)
    page.insert_text((40, 160), "住院号", fontname="china-s", fontsize=14)
    w = pymupdf.get_text_length("0", fontname="helv", fontsize=14)
    for i in (3, 0, 6, 1, 5, 2, 4):
        page.insert_text((100 + w * i, 160), NUMBER[i], fontname="helv", fontsize=14)
    return doc.tobytes()


def zero_width_number_before_date() -> bytes:
    doc, page = _page()
    page.insert_text((40, 120), f"住院号：\u200b{NUMBER}", fontname="china-s", fontsize=12)
    page.insert_text((40, 136), "2025-07-15", fontname="helv", fontsize=12)
    return doc.tobytes()


def double_layer_scan() -> bytes:
    """An image of a name under a correct invisible text layer."""
    src = pymupdf.open()
    sp = src.new_page(width=420, height=300)
    sp.insert_text((40, 60), "出院记录  科室：心内科", fontname="china-s", fontsize=14)
    sp.insert_text((40, 120), f"患者 {NAME}  住院号 {NUMBER}", fontname="china-s", fontsize=16)
    png = sp.get_pixmap(dpi=200).tobytes("png")
    doc = pymupdf.open()
    page = doc.new_page(width=420, height=300)
    page.insert_image(page.rect, stream=png)
    page.insert_text((40, 60), "出院记录  科室：心内科", fontname="china-s", fontsize=14, render_mode=3)
    page.insert_text(
        (40, 120), f"患者 {NAME}  住院号 {NUMBER}", fontname="china-s", fontsize=16, render_mode=3
    )
    return doc.tobytes()


HONEST_LINES = [
    "患者今日精神好转，体温正常，复查血常规示白细胞下降。",
    "继续目前抗感染治疗方案，监测生命体征及出入量变化。",
    "查体：双肺呼吸音清，未闻及干湿性啰音，心律齐。",
    "腹软，无压痛及反跳痛，肝脾肋下未触及，双下肢不肿。",
    "上级医师查房后指示：完善相关检查，注意观察病情变化。",
    "向家属交代病情及注意事项，家属表示理解并同意治疗。",
]


def lie_on_a_later_page(honest_pages: int = 4) -> bytes:
    """Pages of honest text in one embedded font, then a page where only
    the name's glyphs map to other characters (the font itself agreed with
    its pixels on every earlier page)."""
    doc = pymupdf.open()
    for k in range(honest_pages + 1):
        page = doc.new_page(width=420, height=300)
        page.insert_text((40, 60), "出院记录  科室：心内科", fontname="china-s", fontsize=14)
        page.insert_font(fontname="kai", fontfile=CJK_FONT)
        if k < honest_pages:
            for i, line in enumerate(HONEST_LINES[k % 2 :] + HONEST_LINES[: k % 2]):
                page.insert_text((30, 100 + 26 * i), line, fontname="kai", fontsize=14)
        else:
            page.insert_text((40, 120), f"今日 {NAME} 复查", fontname="kai", fontsize=16)
    doc = pymupdf.open("pdf", doc.tobytes())
    lie = dict(zip(NAME, "李四五"))
    pairs = {
        c[1]: lie.get(chr(c[0]), chr(c[0]))
        for page in doc
        for s in page.get_texttrace()
        if "UKai" in s["font"]
        for c in s["chars"]
    }
    for xref, _ext, ftype, base, *_ in doc[0].get_fonts(full=True):
        if ftype == "Type0" and "kai" in base.lower():
            cmap_xref = int(doc.xref_get_key(xref, "ToUnicode")[1].split()[0])
            doc.update_stream(cmap_xref, _cmap(pairs))
    return doc.tobytes()
