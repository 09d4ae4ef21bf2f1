"""The embedded SQLite store (sqlite-utils), with explicit, versioned schema."""
from core.store.db import open_db  # noqa: F401
