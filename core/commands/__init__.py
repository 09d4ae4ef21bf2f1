"""CLI subcommands.  Each module defines ``register(subparsers)``."""

COMMANDS = [
    "core.commands.redact",
]
