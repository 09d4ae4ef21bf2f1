"""Encryption at rest (SM4-GCM), the storage keyring, and digests (SM3, SHA-256).

Key file (``DEID_KEY_FILE``, default ``~/.config/deid/storage.key``, i.e.
``$XDG_CONFIG_HOME/deid/storage.key``: outside the data folder, so a backup
of the data does not carry its key).  Mode 0600, folder 0700.  It holds a
*keyring* (JSON)::

    {"format": "deid-keyring/1", "root": hex, "current": kid, "keys": {kid: hex}, "legacy": kid | null}

- ``root``: the installation's stable key for keyed digests (audit MACs,
  fingerprints, patient-code lookup, date offsets).  It never rotates, so
  those stay comparable; ``storage_key()`` returns it.
- ``keys``: SM4 data keys by key id (``kid`` = 4 bytes of SHA-256 of the
  key, hex).  ``current`` seals new blobs; older ones stay until
  ``key rotate`` has re-sealed everything under the new id.
- A file written before keyrings existed (32 hex characters) is read as a
  keyring whose root and only data key are that key (``legacy``: blobs of the
  first format, which carry no key id, are opened with it).

Sealed blobs, current format: ``b"SM4G2" + kid(4) + nonce(12) + ciphertext + tag(16)``
with the header and the caller's context (``aad``: table, row id, column — or
the file's relative path) as GCM associated data, so a blob copied into
another row or file fails authentication.  Old blobs ``b"SM4G1" + nonce +
ciphertext + tag`` (no key id, no row binding) are still read with the
legacy key until ``key rotate`` has replaced them.

A missing key file is created only when the store holds no data
(``core.store.keybind.ensure_key_for_store``, called by ``core.store.db.open_db``); otherwise
``KeyMissing`` stops the process — a new key would silently orphan every
sealed working copy, finding, export and patient code.  The ciphers come
from the ``cryptography`` package (OpenSSL); nothing is hand-rolled.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from core.config import settings
from core.errors import DeidError

MAGIC_V1 = b"SM4G1"
MAGIC = b"SM4G2"
KID_BYTES = 4
NONCE_BYTES = 12
TAG_BYTES = 16
KEYRING_FORMAT = "deid-keyring/1"
BACKUP_FORMAT = "deid-key-backup/1"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class KeyError_(DeidError):
    """A key problem that must stop the process (exit 2)."""

    exit_code = 2

    def __init__(self, message_zh: str = "存储密钥错误", message_en: str = "storage key error"):
        super().__init__(message_zh, message_en)


class KeyMissing(KeyError_):
    def __init__(self, path: Path, old: Path | None = None):
        zh = (
            f"找不到存储密钥文件 {path}，而数据库中已有加密数据：不会自动生成新密钥。"
            f"请设置 DEID_KEY_FILE 指向原密钥，或用 python -m core.cli key restore 从备份恢复。"
        )
        en = (
            f"storage key file {path} not found but the store holds sealed data: no new key is created. "
            f"Point DEID_KEY_FILE at the store's key or run 'python -m core.cli key restore BACKUP'."
        )
        if old is not None:
            zh += f"（在旧的默认位置找到 {old}：请移到数据目录之外的 {path}，或设置 DEID_KEY_FILE）"
            en += f" (found {old}: move it to {path}, outside the data folder, or set DEID_KEY_FILE)"
        super().__init__(zh, en)


class KeyMismatch(KeyError_):
    def __init__(self, path: Path):
        super().__init__(
            f"密钥文件 {path} 不是本数据库的密钥（检查 DEID_KEY_FILE）",
            f"key file {path} is not this store's key (check DEID_KEY_FILE)",
        )


class UnknownKeyId(KeyError_):
    def __init__(self, kid: str):
        super().__init__(
            f"数据由密钥 {kid} 加密，但密钥文件中没有该密钥（轮换未完成或密钥文件不对）",
            f"data sealed under key id {kid}, which the key file does not hold",
        )


# ------------------------------------------------------------------ keyring


def key_path() -> Path:
    return Path(settings().key_file)


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"deid-kid|" + key).digest()[:KID_BYTES].hex()


@dataclass
class Keyring:
    root: bytes
    current: str
    keys: dict[str, bytes] = field(default_factory=dict)
    legacy: str | None = None

    @property
    def root_id(self) -> str:
        return hashlib.sha256(b"deid-root-id|" + self.root).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": KEYRING_FORMAT,
                "root": self.root.hex(),
                "current": self.current,
                "keys": {k: v.hex() for k, v in self.keys.items()},
                "legacy": self.legacy,
            },
            indent=1,
        )

    @classmethod
    def parse(cls, text: str) -> "Keyring":
        text = text.strip()
        if not text.startswith("{"):  # a key file of the first format: one SM4 key as hex
            key = bytes.fromhex(text)
            if len(key) != 16:
                raise KeyError_("密钥文件格式错误", "storage key file must hold 16 bytes as hex or a keyring")
            kid = key_id(key)
            return cls(root=key, current=kid, keys={kid: key}, legacy=kid)
        data = json.loads(text)
        if data.get("format") != KEYRING_FORMAT:
            raise KeyError_("密钥文件格式未知", "unknown key file format")
        keys = {k: bytes.fromhex(v) for k, v in data["keys"].items()}
        if data["current"] not in keys or any(key_id(v) != k for k, v in keys.items()):
            raise KeyError_("密钥文件已损坏", "key file is damaged (key ids do not match)")
        return cls(
            root=bytes.fromhex(data["root"]), current=data["current"], keys=keys, legacy=data.get("legacy")
        )

    @classmethod
    def generate(cls) -> "Keyring":
        key = os.urandom(16)
        return cls(root=os.urandom(32), current=key_id(key), keys={key_id(key): key})

    def with_new_key(self) -> "Keyring":
        key = os.urandom(16)
        return Keyring(self.root, key_id(key), {**self.keys, key_id(key): key}, self.legacy)

    def only_current(self) -> "Keyring":
        return Keyring(self.root, self.current, {self.current: self.keys[self.current]}, None)


def write_keyring(ring: Keyring, path: Path | None = None, *, replace: bool = False) -> Path:
    """Write the keyring with mode 0600 (folder 0700), atomically.

    ``replace=False`` never overwrites an existing file (two processes starting
    at once: the second one reads the first one's key).
    """
    path = Path(path or key_path())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(ring.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    try:
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
    finally:
        if tmp.exists():
            tmp.unlink()
    _read_keyring.cache_clear()
    return path


@lru_cache(maxsize=8)
def _read_keyring(path: str, mtime_ns: int, size: int) -> Keyring:
    return Keyring.parse(Path(path).read_text())


def load_keyring(path: Path | None = None) -> Keyring:
    """The keyring at ``path`` (default ``key_path()``); raises ``KeyMissing`` when absent."""
    p = Path(path or key_path())
    try:
        st = p.stat()
    except FileNotFoundError:
        raise KeyMissing(p, old_default_hint(p)) from None
    return _read_keyring(str(p), st.st_mtime_ns, st.st_size)


def keyring() -> Keyring:
    """The process's keyring; created on first use only when the configured store holds no data."""
    p = key_path()
    if not p.exists():
        from core.store.probe import store_has_data

        if store_has_data(settings().db_path):
            raise KeyMissing(p, old_default_hint(p))
        write_keyring(Keyring.generate(), p)
    return load_keyring(p)


def old_default_hint(path: Path) -> Path | None:
    """A key file left at the old default place inside the data folder, if any."""
    old = settings().data_dir / "keys" / "storage.key"
    if old.exists() and old.resolve() != Path(path).resolve():
        return old
    return None


def storage_key() -> bytes:
    """The installation's stable root key (keyed digests: audit MACs, fingerprints, codes)."""
    return keyring().root


# ------------------------------------------------------------------ sealing


def _sm4(key: bytes, nonce: bytes, tag: bytes | None = None):
    mode = modes.GCM(nonce, tag) if tag is not None else modes.GCM(nonce)
    cipher = Cipher(algorithms.SM4(key), mode)
    return cipher.decryptor() if tag is not None else cipher.encryptor()


def seal(data: bytes, key: bytes | None = None, aad: bytes = b"") -> bytes:
    """SM4-GCM under the current key (or ``key``); ``aad`` binds the blob to its place."""
    if key is None:
        ring = keyring()
        kid, key = ring.current, ring.keys[ring.current]
    else:
        kid = key_id(key)
    header = MAGIC + bytes.fromhex(kid)
    nonce = os.urandom(NONCE_BYTES)
    enc = _sm4(key, nonce)
    enc.authenticate_additional_data(header + aad)
    ct = enc.update(data) + enc.finalize()
    return header + nonce + ct + enc.tag


def blob_key_id(blob: bytes) -> str | None:
    """Key id of a sealed blob (None for a first-format blob)."""
    if blob.startswith(MAGIC):
        return _kid(blob)
    return None


def _kid(blob: bytes) -> str:
    """Key id of a current-format blob (one that starts with ``MAGIC``)."""
    return blob[len(MAGIC) : len(MAGIC) + KID_BYTES].hex()


def is_sealed(value) -> bool:
    return isinstance(value, (bytes, bytearray)) and (bytes(value[:5]) in (MAGIC, MAGIC_V1))


def unseal(
    blob: bytes, key: bytes | None = None, aad: bytes = b"", v1_aad: bytes = b"", ring: Keyring | None = None
) -> bytes:
    """Open a sealed blob.  ``aad`` must be what it was sealed with; a
    first-format blob (no key id, no row binding) is opened with the legacy
    key and ``v1_aad`` (what that format used: nothing, or the OCR cache key)."""
    blob = bytes(blob)
    if blob.startswith(MAGIC):
        kid = _kid(blob)
        if key is None:
            ring = ring or keyring()
            if kid not in ring.keys:
                raise UnknownKeyId(kid)
            key = ring.keys[kid]
        head = len(MAGIC) + KID_BYTES
        header, nonce, body = blob[:head], blob[head : head + NONCE_BYTES], blob[head + NONCE_BYTES :]
        full_aad = header + aad
    elif blob.startswith(MAGIC_V1):
        if key is None:
            ring = ring or keyring()
            if not ring.legacy or ring.legacy not in ring.keys:
                raise UnknownKeyId("legacy")
            key = ring.keys[ring.legacy]
        nonce, body, full_aad = blob[5:17], blob[17:], v1_aad
    else:
        raise ValueError("not a sealed blob")
    if len(body) < TAG_BYTES:
        raise ValueError("sealed blob is truncated")
    ct, tag = body[:-TAG_BYTES], body[-TAG_BYTES:]
    dec = _sm4(key, nonce, tag)
    if full_aad:
        dec.authenticate_additional_data(full_aad)
    try:
        return dec.update(ct) + dec.finalize()
    except InvalidTag:
        raise ValueError("sealed blob failed authentication (wrong key, wrong place or tampered)") from None


def seal_text(text: str, aad: bytes = b"") -> bytes:
    return seal(text.encode("utf-8"), aad=aad)


def unseal_text(blob: bytes, aad: bytes = b"") -> str:
    return unseal(blob, aad=aad).decode("utf-8")


def row_aad(table: str, row_id, column: str) -> bytes:
    """Associated data that binds a sealed value to its table, row and column."""
    return f"row|{table}|{row_id}|{column}".encode("utf-8")


def file_aad(kind: str, rel: str) -> bytes:
    """Associated data that binds a sealed file to its place (``kind``: data, export)."""
    return f"file|{kind}|{rel}".encode("utf-8")


# ------------------------------------------------------------------ backup under a passphrase


def _backup_key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def export_keyring(ring: Keyring, passphrase: str) -> str:
    """The keyring encrypted under a passphrase: scrypt (RFC 7914) + AES-256-GCM, JSON."""
    if len(passphrase) < 12:
        raise KeyError_("备份口令至少 12 个字符", "the backup passphrase needs at least 12 characters")
    salt, nonce = os.urandom(16), os.urandom(12)
    header = {
        "format": BACKUP_FORMAT,
        "kdf": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": base64.b64encode(salt).decode(),
        "cipher": "AES-256-GCM",
        "nonce": base64.b64encode(nonce).decode(),
        "root_id": ring.root_id,
    }
    aad = json.dumps(header, sort_keys=True).encode()
    ct = AESGCM(_backup_key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(
        nonce, ring.to_json().encode(), aad
    )
    return json.dumps({**header, "ciphertext": base64.b64encode(ct).decode()}, indent=1)


def import_keyring(text: str, passphrase: str) -> Keyring:
    data = json.loads(text)
    if data.get("format") != BACKUP_FORMAT or data.get("kdf") != "scrypt":
        raise KeyError_("不是密钥备份文件", "not a key backup file")
    header = {k: v for k, v in data.items() if k != "ciphertext"}
    aad = json.dumps(header, sort_keys=True).encode()
    key = _backup_key(
        passphrase, base64.b64decode(data["salt"]), int(data["n"]), int(data["r"]), int(data["p"])
    )
    try:
        plain = AESGCM(key).decrypt(
            base64.b64decode(data["nonce"]), base64.b64decode(data["ciphertext"]), aad
        )
    except InvalidTag:
        raise KeyError_("备份口令错误或备份文件已损坏", "wrong passphrase or damaged backup") from None
    return Keyring.parse(plain.decode("utf-8"))


# ------------------------------------------------------------------ digests


def sm3_hex(data: bytes) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sm3_file(path: str | Path) -> str:
    h = hashes.Hash(hashes.SM3())
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.finalize().hex()


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
