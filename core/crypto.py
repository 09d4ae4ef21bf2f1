"""Encryption at rest (SM4-GCM) and digests (SM3, SHA-256).

The key lives in a file outside the database (``DEID_KEY_FILE``, default
``data/keys/storage.key``), created on first use with mode 0600.  Sealed
blobs are ``b"SM4G1" + nonce(12) + ciphertext + tag(16)``.  The cipher
comes from the ``cryptography`` package (OpenSSL); nothing is hand-rolled.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core.config import settings

MAGIC = b"SM4G1"


class KeyError_(Exception):
    pass


def key_path() -> Path:
    return Path(settings().key_file)


@lru_cache(maxsize=4)
def _load_key(path: str) -> bytes:
    p = Path(path)
    if not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(16).hex().encode())
    key = bytes.fromhex(p.read_text().strip())
    if len(key) != 16:
        raise ValueError("storage key file must hold 16 bytes as hex")
    return key


def storage_key() -> bytes:
    return _load_key(str(key_path()))


def seal(data: bytes, key: bytes | None = None, aad: bytes = b"") -> bytes:
    key = key or storage_key()
    nonce = os.urandom(12)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    if aad:
        enc.authenticate_additional_data(aad)
    ct = enc.update(data) + enc.finalize()
    return MAGIC + nonce + ct + enc.tag


def unseal(blob: bytes, key: bytes | None = None, aad: bytes = b"") -> bytes:
    if not blob.startswith(MAGIC):
        raise ValueError("not a sealed blob")
    key = key or storage_key()
    nonce, body = blob[5:17], blob[17:]
    ct, tag = body[:-16], body[-16:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    if aad:
        dec.authenticate_additional_data(aad)
    try:
        return dec.update(ct) + dec.finalize()
    except InvalidTag:
        raise ValueError("sealed blob failed authentication (wrong key or tampered)") from None


def seal_text(text: str) -> bytes:
    return seal(text.encode("utf-8"))


def unseal_text(blob: bytes) -> str:
    return unseal(blob).decode("utf-8")


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
