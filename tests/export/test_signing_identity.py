"""Who the export's signature names, and demo keys (issue 12).

The PAdES signature travels inside every released PDF: the certificate in
the CMS blob and the signature dictionary must not name the treating
institution.  Missing keys are generated only in demo mode, and the export
says so; elsewhere the export refuses until keys are configured.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pymupdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from core.export import signing
from core.export.integrity import verify_export
from core.export.options import ExportOptions
from core.export.pipeline import export_case
from core.export.signing import SigningNotConfigured
from tests.export import helpers

HOSPITAL = helpers.HOSPITAL  # 南京市妇幼保健院: on the pages, in the archive record
NAMES = [HOSPITAL, helpers.OTHER_HOSPITAL, "南京市", "妇幼保健院"]


# ---- reading a released file as a committee would ------------------------------------


def _signature_dictionaries(pdf: bytes) -> list[dict]:
    """Every /Sig dictionary: its keys as text and its /Contents (the CMS blob) as bytes."""
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    out = []
    for xref in range(1, doc.xref_length()):
        try:
            if doc.xref_get_key(xref, "Type") != ("name", "/Sig"):
                continue
        except Exception:  # a free entry of the xref table
            continue
        entry = {"object": doc.xref_object(xref, compressed=False)}
        for key in ("Name", "Reason", "Location", "ContactInfo"):
            entry[key] = doc.xref_get_key(xref, key)[1]
        # the raw /Contents hex string is the gap the /ByteRange leaves out of the signed bytes
        start, length, resume, _ = (
            int(v) for v in doc.xref_get_key(xref, "ByteRange")[1].strip("[]").split()
        )
        entry["cms"] = _der(bytes.fromhex(pdf[start + length : resume].strip(b"<>").decode("ascii")))
        out.append(entry)
    return out


def _der(padded: bytes) -> bytes:
    """The CMS DER without the zero padding of the reserved /Contents space."""
    first = padded[1]
    if first < 0x80:
        return padded[: 2 + first]
    n = first & 0x7F
    return padded[: 2 + n + int.from_bytes(padded[2 : 2 + n], "big")]


def _names_in(cert: x509.Certificate) -> list[str]:
    return [a.rfc4514_string() for a in cert.subject] + [a.rfc4514_string() for a in cert.issuer]


def _assert_no_institution(pdf: bytes) -> list[x509.Certificate]:
    for name in NAMES:
        for enc in ("utf-8", "utf-16-be", "gb18030"):
            assert name.encode(enc) not in pdf, (name, enc)
    certs = []
    for sig in _signature_dictionaries(pdf):
        for name in NAMES:
            for enc in ("utf-8", "utf-16-be"):
                assert name.encode(enc) not in sig["cms"]
            assert all(
                name not in str(sig[k]) for k in ("Name", "Reason", "Location", "ContactInfo", "object")
            )
        for cert in pkcs7.load_der_pkcs7_certificates(sig["cms"]):
            assert all(name not in " ".join(_names_in(cert)) for name in NAMES)
            certs.append(cert)
    return certs


def _export(**options) -> object:
    return export_case(helpers.case_documents(), helpers.META, ExportOptions(verify_ocr="none", **options))


# ---- certificates a hospital might configure -------------------------------------------


def _write_cert(paths: signing.KeyPaths, attributes: list[tuple]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    paths.cert.parent.mkdir(parents=True, exist_ok=True)
    paths.cert_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


HOSPITAL_CERT = [
    (NameOID.COUNTRY_NAME, "CN"),
    (NameOID.LOCALITY_NAME, "南京市"),
    (NameOID.ORGANIZATION_NAME, HOSPITAL),
    (NameOID.COMMON_NAME, f"{HOSPITAL}病案室"),
]


def _configure_production_keys(paths: signing.KeyPaths, cert_attributes) -> None:
    """What a hospital does: its own certificate and SM2 pair (no demo markers)."""
    _write_cert(paths, cert_attributes)
    private_hex, public_hex = signing.generate_sm2_keypair()
    paths.sm2_private.write_text(private_hex)
    paths.sm2_public.write_text(public_hex)


# ---- the signer identity ------------------------------------------------------------------


def test_default_export_is_signed_by_a_neutral_identity_that_names_no_institution():
    result = _export()
    certs = _assert_no_institution(result.pdf)
    assert len(certs) == 1
    subject = certs[0].subject
    assert [a.oid for a in subject] == [NameOID.COMMON_NAME]  # no O=, no address
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value.startswith(signing.NEUTRAL_SIGNER)
    sig = _signature_dictionaries(result.pdf)[0]
    assert (
        sig["Name"] == signing.NEUTRAL_SIGNER and sig["Location"] == "null" and sig["ContactInfo"] == "null"
    )
    assert result.manifest["pades"] is True and result.manifest["pades_signer"] == "neutral"
    assert verify_export(result.pdf, result.manifest).ok


def test_a_hospital_certificate_is_refused_by_default_and_used_only_on_request():
    paths = signing.key_paths()
    _configure_production_keys(paths, HOSPITAL_CERT)
    with pytest.raises(SigningNotConfigured, match="organizationName") as err:
        _export()
    assert HOSPITAL not in err.value.message_zh and "DEID_PADES_SIGNER=off" in err.value.message_zh
    # off: only the manifest is signed; the PDF carries no signature and no institution
    manifest_only = _export(pades_signer="off")
    assert _signature_dictionaries(manifest_only.pdf) == [] and b"/ByteRange" not in manifest_only.pdf
    _assert_no_institution(manifest_only.pdf)
    assert manifest_only.manifest["pades"] is False and manifest_only.manifest["signature"]["value"]
    assert verify_export(manifest_only.pdf, manifest_only.manifest).ok
    # institution (explicit): the trade-off the README describes — the file names the hospital
    named = _export(pades_signer="institution")
    cert = pkcs7.load_der_pkcs7_certificates(_signature_dictionaries(named.pdf)[0]["cms"])[0]
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == HOSPITAL
    assert verify_export(named.pdf, named.manifest).ok


@pytest.mark.parametrize(
    "attributes, why",
    [
        ([(NameOID.COMMON_NAME, HOSPITAL)], "CN 含机构名称"),
        ([(NameOID.COMMON_NAME, "匿名化导出服务"), (NameOID.STREET_ADDRESS, "某路1号")], "streetAddress"),
    ],
)
def test_a_neutral_looking_certificate_that_still_names_the_hospital_is_refused(attributes, why):
    _configure_production_keys(signing.key_paths(), attributes)
    with pytest.raises(SigningNotConfigured, match=why):
        _export()


# ---- demo keys ----------------------------------------------------------------------------


def test_demo_keys_are_generated_in_demo_mode_and_the_export_says_so():
    paths = signing.key_paths()
    assert not paths.cert.exists() and not paths.sm2_private.exists()
    result = _export()
    assert signing.is_demo_key(paths.cert) and signing.is_demo_key(paths.sm2_private)
    assert result.manifest["demo_keys"] is True
    cover = pymupdf.open(stream=result.pdf, filetype="pdf")[0].get_text()
    assert "演示密钥" in cover and "不是本院正式签名" in cover


def test_outside_demo_mode_missing_or_demo_keys_refuse_the_export(monkeypatch):
    paths = signing.key_paths()
    monkeypatch.delenv("DEID_DEMO")
    with pytest.raises(SigningNotConfigured, match="未配置导出签名密钥"):
        _export()
    assert not paths.cert.exists() and not paths.sm2_private.exists()  # nothing generated silently
    monkeypatch.setenv("DEID_DEMO", "1")
    signing.ensure_certificate()
    signing.ensure_sm2_keys()  # keys left over from a demo run
    monkeypatch.delenv("DEID_DEMO")
    with pytest.raises(SigningNotConfigured, match="演示密钥"):
        _export()
    # the hospital's own keys (same paths, files replaced): exports, no demo note
    _configure_production_keys(paths, [(NameOID.COMMON_NAME, "匿名化导出服务")])
    result = _export()
    assert result.manifest["demo_keys"] is False
    assert "演示密钥" not in pymupdf.open(stream=result.pdf, filetype="pdf")[0].get_text()
    _assert_no_institution(result.pdf)


# ---- through the store: a non-demo store refuses to export until keys exist ---------------


def test_non_demo_store_refuses_export_until_keys_are_configured(tmp_path, monkeypatch, capsys):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
    from factory import make_case, review_everything

    from core.security import auth
    from core.cases import workflow
    from core.archive import FolderArchive
    from core.cli import main
    from core.cases.processing import run_detect, run_import
    from core.store import jobs as job_store
    from core.store.db import open_db

    monkeypatch.setenv("DEID_BCRYPT_ROUNDS", "4")
    monkeypatch.delenv("DEID_DEMO")
    db = open_db()
    root = tmp_path / "archive"
    make_case(root, "C2025201", docs=(("d01", "入院记录", 1),))
    assert run_import(db, job_store.create(db, "C2025201", "import"), FolderArchive(root), "C2025201")
    assert run_detect(db, job_store.create(db, "C2025201", "detect"), "C2025201")
    prep, _ = auth.create_user(db, "prep1", "preparer", "Str0ng-Passw0rd!", must_change=False)
    sup, _ = auth.create_user(db, "sup1", "supervisor", "Str0ng-Passw0rd!", must_change=False)
    review_everything(db, prep, "C2025201")
    workflow.submit(db, "C2025201", prep)
    workflow.approve(db, "C2025201", sup, workflow.case_plan_hash(db, "C2025201"))
    out = tmp_path / "out"
    assert main(["export", "C2025201", "--out", str(out), "--user", "sup1"]) == SigningNotConfigured.exit_code
    assert "未配置导出签名密钥" in capsys.readouterr().err
    assert not list(out.glob("*.pdf"))  # no file, whether or not the folder was made
    assert workflow.status_of(db, "C2025201") == "approved"
    _configure_production_keys(signing.key_paths(), [(NameOID.COMMON_NAME, "匿名化导出服务")])
    assert main(["export", "C2025201", "--out", str(out), "--user", "sup1"]) == 0
    printed = capsys.readouterr()
    assert "演示密钥" not in printed.err
    manifest = json.loads(next(out.glob("*.manifest.json")).read_text(encoding="utf-8"))
    assert manifest["demo_keys"] is False and manifest["pades_signer"] == "neutral"
    _assert_no_institution(next(out.glob("*.pdf")).read_bytes())


def test_a_demo_certificate_of_an_earlier_version_is_replaced_in_demo_mode():
    paths = signing.key_paths()
    _write_cert(
        paths,
        [
            (NameOID.ORGANIZATION_NAME, signing.LEGACY_DEMO_ORGANISATION),
            (NameOID.COMMON_NAME, "病案室导出签名（演示证书）"),
        ],
    )
    result = _export()
    assert signing.is_demo_key(paths.cert) and result.manifest["demo_keys"] is True
    assert [a.oid for a in _assert_no_institution(result.pdf)[0].subject] == [NameOID.COMMON_NAME]


def test_the_signed_bytes_are_checked_again_after_signing():
    """Fail closed: whatever certificates the signature embeds are checked in the signed file itself."""
    _configure_production_keys(signing.key_paths(), HOSPITAL_CERT)
    named = _export(pades_signer="institution")
    with pytest.raises(SigningNotConfigured, match="已阻止导出"):
        signing.assert_signed_neutrally(named.pdf, institution_names=[HOSPITAL])
    assert [c.subject.rfc4514_string() for c in signing.embedded_certificates(named.pdf)] == [
        pkcs7.load_der_pkcs7_certificates(_signature_dictionaries(named.pdf)[0]["cms"])[
            0
        ].subject.rfc4514_string()
    ]
