"""Helpers shared by the command modules."""

from __future__ import annotations

import getpass


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
