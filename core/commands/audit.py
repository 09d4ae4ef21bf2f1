"""``audit verify [--db PATH] [--chain-only]``: check the audit trail's hash chain.

Exit 0 and print the number of records when intact; exit 1 naming the first
broken record otherwise.  The keyed seals (MACs) are checked with the storage
key file (``DEID_KEY_FILE``) when it exists; ``--chain-only`` skips them.  ``audit purge`` deletes records older than the
retention period (never younger than 180 days).
"""
from __future__ import annotations


from core import audit
from core.commands.common import cli_actor, open_db


def register(subparsers) -> None:
    p = subparsers.add_parser("audit", help="审计日志：校验哈希链 / audit trail: verify the hash chain")
    sub = p.add_subparsers(dest="audit_command", metavar="<audit command>")
    v = sub.add_parser("verify", help="校验审计日志哈希链 / verify the chain")
    v.add_argument("--db", help="SQLite store (default: DEID_DB / data/deid.sqlite)")
    v.add_argument("--chain-only", action="store_true",
                   help="只校验哈希链，不校验密钥封印（没有该库的密钥文件时）/ skip the keyed seals (no key file for this store)")
    v.set_defaults(func=run_verify)
    pg = sub.add_parser("purge", help="删除超过保存期的审计记录（不少于180天）/ delete expired records")
    pg.add_argument("--db")
    pg.set_defaults(func=run_purge)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])



def run_verify(args) -> int:
    db = open_db(args.db)
    matches = audit.key_matches(db)
    if matches is False and not args.chain_only:
        print("密钥文件与该库不匹配（检查 DEID_KEY_FILE，或用 --chain-only 只校验哈希链）/ "
              "the key file does not match this store (check DEID_KEY_FILE or use --chain-only)")
        return 1
    sealed = matches is True and not args.chain_only
    ok, count, broken = audit.verify_chain(db, check_mac=sealed)
    if matches:  # only a process holding this store's key writes audit rows
        audit.record(db, cli_actor(), "audit.verify", detail={"ok": ok, "count": count, "first_broken_id": broken})
    if ok:
        how = "hash chain and keyed seals" if sealed else "hash chain only"
        print(f"审计链完整 / audit chain intact: {count} records ({how})")
        return 0
    print(f"审计链已破坏 / audit chain BROKEN at record id {broken} (checked {count} records)")
    return 1


def run_purge(args) -> int:
    db = open_db(args.db)
    deleted = audit.purge_expired(db, actor=cli_actor())
    print(f"deleted {deleted} expired audit records (retention {audit.retention_days(db)} days)")
    return 0
