"""Integrity of what leaves the hospital.

- **Manifest** (case code, file name, size, SHA-256, SM3, page count,
  policy, time) signed with **SM2** (``gmssl``, SM3 digest).  Key pair in
  ``DEID_SM2_KEY`` / ``DEID_SM2_PUBLIC_KEY`` (default ``data/keys/sm2_*.hex``);
  a demo pair is generated on first use.
- **PAdES** signature of the PDF with **pyhanko** using the hospital's
  certificate (``DEID_SIGN_CERT`` / ``DEID_SIGN_KEY``, PEM); for the demo
  a self-signed certificate is generated with ``cryptography``.

Nothing here is hand-rolled cryptography: SM2 comes from gmssl, X.509/CMS
from cryptography/pyhanko.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from core.config import settings
from core.crypto import sha256_hex, sm3_hex

MANIFEST_FORMAT = "deid-export-manifest/1"


# ------------------------------------------------------------------ paths
@dataclass(frozen=True)
class KeyPaths:
    sm2_private: Path
    sm2_public: Path
    cert: Path
    cert_key: Path


def key_paths() -> KeyPaths:
    keys = settings().data_dir / "keys"
    env = os.environ.get
    return KeyPaths(
        sm2_private=Path(env("DEID_SM2_KEY", str(keys / "sm2_private.hex"))),
        sm2_public=Path(env("DEID_SM2_PUBLIC_KEY", str(keys / "sm2_public.hex"))),
        cert=Path(env("DEID_SIGN_CERT", str(keys / "signing_cert.pem"))),
        cert_key=Path(env("DEID_SIGN_KEY", str(keys / "signing_key.pem"))),
    )


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


# -------------------------------------------------------------------- SM2
def _sm2(private_hex: str = "", public_hex: str = ""):
    from gmssl import sm2

    return sm2.CryptSM2(private_key=private_hex or None, public_key=public_hex)


def generate_sm2_keypair() -> tuple[str, str]:
    from gmssl import sm2

    n = int(sm2.default_ecc_table["n"], 16)
    d = secrets.randbelow(n - 2) + 1
    private_hex = f"{d:064x}"
    public_hex = _sm2(private_hex, "0" * 128)._kg(d, sm2.default_ecc_table["g"])
    return private_hex, public_hex


def ensure_sm2_keys(paths: KeyPaths | None = None) -> tuple[str, str]:
    """(private_hex, public_hex); generates a demo pair when none exists."""
    paths = paths or key_paths()
    if not paths.sm2_private.exists():
        private_hex, public_hex = generate_sm2_keypair()
        _write_private(paths.sm2_private, private_hex.encode())
        paths.sm2_public.parent.mkdir(parents=True, exist_ok=True)
        paths.sm2_public.write_text(public_hex)
    private_hex = paths.sm2_private.read_text().strip()
    if not paths.sm2_public.exists():
        from gmssl import sm2

        paths.sm2_public.write_text(_sm2(private_hex, "0" * 128)._kg(int(private_hex, 16), sm2.default_ecc_table["g"]))
    return private_hex, paths.sm2_public.read_text().strip()


def sm2_sign(data: bytes, private_hex: str, public_hex: str) -> str:
    return _sm2(private_hex, public_hex).sign_with_sm3(data, secrets.token_hex(32))


def sm2_verify(data: bytes, signature_hex: str, public_hex: str) -> bool:
    try:
        return bool(_sm2("", public_hex).verify_with_sm3(signature_hex, data))
    except Exception:
        return False


# --------------------------------------------------------------- manifest
def canonical(manifest: dict) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def build_manifest(pdf: bytes, *, case_code: str, file_name: str, page_count: int, policy: str, style: str,
                   encrypted: bool, pades: bool, created_at: str | None = None) -> dict:
    return {
        "format": MANIFEST_FORMAT,
        "case_code": case_code,
        "file_name": file_name,
        "size": len(pdf),
        "sha256": sha256_hex(pdf),
        "sm3": sm3_hex(pdf),
        "page_count": page_count,
        "policy": policy,
        "style": style,
        "encrypted": encrypted,
        "pades": pades,
        "created_at": created_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def sign_manifest(manifest: dict, paths: KeyPaths | None = None) -> dict:
    private_hex, public_hex = ensure_sm2_keys(paths)
    signed = dict(manifest)
    signed["signature"] = {
        "algorithm": "SM2-SM3",
        "public_key_sm3": sm3_hex(bytes.fromhex(public_hex)),
        "value": sm2_sign(canonical(manifest), private_hex, public_hex),
    }
    return signed


def verify_manifest_signature(manifest: dict, public_hex: str) -> tuple[bool, str]:
    sig = manifest.get("signature") or {}
    if sig.get("algorithm") != "SM2-SM3" or not sig.get("value"):
        return False, "清单没有 SM2 签名 / manifest has no SM2 signature"
    if sig.get("public_key_sm3") != sm3_hex(bytes.fromhex(public_hex)):
        return False, "清单签名公钥与受信公钥不符 / manifest was signed with another key"
    if not sm2_verify(canonical(manifest), sig["value"], public_hex):
        return False, "清单 SM2 签名无效 / manifest SM2 signature is invalid"
    return True, ""


# ------------------------------------------------------------------ PAdES
def generate_demo_certificate(paths: KeyPaths | None = None, common_name: str = "病案室导出签名（演示证书）") -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    paths = paths or key_paths()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Demo Hospital Records Office"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(paths.cert_key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure_certificate(paths: KeyPaths | None = None) -> KeyPaths:
    paths = paths or key_paths()
    if not (paths.cert.exists() and paths.cert_key.exists()):
        generate_demo_certificate(paths)
    return paths


def pades_sign(pdf: bytes, password: str = "", paths: KeyPaths | None = None) -> bytes:
    """Sign ``pdf`` (PAdES baseline B, invisible signature field)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    paths = ensure_certificate(paths)
    signer = signers.SimpleSigner.load(str(paths.cert_key), str(paths.cert))
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    if password:
        writer.encrypt(password)
    meta = signers.PdfSignatureMetadata(
        field_name="ExportSignature",
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason="匿名化副本导出 / de-identified export",
    )
    out = signers.sign_pdf(writer, meta, signer=signer)
    return out.getvalue()


def pades_verify(pdf: bytes, password: str = "", paths: KeyPaths | None = None) -> tuple[bool, str]:
    """(ok, reason): one signature, intact, covering the whole file, by a
    certificate that chains to the configured hospital certificate."""
    from asn1crypto import pem, x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    paths = paths or key_paths()
    if not paths.cert.exists():
        return False, "找不到受信签名证书 / trusted signing certificate not found"
    der = paths.cert.read_bytes()
    if pem.detect(der):
        _, _, der = pem.unarmor(der)
    trust = asn1_x509.Certificate.load(der)
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        if reader.encrypted:
            reader.decrypt(password)
        sigs = reader.embedded_signatures
    except Exception as exc:  # corrupt or wrong password
        return False, f"无法读取 PDF 签名 / cannot read PDF signatures ({type(exc).__name__})"
    if len(sigs) != 1:
        return False, f"PDF 应有 1 个签名，实际 {len(sigs)} 个 / expected one signature, found {len(sigs)}"
    try:
        status = validate_pdf_signature(sigs[0], ValidationContext(trust_roots=[trust], allow_fetching=False))
    except Exception as exc:
        return False, f"PDF 签名校验失败 / PDF signature check failed ({type(exc).__name__})"
    if not status.intact or not status.valid:
        return False, "PDF 签名与内容不符（文件被修改） / PDF signature does not match the content"
    if not status.trusted:
        return False, "PDF 签名证书不受信 / PDF signed by an untrusted certificate"
    if status.coverage is None or status.coverage.name not in ("ENTIRE_FILE",):
        return False, "PDF 签名之后有追加修改 / the file was changed after signing"
    return True, ""
