"""Helpers shared by the command modules."""

from __future__ import annotations

import getpass
import sys


def add_verify_ocr(parser) -> None:
    """``--verify-ocr``: what the final leak check OCRs; one default for redact and export."""
    from core.verify.ocr import DEFAULT_MODE

    parser.add_argument(
        "--verify-ocr",
        choices=("images", "all", "none"),
        default=DEFAULT_MODE,
        help="what the final leak check OCRs: untrusted text layers and every image region (images, the "
        "default), every page (all), or nothing beyond the text layer (none)",
    )


def print_unseen_removed(removed: dict) -> None:
    """Say on stderr what was removed that the pages never showed (unplaceable or clipped glyphs, text in
    patterns, Type3 glyph procedures and soft masks, image pixels other content covers), so a person checks
    the output; counts only."""
    glyphs, streams, covered = (removed.get(k, 0) for k in ("glyphs", "streams", "covered_images"))
    if glyphs or streams or covered:
        print(
            f"注意：已移除页面上看不见的内容（{glyphs} 个字形，{streams} 段不可见的内容流，"
            f"{covered} 处被其他内容盖住的图像），请人工检查 / "
            f"note: removed content the pages never showed ({glyphs} glyph(s), {streams} unseen "
            f"stream(s), {covered} image area(s) covered by other content)",
            file=sys.stderr,
        )


def cli_actor() -> str:
    """Who runs a server-side command, for the audit trail: ``cli:<os user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in a bare container
        return "cli"


def open_db(*args, **kwargs):
    """The store, imported when a command uses it: sqlite_utils brings pandas,
    seconds of start-up that ``redact`` and ``verify`` never need."""
    from core.store.db import open_db as open_store

    return open_store(*args, **kwargs)
