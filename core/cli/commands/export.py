"""``export CASE_ID --out DIR``: export an approved case from the store."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from core.cli.commands.common import add_verify_ocr, print_unseen_removed
from core.errors import InputError, PermissionDenied
from core.export.options import DEFAULT_WATERMARK, ExportOptions
from core.policy import STYLES, available_policies

HELP = """Export one approved case from the store as a single merged, redacted PDF
(catalog order, neutral bookmarks, page numbers, optional cover page and
watermark), verified before release (text layer, hidden data and OCR of
image pages), signed PAdES, with a manifest signed SM2.

Writes DIR/<code>.pdf and DIR/<code>.manifest.json, where <code> is a new
random patient code.  The export is stored sealed (SM4) and audited like an
export from the app, under --user (a user whose role may export).

Exit codes: 0 exported; 2 bad input; 3 verification found an identifier
(nothing written; the report is stored); 4 the user may not export;
1 the case is not approved (or its plan changed since approval).
"""


def register(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export an approved case (merged, verified, signed)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("case_id", metavar="CASE_ID")
    p.add_argument(
        "--out", required=True, metavar="DIR", help="folder for <code>.pdf and <code>.manifest.json"
    )
    p.add_argument(
        "--user", required=True, help="username the export is recorded under (role preparer/supervisor)"
    )
    p.add_argument("--db", help="SQLite store (default DEID_DB)")
    p.add_argument("--policy", default="review", choices=available_policies())
    p.add_argument(
        "--style", choices=STYLES, help="black boxes or role labels [患者] [医师A] (default: policy's)"
    )
    p.add_argument("--include", nargs="*", metavar="DOC_ID", help="only these documents")
    p.add_argument("--exclude", nargs="*", default=[], metavar="DOC_ID", help="leave these documents out")
    p.add_argument("--order", nargs="*", metavar="DOC_ID", help="document order (default: catalog order)")
    p.add_argument(
        "--watermark",
        nargs="?",
        const=DEFAULT_WATERMARK,
        default="",
        help=f"watermark text; {{code}} and {{committee}} are filled in (flag alone: '{DEFAULT_WATERMARK}')",
    )
    p.add_argument("--no-cover", action="store_true", help="no cover page")
    p.add_argument("--no-page-numbers", action="store_true")
    p.add_argument(
        "--password-env",
        metavar="VAR",
        help="encrypt (AES-256) with the password in environment variable VAR",
    )
    p.add_argument("--flatten", action="store_true", help="render every page to an image (no text layer)")
    p.add_argument(
        "--flatten-ocr", action="store_true", help="with --flatten: rebuild a searchable text layer by OCR"
    )
    add_verify_ocr(p)
    p.set_defaults(func=run)


def _progress(stage: str, done: int, total: int) -> None:
    print(f"\r{stage}: {done}/{total}", end="", file=sys.stderr, flush=True)


def run(args) -> int:
    from core.security.auth import get_user
    from core.export.from_store import export_from_store
    from core.store.db import open_db
    from core.cases.workflow import WorkflowError

    password = ""
    if args.password_env:
        password = os.environ.get(args.password_env, "")
        if not password:
            raise InputError(
                f"环境变量 {args.password_env} 中没有密码", f"no password in ${args.password_env}"
            )
    db = open_db(args.db)
    user = get_user(db, args.user)
    if not user or user.get("disabled"):
        raise PermissionDenied("用户不存在或已停用", "unknown or disabled user")
    options = ExportOptions(
        policy=args.policy,
        style=args.style or "",
        include=args.include,
        exclude=args.exclude or [],
        order=args.order,
        cover=not args.no_cover,
        page_numbers=not args.no_page_numbers,
        watermark=args.watermark,
        password=password,
        flatten=args.flatten,
        flatten_ocr_text=args.flatten_ocr,
        verify_ocr=args.verify_ocr,
    )
    try:
        export_id, result = export_from_store(
            db, args.case_id, user, options, progress=_progress if args.verbose else None
        )
    except WorkflowError as err:
        print(f"错误 / error: {err.message}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pdf_path = out / result.file_name
    pdf_path.write_bytes(result.pdf)
    manifest_path = out / f"{result.code}.manifest.json"
    manifest_path.write_text(json.dumps(result.manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    v = result.verify
    print(f"导出完成 / exported: {pdf_path} ({result.page_count} 页, export #{export_id})")
    print(f"清单 / manifest: {manifest_path}")
    print(f"SHA-256 {result.manifest['sha256']}\nSM3     {result.manifest['sm3']}")
    print(
        f"校验 / verification: 通过 ok — {v.get('identifiers', 0)} identifiers, {v.get('pages', 0)} pages, "
        f"{v.get('ocr_pages', 0)} OCR pages, {v.get('seconds', 0)} s"
    )
    print_unseen_removed(result.unseen_removed)
    if result.flags:
        print(f"需人工复核的罕见信息 / rare items flagged for review: {len(result.flags)}")
    if result.manifest.get("demo_keys"):
        print(
            "注意：本次导出使用自动生成的演示密钥签名（DEID_DEMO=1），不是正式签名 / "
            "signed with generated DEMO keys, not a production signature",
            file=sys.stderr,
        )
    return 0
