"""CLI subcommands.  Each module defines ``register(subparsers)``.
Must not import ui/, pages/, tools/ or streamlit."""

# command name -> the module that registers it; a run imports only its own command's module (the user and key
# commands bring the password hashing and the store's crypto, ~30 CPU-ms that ``redact`` never needs)
COMMANDS = {
    "redact": "core.cli.commands.redact",
    "audit": "core.cli.commands.audit",
    "user": "core.cli.commands.user",
    "demo-users": "core.cli.commands.demo_users",
    "export": "core.cli.commands.export",
    "verify": "core.cli.commands.verify",
    "key": "core.cli.commands.key",
    "decisions": "core.cli.commands.decisions",
}
