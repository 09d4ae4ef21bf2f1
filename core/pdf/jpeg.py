"""JPEG streams carry pixels, and often more: EXIF (scanner, operator, time,
a thumbnail of the unredacted image), XMP (a document title that is the
patient's file name), comments, vendor segments.  A PDF image dictionary
already says what a decoder needs (size, colour space), so of the marker
segments only those that code the pixels are kept.

:func:`pixels_only` is the sanitizer's rewrite.  The leak gate reads JPEG
streams its own way (``core.verify.raw.jpeg_metadata_payloads``: a search
for markers, not a walk of the segments), so the two share no blind spot.
"""

from __future__ import annotations

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
RST = range(0xD0, 0xD8)
STANDALONE = {0x01, *RST}  # markers without a length field
METADATA = {*range(0xE0, 0xF0), 0xFE}  # APP0..APP15, COM
ADOBE = b"Adobe"  # APP14 Adobe: colour transform of 3/4-component images, part of decoding


class NotAJpeg(ValueError):
    """The stream is no walkable baseline / progressive JPEG."""


def pixels_only(data: bytes) -> bytes:
    """``data`` without application and comment segments (APP14 Adobe kept)
    and without bytes after the end-of-image marker."""
    if data[:2] != b"\xff\xd8":
        raise NotAJpeg("no start-of-image marker")
    out, pos = bytearray(b"\xff\xd8"), 2
    while True:
        marker, pos = _next_marker(data, pos)
        if marker == EOI:
            out += b"\xff\xd9"
            return bytes(out)
        if marker in STANDALONE:
            out += bytes((0xFF, marker))
            continue
        end = _segment_end(data, pos)
        if marker not in METADATA or (marker == 0xEE and data[pos + 2 : pos + 7] == ADOBE):
            out += bytes((0xFF, marker)) + data[pos:end]
        pos = end
        if marker == SOS:
            scan_end = _entropy_end(data, pos)
            out += data[pos:scan_end]
            pos = scan_end


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    """The marker at ``pos`` (fill bytes 0xFF skipped) and the position after it."""
    if pos >= len(data) or data[pos] != 0xFF:
        raise NotAJpeg("marker expected")
    while pos < len(data) and data[pos] == 0xFF:
        pos += 1
    if pos >= len(data):
        raise NotAJpeg("truncated")
    return data[pos], pos + 1


def _segment_end(data: bytes, pos: int) -> int:
    if pos + 2 > len(data):
        raise NotAJpeg("truncated segment")
    end = pos + int.from_bytes(data[pos : pos + 2], "big")
    if end > len(data) or end < pos + 2:
        raise NotAJpeg("bad segment length")
    return end


def _entropy_end(data: bytes, pos: int) -> int:
    """Where the entropy-coded data after a scan header ends: the first 0xFF
    that is neither byte stuffing (FF 00), a restart marker nor fill."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0:
            raise NotAJpeg("no end of scan")
        nxt = pos + 1
        while nxt < len(data) and data[nxt] == 0xFF:
            nxt += 1
        if nxt >= len(data):
            raise NotAJpeg("truncated scan")
        if data[nxt] == 0x00 or data[nxt] in RST:
            pos = nxt + 1
            continue
        return nxt - 1
