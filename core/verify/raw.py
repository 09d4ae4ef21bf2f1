"""Raw strings of a PDF, for the leak gate: every literal ``(...)`` and
hex ``<...>`` string operand of a content stream (Tj, TJ, ', " and marked
content properties such as ``/ActualText``), and every string in the
file's objects.

This is a lexer for PDF string tokens only (PDF 32000-1 7.3.4), not a
parser: it has to see the bytes the way no text extractor does.  The
bytes are decoded several ways, because the gate does not know the font:
Latin-1 (simple fonts), UTF-16BE (UCS-2 CMaps, text strings with a BOM),
UTF-8 and GBK.  CID-font bytes under ``Identity-H`` are glyph numbers and
decode to nothing useful: the other extractions and OCR cover those.
"""

from __future__ import annotations

import re

_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}
_OCTAL = re.compile(rb"[0-7]{1,3}")
_HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]")
_INLINE_IMAGE = re.compile(rb"\bID[\s]")
_INLINE_END = re.compile(rb"\sEI\b")


def _literal(data: bytes, i: int) -> tuple[bytes, int]:
    """The literal string starting after the ``(`` at ``i``; (bytes, end)."""
    out = bytearray()
    depth = 1
    n = len(data)
    while i < n:
        c = data[i]
        if c == 0x5C and i + 1 < n:  # backslash
            nxt = data[i + 1]
            m = _OCTAL.match(data, i + 1)
            if m:
                out.append(int(m.group(), 8) & 0xFF)
                i = m.end()
                continue
            if nxt in (0x0D, 0x0A):  # line continuation
                i += 2 + (nxt == 0x0D and i + 2 < n and data[i + 2] == 0x0A)
                continue
            out += _ESCAPES.get(nxt, bytes([nxt]))
            i += 2
            continue
        if c == 0x28:
            depth += 1
        elif c == 0x29:
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out.append(c)
        i += 1
    return bytes(out), n


def _hex(data: bytes, i: int) -> tuple[bytes, int]:
    end = data.find(b">", i)
    end = len(data) if end < 0 else end
    digits = b"".join(_HEX_DIGITS.findall(data, i, end))
    if len(digits) % 2:
        digits += b"0"
    return bytes.fromhex(digits.decode()), end + 1


def pdf_strings(data: bytes) -> list[bytes]:
    """Every string token of ``data`` (a content stream or object source),
    in order.  Comments and inline image data are skipped."""
    out: list[bytes] = []
    i, n = 0, len(data)
    while i < n:
        c = data[i]
        if c == 0x28:  # (
            s, i = _literal(data, i + 1)
            out.append(s)
        elif c == 0x3C:  # < (hex) or << (dictionary)
            if i + 1 < n and data[i + 1] == 0x3C:
                i += 2
                continue
            s, i = _hex(data, i + 1)
            out.append(s)
        elif c == 0x25:  # % comment
            j = data.find(b"\n", i)
            i = n if j < 0 else j + 1
        elif c == 0x49 and data.startswith(b"ID", i) and _INLINE_IMAGE.match(data, i) and _after_bi(data, i):
            m = _INLINE_END.search(data, i + 3)
            i = n if m is None else m.end()
        else:
            i += 1
    return out


def _after_bi(data: bytes, i: int) -> bool:
    """``ID`` at ``i`` is an operator (preceded by whitespace and a BI)."""
    return i > 0 and data[i - 1] in b" \t\r\n" and data.rfind(b"BI", 0, i) > data.rfind(b"EI", 0, i)


def decodings(strings: list[bytes]) -> list[str]:
    """The strings joined, decoded each plausible way (one text per way)."""
    texts = []
    latin = "".join(s.decode("latin-1") for s in strings)
    texts.append(latin)
    for s in strings:
        if s[:2] in (b"\xfe\xff", b"\xff\xfe"):
            texts.append(s.decode("utf-16", "ignore"))
        elif s[:3] == b"\xef\xbb\xbf":
            texts.append(s[3:].decode("utf-8", "ignore"))
    even = [s for s in strings if len(s) % 2 == 0 and s[:2] not in (b"\xfe\xff", b"\xff\xfe")]
    if even:
        texts.append("".join(s.decode("utf-16-be", "ignore") for s in even))
    for codec in ("utf-8", "gbk"):
        parts = []
        for s in strings:
            if any(b >= 0x80 for b in s):
                try:
                    parts.append(s.decode(codec))
                except UnicodeDecodeError:
                    continue
        if parts:
            texts.append("".join(parts))
    return texts


JPEG_METADATA_MARKERS = {*range(0xE0, 0xF0), 0xFE}  # APP0..APP15, COM


def jpeg_metadata_payloads(data: bytes) -> list[bytes]:
    """Payloads of every application and comment segment, and what follows
    the last end-of-image marker: found by searching for the markers (in
    entropy-coded data 0xFF is always followed by 00 or a restart code)."""
    found = []
    for m in re.finditer(rb"\xff[\xe0-\xef\xfe]", data):
        length = int.from_bytes(data[m.end() : m.end() + 2], "big")
        found.append(data[m.end() + 2 : m.end() + length])
    tail = data[data.rfind(b"\xff\xd9") + 2 :] if b"\xff\xd9" in data else b""
    return found + ([tail] if tail.strip(b"\x00\xff\r\n ") else [])
