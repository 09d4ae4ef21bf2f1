"""A transaction helper for the autocommit connections of ``open_db``."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def transaction(db):
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (rollback on error); nested use joins the outer one."""
    conn = db.conn
    if conn.in_transaction:
        yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
