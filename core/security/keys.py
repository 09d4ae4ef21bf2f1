"""Storage key operations: rotate, back up under a passphrase, restore.

- ``rotate``: a new data key becomes current (the old ones stay in the key
  file), every sealed value, working file, export and OCR cache entry is
  re-sealed under it, then the old keys are dropped.  Interrupted, the key
  file still holds every key and ``rotate`` can simply run again.  The root
  key (audit MACs, fingerprints, patient-code lookup, research date offsets)
  does not rotate: changing it would orphan the audit trail's seals and the
  date offsets already released.
- ``backup`` / ``restore``: the whole keyring encrypted under a passphrase
  (scrypt + AES-256-GCM, ``core.crypto.export_keyring``).

Each operation is audited in the store it belongs to.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.security import audit
from core import crypto
from core.config import settings
from core.store import sealed


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.rotate.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _reseal_file(path: Path, aad: bytes, v1_aad: bytes = b"") -> None:
    _write_atomic(path, crypto.seal(crypto.unseal(path.read_bytes(), aad=aad, v1_aad=v1_aad), aad=aad))


def reseal_files() -> dict[str, int]:
    """Working copies and renders (data dir), stored exports, OCR cache."""
    cfg = settings()
    counts = {"files": 0, "exports": 0, "ocr_cache": 0, "ocr_cache_dropped": 0}
    cases_dir = cfg.data_dir / "cases"
    for path in sorted(cases_dir.rglob("*.sealed")) if cases_dir.is_dir() else []:
        rel = path.relative_to(cfg.data_dir).as_posix()
        _reseal_file(path, crypto.file_aad("data", rel))
        counts["files"] += 1
    export_dir = Path(cfg.export_dir)
    for path in sorted(export_dir.glob("*.pdf.sm4")) if export_dir.is_dir() else []:
        _reseal_file(path, crypto.file_aad("export", path.name))
        counts["exports"] += 1
    cache = Path(cfg.ocr_cache_dir)
    for path in sorted(cache.rglob("*.ocr")) if cache.is_dir() else []:
        key = path.stem.encode()
        try:
            _reseal_file(path, key, v1_aad=key)
            counts["ocr_cache"] += 1
        except (ValueError, crypto.KeyError_):  # a cache entry nobody can read is only a miss: drop it
            path.unlink(missing_ok=True)
            counts["ocr_cache_dropped"] += 1
    return counts


def rotate(db, actor: str) -> dict:
    """Re-seal everything under a new key id; returns counts (audited as ``key.rotate``)."""
    old = crypto.load_keyring()
    staged = old.with_new_key()
    crypto.write_keyring(staged, replace=True)  # old keys kept until everything is re-sealed
    audit.record(db, actor, "key.rotate_start", detail={"from_key": old.current, "to_key": staged.current})
    counts = reseal_files()
    counts["values"] = sealed.reseal_rows(db)
    crypto.write_keyring(staged.only_current(), replace=True)
    summary = {
        "from_key": old.current,
        "to_key": staged.current,
        "retired": sorted(set(old.keys) - {staged.current}),
        **counts,
    }
    audit.record(db, actor, "key.rotate", detail=summary)
    return summary


def backup(path: Path, passphrase: str, db=None, actor: str = "system") -> Path:
    """Write the keyring, encrypted under ``passphrase``, to ``path`` (mode 0600)."""
    ring = crypto.load_keyring()
    text = crypto.export_keyring(ring, passphrase)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise crypto.KeyError_(f"{path} 已存在，不会覆盖", f"{path} exists; not overwritten") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    if db is not None:
        audit.record(db, actor, "key.backup", detail={"key_id": ring.current, "root_id": ring.root_id})
    return path


def restore(path: Path, passphrase: str, *, force: bool = False) -> crypto.Keyring:
    """Put a backed-up keyring back at ``key_path()``.

    Refuses to replace an existing, different key file unless ``force``.
    """
    ring = crypto.import_keyring(Path(path).read_text(), passphrase)
    target = crypto.key_path()
    if target.exists():
        current = crypto.load_keyring(target)
        if current.root_id != ring.root_id and not force:
            raise crypto.KeyError_(
                f"{target} 已有另一把密钥；确认要替换请加 --force",
                f"{target} holds another key; add --force to replace it",
            )
    crypto.write_keyring(ring, target, replace=True)
    return ring
