"""Errors with a one-line Chinese + English message that is safe to show.

Messages never contain identifiers from the document (only file-level facts).
"""

from __future__ import annotations


class DeidError(Exception):
    """Base class: ``message_zh`` and ``message_en`` are shown to people."""

    exit_code = 1

    def __init__(self, message_zh: str, message_en: str):
        self.message_zh = message_zh
        self.message_en = message_en
        super().__init__(f"{message_zh} / {message_en}")

    @property
    def message(self) -> str:
        return f"{self.message_zh} / {self.message_en}"


class InputError(DeidError):
    """The input file cannot be used (not a PDF, encrypted, corrupt, empty, too large)."""

    exit_code = 2


class LeakError(DeidError):
    """Verification found an identifier still readable in the output.

    ``report`` is the verifier's whole report when there is one, else ``{"leaks": leaks}``."""

    exit_code = 3

    def __init__(
        self, message_zh: str, message_en: str, leaks: list | None = None, report: dict | None = None
    ):
        super().__init__(message_zh, message_en)
        self.leaks = leaks or []
        self.report = report if report is not None else {"leaks": self.leaks}


class NotFound(DeidError):
    """A record named by id is not in the store (deleted, or a stale id from an old screen)."""


class PermissionDenied(DeidError):
    """The current user's role does not allow the action."""

    exit_code = 4
