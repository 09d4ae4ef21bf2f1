"""Helpers shared by the command modules."""
from __future__ import annotations

import getpass


def cli_actor() -> str:
    """Who runs a server-side command, for the audit trail: ``cli:<os user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in a bare container
        return "cli"
