"""Check a released file against its manifest (what ``verify`` runs).

Valid only when all hold: the manifest's SM2 signature verifies with the
trusted public key; size, SHA-256 and SM3 of the file match the manifest;
the page count matches (when the file can be opened); the PAdES signature
is intact, covers the whole file and chains to the trusted certificate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

from core.crypto import sha256_hex, sm3_hex
from core.export import signing


@dataclass
class IntegrityReport:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    checks: dict = field(default_factory=dict)


def verify_export(
    pdf: bytes,
    manifest: dict,
    *,
    public_key_hex: str | None = None,
    password: str = "",
    paths: signing.KeyPaths | None = None,
) -> IntegrityReport:
    paths = paths or signing.key_paths()
    reasons: list[str] = []
    checks: dict = {}
    if public_key_hex is None:
        public_key_hex = paths.sm2_public.read_text().strip() if paths.sm2_public.exists() else ""
    if not public_key_hex:
        reasons.append("找不到受信 SM2 公钥 / trusted SM2 public key not found")
        checks["manifest_signature"] = False
    else:
        ok, why = signing.verify_manifest_signature(manifest, public_key_hex)
        checks["manifest_signature"] = ok
        if not ok:
            reasons.append(why)
    for key, actual in (("size", len(pdf)), ("sha256", sha256_hex(pdf)), ("sm3", sm3_hex(pdf))):
        checks[key] = manifest.get(key) == actual
        if not checks[key]:
            reasons.append(f"文件{key}与清单不符 / file {key} does not match the manifest")
    try:
        doc = pymupdf.open(stream=pdf, filetype="pdf")
        if doc.needs_pass and not doc.authenticate(password):
            checks["page_count"] = None  # cannot count without the password
        else:
            checks["page_count"] = doc.page_count == manifest.get("page_count")
            if not checks["page_count"]:
                reasons.append("页数与清单不符 / page count does not match the manifest")
        doc.close()
    except Exception:
        checks["page_count"] = False
        reasons.append("PDF 无法打开 / the PDF cannot be opened")
    if manifest.get("pades", True):
        if manifest.get("encrypted") and not password:
            checks["pades"] = False
            reasons.append("加密文件需提供密码才能校验 PDF 签名 / password needed to check the PDF signature")
        else:
            quiet = logging.getLogger("pyhanko")
            level = quiet.level
            quiet.setLevel(logging.CRITICAL)
            try:
                ok, why = signing.pades_verify(pdf, password, paths)
            finally:
                quiet.setLevel(level)
            checks["pades"] = ok
            if not ok:
                reasons.append(why)
    return IntegrityReport(ok=not reasons, reasons=reasons, checks=checks)


def verify_files(pdf_path: str | Path, manifest_path: str | Path, **kwargs) -> IntegrityReport:
    import json

    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    return verify_export(Path(pdf_path).read_bytes(), manifest, **kwargs)
