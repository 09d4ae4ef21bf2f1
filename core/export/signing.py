"""Integrity of what leaves the hospital.

- **Manifest** (case code, file name, size, SHA-256, SM3, page count,
  policy, time) signed with **SM2** (``gmssl``, SM3 digest).  Key pair in
  ``DEID_SM2_KEY`` / ``DEID_SM2_PUBLIC_KEY`` (default ``data/keys/sm2_*.hex``);
  a demo pair is generated on first use.
- **PAdES** signature of the PDF with **pyhanko** (``DEID_SIGN_CERT`` /
  ``DEID_SIGN_KEY``, PEM).  The signer identity travels inside every
  released file (certificate subject and issuer in the CMS, ``/Name`` of the
  signature dictionary), so by default (``DEID_PADES_SIGNER=neutral``) the
  certificate must name only a neutral service (CN such as 匿名化导出服务;
  no O=, OU=, address, e-mail, alternative names or URLs) and the signature
  dictionary says ``匿名化导出服务``.  ``institution`` signs with whatever
  certificate is configured (the PDF then names the institution);
  ``off`` signs only the manifest.
- **Demo keys**: missing keys are generated (a self-signed neutral
  certificate, an SM2 pair) only when ``DEID_DEMO=1`` (``make run`` on the
  demo archive).  Each generated file gets a ``.demo`` marker holding its
  digest; without ``DEID_DEMO`` an export refuses missing or demo keys.

Nothing here is hand-rolled cryptography: SM2 comes from gmssl, X.509/CMS
from cryptography/pyhanko.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.config import settings
from core.crypto import sha256_hex, sm3_hex
from core.errors import DeidError

MANIFEST_FORMAT = "deid-export-manifest/1"
NEUTRAL_SIGNER = "匿名化导出服务"
DEMO_CERT_NAME = NEUTRAL_SIGNER + "（演示证书）"
PADES_SIGNERS = ("neutral", "institution", "off")


class SigningNotConfigured(DeidError):
    """Export keys missing, demo keys outside demo mode, or a certificate that names the institution."""

    exit_code = 6


def demo_mode() -> bool:
    """``DEID_DEMO=1``: this installation runs on demo data and may generate demo keys."""
    return os.environ.get("DEID_DEMO", "").strip().lower() in ("1", "true", "yes", "on")


def pades_signer(choice: str = "") -> str:
    """neutral (default) | institution | off — from the export option or ``DEID_PADES_SIGNER``."""
    value = (choice or os.environ.get("DEID_PADES_SIGNER", "") or "neutral").strip().lower()
    if value not in PADES_SIGNERS:
        raise SigningNotConfigured(
            f"DEID_PADES_SIGNER 只能是 {'、'.join(PADES_SIGNERS)}",
            f"DEID_PADES_SIGNER must be one of {', '.join(PADES_SIGNERS)}",
        )
    return value


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
    """gmssl's SM2 context. The public key is set after construction: the constructor drops a "04"
    point prefix with ``lstrip("04")``, which also eats the leading 0 and 4 digits of a bare x‖y key
    that happens to start with them (about 1 key in 256), so signing or verifying would then fail."""
    from gmssl import sm2

    context = sm2.CryptSM2(private_key=private_hex or None, public_key="")
    context.public_key = public_hex
    return context


def generate_sm2_private() -> str:
    """A new SM2 private key (hex); its public key is :func:`sm2_public_key`."""
    from gmssl import sm2

    n = int(sm2.default_ecc_table["n"], 16)
    return f"{secrets.randbelow(n - 2) + 1:064x}"


def generate_sm2_keypair() -> tuple[str, str]:
    private_hex = generate_sm2_private()
    return private_hex, sm2_public_key(private_hex)


def _demo_marker(path: Path) -> Path:
    return path.with_name(path.name + ".demo")


def _mark_demo(path: Path) -> None:
    _demo_marker(path).write_text(sha256_hex(path.read_bytes()) + "\n")


def is_demo_key(path: Path) -> bool:
    """True when ``path`` is still the file generated for the demo (a replaced file is not)."""
    marker = _demo_marker(path)
    return path.exists() and marker.exists() and marker.read_text().strip() == sha256_hex(path.read_bytes())


def _refuse_missing(what: str, variables: str) -> None:
    raise SigningNotConfigured(
        f"未配置导出签名密钥（{what}）：请按 README「密钥与证书」配置 {variables}；"
        "演示环境（make run）可设置 DEID_DEMO=1 自动生成演示密钥",
        f"export signing key not configured ({what}): set {variables}; demo installations may set DEID_DEMO=1",
    )


def _refuse_demo(what: str, variables: str) -> None:
    raise SigningNotConfigured(
        f"当前的{what}是自动生成的演示密钥，正式环境不能用于导出：请配置本院的 {variables}",
        f"the {what} is a generated demo key; configure {variables} before exporting",
    )


def ensure_sm2_keys(paths: KeyPaths | None = None) -> tuple[str, str]:
    """(private_hex, public_hex); generates a demo pair when none exists (demo mode only).

    The public key is always the one of the private key on disk: a demo key created by two exports at
    once ends up as one private file (the first to land wins), and a public file that does not match is
    rewritten for a demo key, refused for a configured one (a manifest would otherwise carry a signature
    no one can verify)."""
    paths = paths or key_paths()
    what, variables = "SM2 清单签名密钥", "DEID_SM2_KEY / DEID_SM2_PUBLIC_KEY"
    if not paths.sm2_private.exists():
        if not demo_mode():
            _refuse_missing(what, variables)
        if _create_once(paths.sm2_private, generate_sm2_private().encode()):
            _mark_demo(paths.sm2_private)
    elif is_demo_key(paths.sm2_private) and not demo_mode():
        _refuse_demo(what, variables)
    private_hex = paths.sm2_private.read_text().strip()
    public_hex = sm2_public_key(private_hex)
    stored = paths.sm2_public.read_text().strip() if paths.sm2_public.exists() else ""
    if stored != public_hex:
        if stored and not is_demo_key(paths.sm2_private):
            raise SigningNotConfigured(
                f"{what}的公钥与私钥不匹配：请检查 {variables}",
                f"the SM2 public key does not belong to the private key; check {variables}",
            )
        paths.sm2_public.parent.mkdir(parents=True, exist_ok=True)
        _replace_file(paths.sm2_public, public_hex.encode())
    return private_hex, public_hex


def sm2_public_key(private_hex: str) -> str:
    """The public key (x‖y, hex) of an SM2 private key."""
    from gmssl import sm2

    return _sm2(private_hex, "0" * 128)._kg(int(private_hex, 16), sm2.default_ecc_table["g"])


def _create_once(path: Path, data: bytes) -> bool:
    """Write ``path`` (mode 0600) only if it does not exist yet, whole or not at all; False when another
    writer got there first (its file is kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # atomic: fails when the file exists
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


def _replace_file(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


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


def build_manifest(
    pdf: bytes,
    *,
    case_code: str,
    file_name: str,
    page_count: int,
    policy: str,
    style: str,
    encrypted: bool,
    pades: bool,
    created_at: str | None = None,
) -> dict:
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
def generate_demo_certificate(paths: KeyPaths | None = None, common_name: str = DEMO_CERT_NAME) -> None:
    """A self-signed certificate naming only a neutral service (CN only: no O=, no address)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    paths = paths or key_paths()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
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
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CODE_SIGNING]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    _write_private(
        paths.cert_key,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure_certificate(paths: KeyPaths | None = None) -> KeyPaths:
    """The PAdES certificate and key; a neutral self-signed demo pair is generated in demo mode only."""
    paths = paths or key_paths()
    what, variables = "PAdES 签名证书", "DEID_SIGN_CERT / DEID_SIGN_KEY"
    if demo_mode() and _legacy_demo_certificate(paths.cert):
        paths.cert.unlink()  # the old demo certificate named an organisation: replaced by a neutral one
    if not (paths.cert.exists() and paths.cert_key.exists()):
        if not demo_mode():
            _refuse_missing(what, variables)
        generate_demo_certificate(paths)
        _mark_demo(paths.cert)
    elif is_demo_key(paths.cert) and not demo_mode():
        _refuse_demo(what, variables)
    return paths


LEGACY_DEMO_ORGANISATION = "Demo Hospital Records Office"  # demo certificates before issue 12


def _legacy_demo_certificate(path: Path) -> bool:
    if not path.exists() or _demo_marker(path).exists():
        return False
    from cryptography.x509.oid import NameOID

    try:
        orgs = load_certificate(path).subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    except ValueError:
        return False
    return [a.value for a in orgs] == [LEGACY_DEMO_ORGANISATION]


def uses_demo_keys(paths: KeyPaths | None = None, *, pades: bool = True, manifest: bool = True) -> bool:
    paths = paths or key_paths()
    return (pades and is_demo_key(paths.cert)) or (manifest and is_demo_key(paths.sm2_private))


def key_status(paths: KeyPaths | None = None) -> dict:
    """For the export page: demo mode, whether the keys are missing/demo/configured, the PAdES signer choice."""
    paths = paths or key_paths()

    def state(path: Path, *others: Path) -> str:
        if not (path.exists() and all(o.exists() for o in others)):
            return "missing"
        return "demo" if is_demo_key(path) else "configured"

    sm2, cert = state(paths.sm2_private), state(paths.cert, paths.cert_key)
    try:
        signer = pades_signer()
    except SigningNotConfigured:
        signer = "invalid"
    return {
        "demo_mode": demo_mode(),
        "sm2": sm2,
        "cert": cert,
        "signer": signer,
        "ready": demo_mode() or (sm2 == "configured" and (cert == "configured" or signer == "off")),
    }


# X.509 parts that may carry an organisation, an address or a host name
_NEUTRAL_NAME_ATTRS = ("commonName", "countryName")
_NAME_BEARING_EXTENSIONS = (
    "subjectAltName",
    "issuerAltName",
    "authorityInfoAccess",
    "subjectInfoAccess",
    "cRLDistributionPoints",
    "freshestCRL",
    "certificatePolicies",
)


def load_certificate(path_or_bytes):
    from cryptography import x509

    data = (
        Path(path_or_bytes).read_bytes() if isinstance(path_or_bytes, (str, Path)) else bytes(path_or_bytes)
    )
    return (
        x509.load_pem_x509_certificate(data)
        if b"-----BEGIN" in data
        else x509.load_der_x509_certificate(data)
    )


def identity_problems(cert, institution_names=()) -> list[str]:
    """Why ``cert`` does not name a neutral signer (empty list: it does).

    Subject and issuer may hold only CN (and C); no extension that carries
    names or addresses; the CN must not contain any of ``institution_names``.
    Reasons name attribute types only, never values.
    """
    from cryptography.x509.oid import NameOID

    problems = []
    for label, name in (("主体", cert.subject), ("签发者", cert.issuer)):
        extra = sorted({a.oid._name for a in name if a.oid._name not in _NEUTRAL_NAME_ATTRS})
        if extra:
            problems.append(f"证书{label}含 {', '.join(extra)}")
        cns = [str(a.value) for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)]
        if any(n and len(n) >= 2 and n in cn for cn in cns for n in institution_names):
            problems.append(f"证书{label} CN 含机构名称")
    for ext in cert.extensions:
        if ext.oid._name in _NAME_BEARING_EXTENSIONS:
            problems.append(f"证书含扩展 {ext.oid._name}")
    return problems


def assert_neutral_certificate(paths: KeyPaths | None = None, institution_names=()) -> None:
    paths = paths or key_paths()
    problems = identity_problems(load_certificate(paths.cert), institution_names)
    if problems:
        raise SigningNotConfigured(
            "PAdES 签名证书会在每份匿名化 PDF 中写明机构（"
            + "；".join(problems)
            + "）。默认使用中立签名身份："
            "请配置只含 CN（如「匿名化导出服务」）的导出服务证书，或设置 DEID_PADES_SIGNER=off（只签名清单）"
            "或 DEID_PADES_SIGNER=institution（PDF 显示机构）",
            "the PAdES certificate names the institution in every export; configure a neutral service certificate "
            "or set DEID_PADES_SIGNER=off|institution",
        )


def pades_sign(
    pdf: bytes, password: str = "", paths: KeyPaths | None = None, signer: str = "neutral"
) -> bytes:
    """Sign ``pdf`` (PAdES baseline B, invisible signature field).

    ``signer="neutral"``: the signature dictionary names the neutral service
    (``/Name``), no location or contact (the caller checked the certificate
    with :func:`assert_neutral_certificate`)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    paths = ensure_certificate(paths)
    signer_obj = signers.SimpleSigner.load(str(paths.cert_key), str(paths.cert))
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    if password:
        writer.encrypt(password)
    meta = signers.PdfSignatureMetadata(
        field_name="ExportSignature",
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason="匿名化副本导出 / de-identified export",
        name=NEUTRAL_SIGNER if signer == "neutral" else None,
    )
    out = signers.sign_pdf(writer, meta, signer=signer_obj)
    return out.getvalue()


def embedded_certificates(pdf: bytes, password: str = "") -> list:
    """The certificates inside the PDF's signatures' CMS blobs (``cryptography`` objects)."""
    from cryptography import x509
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    if reader.encrypted:
        reader.decrypt(password)
    return [
        x509.load_der_x509_certificate(c.chosen.dump())
        for sig in reader.embedded_signatures
        for c in sig.signed_data["certificates"]
    ]


def assert_signed_neutrally(pdf: bytes, password: str = "", institution_names=()) -> None:
    """After signing: every certificate the file now carries names only a neutral signer."""
    problems = [
        p for cert in embedded_certificates(pdf, password) for p in identity_problems(cert, institution_names)
    ]
    if problems:
        raise SigningNotConfigured(
            "签名后的 PDF 中的证书含机构信息（" + "；".join(sorted(set(problems))) + "），已阻止导出",
            "the signed PDF carries a certificate naming the institution; blocked",
        )


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
