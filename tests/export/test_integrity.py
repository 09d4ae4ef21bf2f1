"""Manifest (SM2) and PAdES signature: valid as released, invalid after
one byte changes; the ``verify`` command's exit codes."""

from __future__ import annotations

import json

import pytest

from core.cli import main
from core.export.integrity import verify_export
from core.export.options import ExportOptions
from core.export.pipeline import export_case
from tests.export import helpers

IDS = [(v, c) for c, v, _ in helpers.IDENTIFIERS]


@pytest.fixture
def exported(tmp_path):
    result = export_case(helpers.case_documents(), helpers.META, ExportOptions(), extra_identifiers=IDS)
    pdf = tmp_path / result.file_name
    pdf.write_bytes(result.pdf)
    manifest = tmp_path / f"{result.code}.manifest.json"
    manifest.write_text(json.dumps(result.manifest, ensure_ascii=False), encoding="utf-8")
    return result, pdf, manifest


def test_manifest_content(exported):
    result, pdf, _ = exported
    m = result.manifest
    assert m["case_code"] == result.code and m["file_name"] == pdf.name
    assert m["size"] == len(result.pdf) and len(m["sha256"]) == 64 and len(m["sm3"]) == 64
    assert m["page_count"] == 4 and m["policy"] == "review" and m["created_at"]
    assert m["signature"]["algorithm"] == "SM2-SM3"
    assert helpers.PATIENT not in json.dumps(m, ensure_ascii=False)


def test_valid_as_released(exported):
    result, _, _ = exported
    report = verify_export(result.pdf, result.manifest)
    assert report.ok, report.reasons
    assert report.checks == {
        "manifest_signature": True,
        "size": True,
        "sha256": True,
        "sm3": True,
        "page_count": True,
        "pades": True,
    }


@pytest.mark.parametrize("where", [0.05, 0.5, 0.97])
def test_one_changed_byte_in_the_pdf_is_detected(exported, where):
    result, _, _ = exported
    data = bytearray(result.pdf)
    i = int(len(data) * where)
    data[i] = (data[i] + 1) % 256
    report = verify_export(bytes(data), result.manifest)
    assert not report.ok
    assert not report.checks["sha256"] and not report.checks["sm3"]


def test_one_changed_byte_in_the_manifest_is_detected(exported):
    result, _, _ = exported
    m = dict(result.manifest)
    m["page_count"] = m["page_count"] + 1
    assert not verify_export(result.pdf, m).checks["manifest_signature"]
    m = dict(result.manifest)
    sig = dict(m["signature"])
    v = sig["value"]
    sig["value"] = v[:10] + ("0" if v[10] != "0" else "1") + v[11:]
    m["signature"] = sig
    report = verify_export(result.pdf, m)
    assert not report.ok and not report.checks["manifest_signature"]


def test_pdf_re_signed_with_matching_manifest_digests_still_fails_pades(exported, tmp_path):
    """An attacker who edits the PDF and rewrites the digests in the manifest
    breaks the SM2 signature; appending to the PDF breaks PAdES coverage."""
    result, _, _ = exported
    appended = result.pdf + b"\n% appended\n"
    m = dict(result.manifest)
    from core.crypto import sha256_hex, sm3_hex

    m.update(size=len(appended), sha256=sha256_hex(appended), sm3=sm3_hex(appended))
    report = verify_export(appended, m)
    assert not report.checks["manifest_signature"] and not report.checks["pades"]


def test_verify_command_exit_codes(exported, capsys):
    _, pdf, manifest = exported
    assert main(["verify", str(pdf), str(manifest)]) == 0
    assert "VALID" in capsys.readouterr().out
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    pdf.write_bytes(bytes(data))
    assert main(["verify", str(pdf), str(manifest)]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out and "sha256" in out


def test_encrypted_export_verifies_with_password(tmp_path, monkeypatch):
    result = export_case(
        helpers.case_documents(), helpers.META, ExportOptions(password="Pw-123456789"), extra_identifiers=IDS
    )
    assert not verify_export(result.pdf, result.manifest).ok  # needs the password for PAdES
    assert verify_export(result.pdf, result.manifest, password="Pw-123456789").ok
