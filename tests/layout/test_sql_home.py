"""Every SQL statement of the product lives in ``core/store`` (issue 15): the tree is scanned."""

from __future__ import annotations

from pathlib import Path

from tests.layout.scan import is_sql, sql_in_source, sql_outside_store

PLANTED = '''
"""Docstring prose: SELECT name FROM users is how it was done."""
def f(db, cols):
    db.execute("PRAGMA foreign_keys=ON")
    db.conn.executemany(QUERY, rows)
    rows = db.query("select id from findings where page_id = ?", [1])
    sql = "SELECT id, hash FROM audit_log ORDER BY id DESC"
    dyn = f"UPDATE pages SET {cols} = ? WHERE id = ?"
    joined = ("INSERT INTO exports (id, case_id) "
              "VALUES (?, ?)")
    ok = ["请选择病例", "Select a page from the list", "commit", "update the list"]
    return "DELETE FROM findings WHERE id = ?"
'''


def test_no_sql_outside_core_store():
    found = sql_outside_store()
    assert not found, "SQL outside core/store/ (move it into a named function there):\n" + "\n".join(found)


def test_the_scanner_finds_each_kind_of_planted_statement():
    found = sql_in_source(PLANTED)
    lines = sorted({line for line, _ in found})
    # execute, executemany, query(<sql>), plain, f-string, joined literals, return value; not the docstring,
    # not the UI/English text of line 11
    assert lines == [4, 5, 6, 7, 8, 9, 12], found
    assert any("execute" in what for line, what in found if line == 4)
    assert any(what.startswith("SQL string") for line, what in found if line == 8)


def test_the_scanner_tells_sql_from_prose():
    assert is_sql("SELECT COUNT(*) FROM pages WHERE case_id = ?")
    assert is_sql("  CREATE UNIQUE INDEX IF NOT EXISTS x ON t (a)")
    assert is_sql("BEGIN IMMEDIATE") and is_sql("ROLLBACK")
    assert is_sql("delete from pages where id = :id")
    for prose in ("Select the pages from the archive first", "commit", "Update the list", "begin", ""):
        assert not is_sql(prose), prose


def test_a_planted_violation_in_a_tree_is_listed_and_core_store_is_not(tmp_path: Path):
    (tmp_path / "core" / "store").mkdir(parents=True)
    (tmp_path / "ui").mkdir()
    (tmp_path / "core" / "store" / "things.py").write_text('def n(db):\n    return db.execute("SELECT 1")\n')
    (tmp_path / "ui" / "page.py").write_text(
        'def show(db):\n    db.conn.execute("UPDATE cases SET status = ? WHERE id = ?", [1, 2])\n'
    )
    (tmp_path / "app.py").write_text('X = "SELECT * FROM users"\n')
    found = sql_outside_store(tmp_path)
    assert sorted(f.split(":")[0] for f in found) == ["app.py", "ui/page.py", "ui/page.py"], found
