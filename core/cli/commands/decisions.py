"""``decisions export|import CASE_ID FILE``: a case's review decisions as CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import InputError, PermissionDenied

HELP = """Write or apply a case's review decisions as CSV (page, box geometry,
category, status, reason code; never a covered value nor a typed reason), so
the review survives a re-detection or moves to another installation.

Import matches each box by document page, geometry overlap and category and
prints how many rows matched, changed, were drawn again (manual boxes) or
matched nothing.  Recorded in the audit trail under --user.

Exit codes: 0 done; 2 bad file; 4 the user may not do this; 5 the case is in
review (read-only).
"""


def register(sub) -> None:
    p = sub.add_parser(
        "decisions",
        help="export/import a case's review decisions (CSV)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=("export", "import"))
    p.add_argument("case_id", metavar="CASE_ID")
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--user", required=True, help="username the action is recorded under")
    p.add_argument("--db", help="SQLite store (default DEID_DB)")
    p.set_defaults(func=run)


def run(args) -> int:
    from core.cases import decisions
    from core.security.auth import get_user
    from core.store.db import open_db

    db = open_db(args.db)
    user = get_user(db, args.user)
    if not user or user.get("disabled"):
        raise PermissionDenied("用户不存在或已停用", "unknown or disabled user")
    path = Path(args.file)
    if args.action == "export":
        path.write_text("\ufeff" + decisions.export_csv(db, user, args.case_id), encoding="utf-8")
        print(f"written: {path}")
        return 0
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise InputError(
            "无法读取审阅决定文件（需要 UTF-8 编码的 CSV）", "cannot read the decisions CSV"
        ) from None
    counts = decisions.import_csv(db, user, args.case_id, text)
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0
