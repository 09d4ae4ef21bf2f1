"""``verify FILE.pdf MANIFEST.json``: check an export's integrity."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from core.errors import InputError

HELP = """Check a released export against its manifest:
  - the manifest's SM2 signature (trusted public key: --public-key, default DEID_SM2_PUBLIC_KEY
    or data/keys/sm2_public.hex),
  - file size, SHA-256 and SM3 against the manifest, and the page count,
  - the PDF's PAdES signature (intact, whole file, chaining to --cert, default DEID_SIGN_CERT
    or data/keys/signing_cert.pem).
Exit 0 when valid; 1 when not, with the reason.  Encrypted exports need --password-env.
"""


def register(sub) -> None:
    p = sub.add_parser(
        "verify",
        help="check an export PDF against its signed manifest",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("pdf", metavar="FILE.pdf")
    p.add_argument("manifest", metavar="MANIFEST.json")
    p.add_argument("--public-key", metavar="FILE", help="SM2 public key (hex) of the exporting hospital")
    p.add_argument("--cert", metavar="PEM", help="the hospital's signing certificate (trust anchor)")
    p.add_argument("--password-env", metavar="VAR", help="environment variable holding the export password")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataclasses import replace

    from core.export import signing
    from core.export.integrity import verify_export

    for path in (args.pdf, args.manifest):
        if not Path(path).is_file():
            raise InputError(f"找不到文件：{Path(path).name}", f"file not found: {Path(path).name}")
    try:
        manifest = json.loads(Path(args.manifest).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        print("无效 / INVALID: 清单不是有效的 JSON / manifest is not valid JSON")
        return 1
    paths = signing.key_paths()
    if args.cert:
        paths = replace(paths, cert=Path(args.cert))
    public = Path(args.public_key).read_text().strip() if args.public_key else None
    password = os.environ.get(args.password_env, "") if args.password_env else ""
    report = verify_export(
        Path(args.pdf).read_bytes(), manifest, public_key_hex=public, password=password, paths=paths
    )
    if report.ok:
        print(
            f"有效 / VALID: {manifest.get('case_code', '')} {manifest.get('page_count', '')} 页, "
            f"SM2 清单签名、SHA-256、SM3、PAdES 签名均通过"
        )
        return 0
    print("无效 / INVALID: " + "；".join(report.reasons))
    return 1
