"""The audit trail: one append-only, hash-chained table (``audit_log``).

Every row stores ``prev_hash`` (the previous row's ``hash``; 64 zeros for the
first row) and ``hash`` = SHA-256 over the canonical JSON of its own fields
(id, ts, actor, role, action, case_id, page, detail, prev_hash).  Editing,
deleting or re-ordering a row breaks the chain; ``verify_chain`` names the
first broken row.  Each row also carries ``mac`` = HMAC-SHA256(hash) under a
key derived from the storage key (key file outside the database), so a
chain rebuilt after an edit is still caught by whoever holds the key.
Every row must carry a valid MAC, except rows written before MACs existed
(ids up to the MAC'd ``audit_unsealed_through`` floor of migration 110): a
NULL MAC is a broken row, not an old one.  The chain head is anchored
outside the database by signed checkpoint files (``core.security.audit_anchor``), so
removing the newest rows is caught too.
SQLite triggers (migration 100) additionally block UPDATE of any row and
DELETE of rows younger than 180 days.

``case_id`` holds the case's opaque handle (``core.security.handles.case_handle``),
never the case id, which may be a record number; filters accept either.

``detail`` must never hold identifier text: geometry, categories, counts,
digests and masked values only.  As a last guard, values under keys that
name identifiers (``text``, ``patient_name`` …) are masked before storing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from core.crypto import key_path, sha256_hex, storage_key
from core.errors import DeidError
from core.security.handles import case_handle
from core.masking import mask
from core.store import accounts, audit_log as store
from core.store.tx import transaction

log = logging.getLogger(__name__)

GENESIS = "0" * 64
HASHED_FIELDS = ("id", "ts", "actor", "role", "action", "case_id", "page", "detail", "prev_hash")
RETENTION_FLOOR_DAYS = 180
IDENTIFIER_KEYS = frozenset(
    {
        "text",
        "patient_name",
        "id_number",
        "phone",
        "address",
        "seed",
        "seeds",
        "identifier",
        "inpatient_no",
        "patient_id",
        "name_text",
        "value_text",
        "password",
        "token",
    }
)


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def row_hash(row: dict) -> str:
    return sha256_hex(canonical_json({k: row.get(k) for k in HASHED_FIELDS}).encode("utf-8"))


def mac_key() -> bytes:
    return hashlib.sha256(b"deid-audit-mac|" + storage_key()).digest()


def row_mac(row_hash_hex: str, key: bytes | None = None) -> str:
    return hmac.new(key or mac_key(), row_hash_hex.encode("ascii"), hashlib.sha256).hexdigest()


class AuditKeyMismatch(DeidError):
    """The storage key file is not the one this store's audit rows were sealed with."""

    def __init__(self):
        super().__init__(
            "密钥文件与本库审计记录的封印密钥不一致（检查 DEID_KEY_FILE）",
            "the storage key file does not match this store's audit seal key (check DEID_KEY_FILE)",
        )


def mac_key_id(key: bytes | None = None) -> str:
    return hashlib.sha256(b"id|" + (key or mac_key())).hexdigest()[:16]


def stored_key_id(db) -> str | None:
    return store.setting(db, "audit_mac_key_id")


def key_matches(db) -> bool | None:
    """True/False when the key file exists (matches the store's seal key or not); None without a key file."""
    if not key_path().exists():
        return None
    stored = stored_key_id(db)
    return stored is None or stored == mac_key_id()


UNSEALED_THROUGH = "audit_unsealed_through"
UNSEALED_THROUGH_MAC = "audit_unsealed_through_mac"


def _floor_mac(value: int, key: bytes) -> str:
    return hmac.new(key, f"unsealed-through|{int(value)}".encode("ascii"), hashlib.sha256).hexdigest()


def unsealed_through(db, key: bytes) -> int:
    """Last id that may lack a MAC (rows from before MACs existed); 0 unless the stored floor's seal is valid."""
    raw, mac = store.setting(db, UNSEALED_THROUGH), store.setting(db, UNSEALED_THROUGH_MAC)
    try:
        value = int(raw or 0)
    except ValueError:
        return 0
    if value <= 0 or not mac or not hmac.compare_digest(mac, _floor_mac(value, key)):
        return 0
    return value


def _seal_floor(db, key: bytes) -> None:
    """Seal the legacy floor the migration recorded (once, by the first writer holding the key)."""
    raw = store.setting(db, UNSEALED_THROUGH)
    if raw and not store.setting(db, UNSEALED_THROUGH_MAC):
        store.put_setting(db, UNSEALED_THROUGH_MAC, _floor_mac(int(raw), key))


def format_ts(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds and 'Z' (sortable, parsed by SQLite julianday)."""
    moment = moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_ts(ts: str) -> datetime:
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def _is_tally(value: Any) -> bool:
    return isinstance(value, dict) and all(type(v) is int for v in value.values())


def scrub_detail(detail: Any) -> Any:
    """Mask values under identifier-named keys (defence in depth; callers should not send them)."""
    if isinstance(detail, dict):
        out: dict[Any, Any] = {}
        for key, value in detail.items():
            if key == "counts" and _is_tally(value):  # {category: n}: numbers, not identifier text
                out[key] = dict(value)
            elif str(key).lower() in IDENTIFIER_KEYS and value not in (None, ""):
                if str(key).lower() in ("password", "token"):
                    out[key] = "***"
                else:
                    out[key] = mask(str(value))
                log.warning("audit detail key %r was masked; do not pass identifier text", key)
            else:
                out[key] = scrub_detail(value)
        return out
    if isinstance(detail, (list, tuple)):
        return [scrub_detail(v) for v in detail]
    return detail


def _role_of(db, actor: str) -> str | None:
    try:
        return accounts.user_role(db, actor)
    except Exception:  # users table missing in odd setups: record anyway
        return None


def record(
    db,
    actor: str,
    action: str,
    *,
    case_id: str | None = None,
    page: int | None = None,
    detail: dict | None = None,
    role: str | None = None,
    at: datetime | None = None,
) -> dict:
    """Append one hash-chained audit row and return it (as stored).

    ``actor`` is a username (or ``system`` / ``cli:<os user>``); ``role`` is
    looked up from ``users`` when not given.  ``at`` exists for tests.
    """
    detail_json = canonical_json(scrub_detail(detail or {}))
    ts = format_ts(at or datetime.now(timezone.utc))
    role = role if role is not None else _role_of(db, actor)
    with transaction(db):
        last = store.last_row(db)
        next_id = max(last[0] if last else 0, store.sequence(db)) + 1
        row: dict[str, Any] = {
            "id": next_id,
            "ts": ts,
            "actor": str(actor),
            "role": role,
            "action": str(action),
            "case_id": None if case_id is None else case_handle(str(case_id)),  # never the case id itself
            "page": None if page is None else int(page),
            "detail": detail_json,
            "prev_hash": last[1] if last else GENESIS,
        }
        row["hash"] = row_hash(row)
        if store.has_mac_column(db):
            key = mac_key()
            stored = stored_key_id(db)
            if stored is None:
                store.insert_setting(db, "audit_mac_key_id", mac_key_id(key))
            elif stored != mac_key_id(key):
                raise AuditKeyMismatch()
            _seal_floor(db, key)
            row["mac"] = row_mac(row["hash"], key)
        store.insert_row(db, row)
    return row


def verify_chain(
    db, check_mac: bool | None = None, *, after: tuple[int, str] | None = None
) -> tuple[bool, int, int | None]:
    """Walk the chain in id order: ``(ok, rows_checked, first_broken_id)``.

    A row is broken when its stored hash does not match its fields, its
    ``prev_hash`` does not match the previous row's hash (a row deleted or
    edited before it), its id does not follow the previous one (ids are
    contiguous: rows removed from the tail and then written past show as a
    gap), or its MAC is wrong or missing.  After a retention
    purge the first remaining row's ``prev_hash`` must match the anchor
    written by the purge record.  MACs are checked when the storage key file
    exists (``check_mac=None``) — never creating a new key to do so.  Only
    rows up to the sealed legacy floor (``unsealed_through``; none on a store
    created with MACs) may lack one.  Removal of the newest rows is not
    visible here: ``core.security.audit_anchor.verify`` compares with the checkpoint.
    ``after=(id, hash)`` walks only the rows after a head already verified
    (a checkpoint's), starting from that hash.
    """
    if check_mac is None:
        check_mac = key_path().exists()
    has_mac = store.has_mac_column(db)
    key = mac_key() if check_mac and has_mac else None
    floor = unsealed_through(db, key) if key is not None else 0
    anchors = _purge_anchors(db)
    prev_hash = after[1] if after else None
    prev_id = after[0] if after else None
    count = 0
    fields = HASHED_FIELDS + ("hash",) + (("mac",) if has_mac else ())
    cur = store.chain_rows(db, fields, after[0] if after else -1)
    for values in cur:
        row = dict(zip(fields, values))
        count += 1
        if prev_hash is None:
            expected_prev = GENESIS if row["id"] == 1 else anchors.get(row["id"] - 1)
        else:
            expected_prev = prev_hash
        gap = prev_id is not None and row["id"] != prev_id + 1  # ids are handed out contiguously
        if gap or row["prev_hash"] != expected_prev or row_hash(row) != row["hash"]:
            return False, count, row["id"]
        if key is not None:
            mac = row.get("mac")
            if mac:
                if not hmac.compare_digest(mac, row_mac(row["hash"], key)):
                    return False, count, row["id"]
            elif row["id"] > floor:
                return False, count, row["id"]
        prev_hash, prev_id = row["hash"], row["id"]
    return True, count, None


def _purge_anchors(db) -> dict[int, str]:
    """Purge records: deleted-through id -> hash of that last deleted row."""
    anchors = {}
    for detail in store.purge_details(db):
        try:
            d = json.loads(detail)
            anchors[int(d["through_id"])] = str(d["through_hash"])
        except (ValueError, KeyError, TypeError):
            continue
    return anchors


def retention_days(db) -> int:
    try:
        value = store.setting(db, "audit_retention_days")
    except Exception:
        value = None
    days = int(value) if value is not None else RETENTION_FLOOR_DAYS
    return max(days, RETENTION_FLOOR_DAYS)


def purge_expired(db, now: datetime | None = None, actor: str = "system") -> int:
    """Delete rows older than the retention period (never younger than 180 days).

    The deletion and the ``audit.purge`` record that anchors the chain (the
    hash of the last deleted row) are one transaction: either both happen or
    neither, so ``verify_chain`` still passes.  Returns rows deleted.
    """
    now = now or datetime.now(timezone.utc)
    days = retention_days(db)
    cutoff = format_ts(now - timedelta(days=days))
    floor = format_ts(datetime.now(timezone.utc) - timedelta(days=RETENTION_FLOOR_DAYS))
    cutoff = min(cutoff, floor)  # refuse to delete anything younger than the floor, whatever "now" says
    with transaction(db):
        # only a prefix of the chain (by id) can go: stop before the first row that is still young
        bound = store.purge_bound(db, cutoff)
        if not bound:
            return 0
        through_id, through_hash = bound
        deleted = store.delete_through(db, through_id)
        record(
            db,
            actor,
            "audit.purge",
            detail={
                "through_id": through_id,
                "through_hash": through_hash,
                "deleted": deleted,
                "retention_days": days,
            },
        )
    return deleted


def rows(
    db, *, actor=None, role=None, case_id=None, action=None, since=None, until=None, limit=None, offset=0
) -> list[dict]:
    """Filtered audit rows, newest first (``since``/``until`` are datetimes or ISO strings)."""
    return store.filtered_rows(
        db,
        *_filters(actor=actor, role=role, case_id=case_id, action=action, since=since, until=until),
        limit=limit,
        offset=offset,
    )


def count(db, **filters) -> int:
    return store.filtered_count(db, *_filters(**filters))


def _filters(
    *, actor=None, role=None, case_id=None, action=None, since=None, until=None
) -> tuple[dict[str, list], str | None, str | None]:
    """``(column -> accepted values, since ts, until ts)`` for ``store.filtered_rows``."""
    filters: dict[str, list] = {}
    for col, value in (("actor", actor), ("role", role), ("case_id", case_id), ("action", action)):
        if value:
            values = [value] if isinstance(value, str) else list(value)
            if col == "case_id":  # rows store the case's opaque handle (older rows: the plain id)
                values = sorted({v for c in values for v in (str(c), case_handle(str(c)))})
            filters[col] = values
    since_ts = (since if isinstance(since, str) else format_ts(since)) if since else None
    until_ts = (until if isinstance(until, str) else format_ts(until)) if until else None
    return filters, since_ts, until_ts
