"""CLI subcommands.  Each module defines ``register(subparsers)``."""

COMMANDS = [
    "core.commands.redact",
    "core.commands.audit",
    "core.commands.user",
    "core.commands.demo_users",
    "core.commands.export",
    "core.commands.verify",
    "core.commands.key",
]
