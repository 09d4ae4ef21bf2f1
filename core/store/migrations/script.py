"""Running a migration's SQL script: one statement at a time, trigger bodies kept whole."""

from __future__ import annotations


def run_script(db, script: str) -> None:
    """Execute every statement of ``script`` on ``db`` in order."""
    for statement in statements(script):
        db.conn.execute(statement)


def statements(script: str) -> list[str]:
    """Split on ';' at line ends, keeping trigger bodies whole."""
    out, buf, depth = [], [], 0
    for line in script.splitlines():
        buf.append(line)
        stripped = line.strip().upper()
        if stripped == "BEGIN":
            depth += 1
        if stripped.startswith("END;"):
            depth -= 1
        if stripped.endswith(";") and depth == 0:
            stmt = "\n".join(buf).strip()
            if stmt:
                out.append(stmt)
            buf = []
    return out
