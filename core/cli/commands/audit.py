"""``audit verify [--db PATH] [--chain-only]``: check the audit trail's hash chain.

Exit 0 and print the number of records when intact; exit 1 naming the first
broken record (or the checkpoint mismatch) otherwise.  The newest chain-head
checkpoint (``core.security.audit_anchor``, a signed file outside the database) is
printed and compared, so removal of the newest rows is caught.
``audit checkpoint`` writes one now.  The keyed seals (MACs) are checked with the storage
key file (``DEID_KEY_FILE``) when it exists; ``--chain-only`` skips them.  ``audit purge`` deletes records older than the
retention period (never younger than 180 days).
"""

from __future__ import annotations


from core.cli.commands.common import cli_actor, open_db


def register(subparsers) -> None:
    p = subparsers.add_parser("audit", help="审计日志：校验哈希链 / audit trail: verify the hash chain")
    sub = p.add_subparsers(dest="audit_command", metavar="<audit command>")
    v = sub.add_parser("verify", help="校验审计日志哈希链 / verify the chain")
    v.add_argument("--db", help="SQLite store (default: DEID_DB / data/deid.sqlite)")
    v.add_argument(
        "--chain-only",
        action="store_true",
        help="只校验哈希链，不校验密钥封印（没有该库的密钥文件时）/ skip the keyed seals (no key file for this store)",
    )
    v.set_defaults(func=run_verify)
    c = sub.add_parser(
        "checkpoint", help="写入审计链检查点（库外签名文件）/ write a signed chain-head checkpoint file"
    )
    c.add_argument("--db")
    c.set_defaults(func=run_checkpoint)
    pg = sub.add_parser("purge", help="删除超过保存期的审计记录（不少于180天）/ delete expired records")
    pg.add_argument("--db")
    pg.set_defaults(func=run_purge)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_verify(args) -> int:
    from core.security import audit, audit_anchor
    from core.store import audit_log as audit_store

    db = open_db(args.db, check_key=False)  # a copied store without its key: the chain alone
    matches = audit.key_matches(db)
    if matches is False and not args.chain_only:
        print(
            "密钥文件与该库不匹配（检查 DEID_KEY_FILE，或用 --chain-only 只校验哈希链）/ "
            "the key file does not match this store (check DEID_KEY_FILE or use --chain-only)"
        )
        return 1
    sealed = matches is True and not args.chain_only
    verdict = audit_anchor.verify(db, check_mac=sealed)
    _print_checkpoint(verdict.checkpoint)
    count, last_id, last_hash = audit_store.head(db)
    if matches:  # only a process holding this store's key writes audit rows
        audit.record(
            db,
            cli_actor(),
            "audit.verify",
            detail={"ok": verdict.ok, "count": verdict.count, "first_broken_id": verdict.broken_id},
        )
    if verdict.ok:
        how = "hash chain and keyed seals" if sealed else "hash chain only"
        print(
            f"审计链完整 / audit chain intact: {verdict.count} records ({how}); "
            f"head id {last_id or 0} {(last_hash or '')[:16]}"
        )
        for note in verdict.notes:
            print(note)
        return 0
    if verdict.broken_id is not None:
        print(
            f"审计链已破坏 / audit chain BROKEN at record id {verdict.broken_id} (checked {verdict.count} records)"
        )
    else:
        print(f"审计链已破坏 / audit chain BROKEN: {verdict.problem_zh} / {verdict.problem_en}")
    return 1


def _print_checkpoint(cp) -> None:
    from core.security import audit_anchor

    if cp is None:
        print(f"检查点 / checkpoint: 无 / none (folder {audit_anchor.anchor_dir()})")
        return
    signed = "签名有效 / MAC valid" if cp.signed else "未校验签名 / MAC not checked (no key)"
    print(f"检查点 / checkpoint: {cp.line()}; {signed}; {cp.path}")


def run_checkpoint(args) -> int:
    from core.security import audit_anchor

    db = open_db(args.db)
    cp = audit_anchor.write_checkpoint(db, actor=cli_actor(), reason="cli")
    print(f"检查点已写入 / checkpoint written: {cp.line()}")
    print(f"  {cp.path}")
    return 0


def run_purge(args) -> int:
    from core.security import audit, audit_anchor

    db = open_db(args.db)
    deleted = audit.purge_expired(db, actor=cli_actor())
    print(f"deleted {deleted} expired audit records (retention {audit.retention_days(db)} days)")
    if deleted:
        cp = audit_anchor.write_checkpoint(db, actor=cli_actor(), reason="purge")
        print(f"检查点已写入 / checkpoint written: {cp.line()}")
    return 0
