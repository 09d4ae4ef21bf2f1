"""The embedded SQLite store (sqlite-utils), with explicit, versioned schema.

Every SQL statement of the product lives in this package; open it with
``core.store.db.open_db`` (imported on use: sqlite-utils brings pandas).
Must not import core.cases, core.export, ui/ or streamlit."""
