"""CLI subcommands.  Each module defines ``register(subparsers)``.
Must not import ui/, pages/, tools/ or streamlit."""

COMMANDS = [
    "core.cli.commands.redact",
    "core.cli.commands.audit",
    "core.cli.commands.user",
    "core.cli.commands.demo_users",
    "core.cli.commands.export",
    "core.cli.commands.verify",
    "core.cli.commands.key",
    "core.cli.commands.decisions",
]
