"""Command line: ``python -m core.cli <command> …``.

Each subcommand lives in ``core/cli/commands/<name>.py``; see ``--help``.
An unexpected failure is reported in one line (exit 2), never as a
traceback (``DEID_TRACEBACK=1`` re-raises it, for debugging).
Must not import ui/, pages/, tools/ or streamlit."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from core.cli.commands import COMMANDS
from core.errors import DeidError


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with a known ``command``, only that command is registered
    (its module alone is imported), else every command (help, errors)."""
    parser = argparse.ArgumentParser(
        prog="python -m core.cli",
        description="病历匿名化导出 — de-identify medical-record PDFs (offline). "
        "Run '<command> --help' for the options of one command.",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log progress (never identifiers) to stderr"
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name, module in COMMANDS.items():
        if command is None or name == command:
            importlib.import_module(module).register(sub)
    return parser


def _command(argv: list[str]) -> str | None:
    """The command word of ``argv`` (the first argument not an option), when it names a command."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(_command(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except DeidError as exc:
        print(f"错误 / error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # hostile or malformed input must never end in a traceback
        if os.environ.get("DEID_TRACEBACK"):
            raise
        print(
            f"错误 / error: 文件无法安全处理（{type(exc).__name__}），未写出文件 / the file cannot be processed "
            f"safely ({type(exc).__name__}); no output written",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
