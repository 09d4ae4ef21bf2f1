"""Chain-head checkpoints of the audit trail, anchored outside the database.

The hash chain and the per-row MACs show that recorded rows were not changed
or removed in the middle; they cannot show that the *newest* rows were
removed.  A checkpoint is a small JSON file holding the head of the chain
(row count, last id, last hash, time), MAC'd with the audit key (HMAC-SHA256,
the key derived from the storage key file).  Checkpoints are written

- on each export (``core.export.store``),
- daily: on app start and worker start when the newest checkpoint is older
  than a day, and by the worker's daily periodic task,
- on demand: ``python -m core.cli audit checkpoint`` (and after ``audit purge``).

Each checkpoint is also an ``audit.checkpoint`` row (the head it names), in
the same transaction as the file write.  ``verify`` walks the chain and
compares it with the newest valid checkpoint: a head row that is missing or
different, fewer rows than the checkpoint counted, or a forged checkpoint
file make the trail BROKEN.

Files live in ``DEID_AUDIT_ANCHOR_DIR`` (default: ``audit-anchors/`` next to
the storage key file, i.e. outside the data folder and its backups); point it
at storage that whoever can write the database cannot (a write-once share).
Rows written after the newest checkpoint can still be removed unnoticed:
that window is at most a day or one export.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from core.security import audit
from core.crypto import key_path
from core.errors import DeidError
from core.store import audit_log as store
from core.store.tx import transaction

log = logging.getLogger(__name__)

FORMAT = "deid-audit-checkpoint/1"
DAY = timedelta(days=1)


class AuditChainBroken(DeidError):
    exit_code = 1

    def __init__(self, verdict: "Verdict"):
        self.verdict = verdict
        super().__init__(
            f"审计链已破坏，不写检查点：{verdict.problem_zh}",
            f"audit chain broken; no checkpoint written: {verdict.problem_en}",
        )


@dataclass
class Checkpoint:
    store_id: str
    count: int
    last_id: int
    last_hash: str
    written_at: str
    reason: str
    path: Path | None = None
    signed: bool = True  # MAC checked and valid (False: read without the key)

    def line(self) -> str:
        return (
            f"{self.count} records through id {self.last_id}, head {self.last_hash[:16]}…, "
            f"written {self.written_at} ({self.reason})"
        )


@dataclass
class Verdict:
    ok: bool
    count: int
    broken_id: int | None = None
    sealed: bool = False
    checkpoint: Checkpoint | None = None
    problem_zh: str = ""
    problem_en: str = ""
    notes: list[str] = field(default_factory=list)


def anchor_dir() -> Path:
    return Path(os.environ.get("DEID_AUDIT_ANCHOR_DIR") or key_path().parent / "audit-anchors")


def store_id(db) -> str:
    value = store.setting(db, "store_id")
    if not value:  # a store migrated before m110 with no settings row (should not happen)
        value = secrets.token_hex(16)
        store.put_setting(db, "store_id", value)
    return value


def _payload(cp: Checkpoint) -> dict:
    return {
        "format": FORMAT,
        "store_id": cp.store_id,
        "count": cp.count,
        "last_id": cp.last_id,
        "last_hash": cp.last_hash,
        "written_at": cp.written_at,
        "reason": cp.reason,
    }


def _mac(payload: dict, key: bytes) -> str:
    return hmac.new(
        key, b"checkpoint|" + audit.canonical_json(payload).encode("utf-8"), hashlib.sha256
    ).hexdigest()


def _file_name(cp: Checkpoint) -> str:
    stamp = cp.written_at.replace(":", "").replace("-", "").replace(".", "")
    return f"audit-checkpoint-{cp.store_id[:16]}-{cp.last_id:012d}-{stamp}.json"


def _write_file(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_checkpoint(db, *, actor: str = "system", reason: str = "manual") -> Checkpoint:
    """Verify the trail, then record an ``audit.checkpoint`` row and write the signed file naming it.

    Refuses (``AuditChainBroken``) when the trail is already broken: signing a
    tampered head would make it look genuine.
    """
    verdict = verify(db, check_mac=True, incremental=True)
    if not verdict.ok:
        raise AuditChainBroken(verdict)
    key = audit.mac_key()
    sid = store_id(db)
    with transaction(db):
        row = audit.record(db, actor, "audit.checkpoint", detail={"reason": reason})
        count, last_id, last_hash = store.head(db)
        assert last_id is not None and last_hash is not None  # the row recorded just above
        cp = Checkpoint(sid, count, last_id, last_hash, row["ts"], reason)
        cp.path = anchor_dir() / _file_name(cp)
        body = {**_payload(cp), "key_id": audit.mac_key_id(key), "mac": _mac(_payload(cp), key)}
        _write_file(cp.path, json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8"))
    return cp


def _read(path: Path, key: bytes | None) -> Checkpoint | None:
    """A checkpoint file; None when unreadable; raises ValueError when its MAC is wrong."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        cp = Checkpoint(
            str(body["store_id"]),
            int(body["count"]),
            int(body["last_id"]),
            str(body["last_hash"]),
            str(body["written_at"]),
            str(body.get("reason", "")),
            path,
            signed=key is not None,
        )
        mac = str(body["mac"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if body.get("format") != FORMAT:
        return None
    if key is not None and not hmac.compare_digest(mac, _mac(_payload(cp), key)):
        raise ValueError(path.name)
    return cp


def checkpoints(db, key: bytes | None) -> tuple[list[Checkpoint], list[str]]:
    """This store's checkpoints, oldest head first, and the names of files whose MAC is wrong."""
    sid = store_id(db)
    found, forged = [], []
    folder = anchor_dir()
    if not folder.is_dir():
        return [], []
    for path in sorted(folder.glob(f"audit-checkpoint-{sid[:16]}-*.json")):
        try:
            cp = _read(path, key)
        except ValueError:
            forged.append(path.name)
            continue
        if cp is not None and cp.store_id == sid:
            found.append(cp)
    found.sort(key=lambda c: (c.last_id, c.written_at))
    return found, forged


def latest(db, key: bytes | None = None) -> Checkpoint | None:
    found, _ = checkpoints(db, key)
    return found[-1] if found else None


def _broken(verdict: Verdict, zh: str, en: str) -> Verdict:
    verdict.ok = False
    verdict.problem_zh, verdict.problem_en = zh, en
    return verdict


def verify(db, check_mac: bool | None = None, *, incremental: bool = False) -> Verdict:
    """The whole check behind ``audit verify`` and the audit page.

    1. the hash chain and MACs (``audit.verify_chain``);
    2. no rows removed from the tail since the last insert (AUTOINCREMENT sequence);
    3. the newest checkpoint (signature checked when the key is used): its
       head row is present with the same hash and as many rows up to it.

    ``incremental`` (used before writing a checkpoint) walks only the rows
    after the newest checkpoint whose head still matches; ``count`` is then
    the number of rows walked.
    """
    if check_mac is None:
        check_mac = key_path().exists()
    after = _verified_head(db) if incremental and check_mac else None
    ok, count, broken = audit.verify_chain(db, check_mac=check_mac, after=after)
    verdict = Verdict(ok=ok, count=count, broken_id=broken, sealed=bool(check_mac))
    if not ok:
        return _broken(
            verdict,
            f"第一条异常记录序号 {broken}（已校验 {count} 条）",
            f"first broken record id {broken} (checked {count} records)",
        )
    _, last_id, _ = store.head(db)
    seq = store.sequence(db)
    if seq > (last_id or 0):
        return _broken(
            verdict,
            f"最新的审计记录已被删除（序号 {(last_id or 0) + 1}–{seq}）",
            f"the newest records were removed (ids {(last_id or 0) + 1}-{seq})",
        )
    key = audit.mac_key() if check_mac else None
    found, forged = checkpoints(db, key)
    if forged:
        return _broken(
            verdict, f"检查点文件签名无效：{forged[0]}", f"checkpoint file with a wrong MAC: {forged[0]}"
        )
    if not found:
        named = store.last_checkpoint_row(db)
        if named is not None:
            return _broken(
                verdict,
                f"检查点文件缺失（审计记录 {named['id']} 写过检查点，目录 {anchor_dir()}）",
                f"checkpoint file missing (record {named['id']} wrote one; folder {anchor_dir()})",
            )
        verdict.notes.append("尚无检查点 / no checkpoint yet")
        return verdict
    cp = verdict.checkpoint = found[-1]
    problem = _compare(db, cp, last_id)
    if problem:
        return _broken(verdict, *problem)
    return verdict


def _verified_head(db) -> tuple[int, str] | None:
    """``(id, hash)`` of the newest signed checkpoint's head when the store still holds it unchanged."""
    try:
        cp = latest(db, audit.mac_key())
    except ValueError:
        return None
    if cp is None or store.hash_of(db, cp.last_id) != cp.last_hash:
        return None
    return cp.last_id, cp.last_hash


def _compare(db, cp: Checkpoint, last_id: int | None) -> tuple[str, str] | None:
    if last_id is None or last_id < cp.last_id:
        return (
            f"审计记录少于检查点：检查点记到序号 {cp.last_id}（{cp.count} 条），库中最后一条为 {last_id or 0}",
            f"truncated: the checkpoint counts {cp.count} records through id {cp.last_id}, "
            f"the store ends at id {last_id or 0}",
        )
    stored = store.hash_of(db, cp.last_id)
    if stored is None:
        if store.purged_after(db, cp.last_id):
            return None  # the checkpointed head went in a later retention purge (anchored by its record)
        return (
            f"检查点记录的序号 {cp.last_id} 已不在库中",
            f"the checkpoint's head record {cp.last_id} is gone",
        )
    if stored != cp.last_hash:
        return (
            f"序号 {cp.last_id} 的哈希与检查点不一致（链被重建）",
            f"record {cp.last_id} differs from the checkpoint (chain rebuilt)",
        )
    if not store.purged_after(db, cp.last_id) and store.count_through(db, cp.last_id) != cp.count:
        return (
            f"序号 {cp.last_id} 之前的记录数与检查点不一致",
            f"record count up to {cp.last_id} differs from the checkpoint",
        )
    return None


def checkpoint_quietly(db, *, actor: str = "system", reason: str) -> Checkpoint | None:
    """``write_checkpoint`` for callers whose own work is done (an export): log, never raise."""
    return checkpoint_if_due(db, actor=actor, reason=reason, max_age=timedelta(0))


def checkpoint_if_due(
    db, *, actor: str = "system", reason: str = "daily", now: datetime | None = None, max_age: timedelta = DAY
) -> Checkpoint | None:
    """Write a checkpoint when the newest one is older than ``max_age`` (or none exists and rows do).

    Never raises: a store whose key does not match, or whose trail is broken,
    is logged (and the audit page / ``audit verify`` show it).
    """
    try:
        if audit.key_matches(db) is not True or store.head(db)[0] == 0:
            return None
        newest = latest(db, audit.mac_key())
        now = now or datetime.now(timezone.utc)
        if newest is not None and max_age and now - audit.parse_ts(newest.written_at) < max_age:
            return None
        return write_checkpoint(db, actor=actor, reason=reason)
    except Exception as exc:  # a checkpoint problem must not stop the app or the worker
        log.warning("audit checkpoint not written: %s", exc)
        return None
