"""``key rotate | backup | restore``: the storage key (see README, 密钥备份与恢复).

- ``key rotate``: re-seal everything under a new key id (old key kept until done; audited).
- ``key backup --out FILE``: the key file encrypted under a passphrase (scrypt).
- ``key restore FILE``: put a backup back at ``DEID_KEY_FILE``; the store must accept it.

The passphrase is read from the variable named by ``--passphrase-env`` or asked
twice on the terminal; it is never an argument (shell history, process list).
"""

from __future__ import annotations

import getpass
import os

from core import crypto
from core.cli.commands.common import cli_actor, open_db


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "key", help="存储密钥：轮换、备份、恢复 / storage key: rotate, back up, restore"
    )
    sub = p.add_subparsers(dest="key_command", metavar="<key command>")
    r = sub.add_parser("rotate", help="换用新密钥并重新加密全部数据 / re-seal everything under a new key")
    r.add_argument("--db")
    r.set_defaults(func=run_rotate)
    b = sub.add_parser("backup", help="导出口令加密的密钥备份 / export the key encrypted under a passphrase")
    b.add_argument(
        "--out", required=True, help="备份文件（不要与数据放在一起）/ backup file, kept apart from the data"
    )
    b.add_argument("--passphrase-env", help="口令所在的环境变量名 / variable holding the passphrase")
    b.add_argument("--db")
    b.set_defaults(func=run_backup)
    s = sub.add_parser("restore", help="从备份恢复密钥文件 / restore the key file from a backup")
    s.add_argument("backup_file")
    s.add_argument("--passphrase-env")
    s.add_argument(
        "--force", action="store_true", help="替换已有的另一把密钥 / replace another existing key file"
    )
    s.add_argument("--db")
    s.set_defaults(func=run_restore)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _passphrase(args, confirm: bool) -> str:
    if args.passphrase_env:
        value = os.environ.get(args.passphrase_env, "")
        if not value:
            raise crypto.KeyError_(
                f"环境变量 {args.passphrase_env} 为空", f"variable {args.passphrase_env} is empty"
            )
        return value
    first = getpass.getpass("备份口令 / backup passphrase: ")
    if confirm and getpass.getpass("再输入一次 / again: ") != first:
        raise crypto.KeyError_("两次输入的口令不一致", "the passphrases differ")
    return first


def run_rotate(args) -> int:
    from core.security import keys

    db = open_db(args.db)
    summary = keys.rotate(db, cli_actor())
    print(
        f"密钥已轮换 / key rotated: {summary['from_key']} -> {summary['to_key']}; "
        f"{summary['values']} values, {summary['files']} files, {summary['exports']} exports, "
        f"{summary['ocr_cache']} OCR cache entries re-sealed"
    )
    return 0


def run_backup(args) -> int:
    from core.security import keys

    db = open_db(args.db)
    path = keys.backup(args.out, _passphrase(args, confirm=True), db, cli_actor())
    print(
        f"密钥备份已写入 / key backup written: {path} (mode 0600; keep it and the passphrase apart from the data)"
    )
    return 0


def run_restore(args) -> int:
    from core.security import keys

    ring = keys.restore(args.backup_file, _passphrase(args, confirm=False), force=args.force)
    db = open_db(args.db)  # refuses (exit 2) when the restored key is not this store's
    from core.security import audit

    audit.record(db, cli_actor(), "key.restore", detail={"key_id": ring.current, "root_id": ring.root_id})
    print(f"密钥已恢复 / key restored to {crypto.key_path()}")
    return 0
