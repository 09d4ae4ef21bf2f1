"""Exports in the store: sealed at rest, patient codes sealed, audited.

- ``record_export``: seals the released PDF (SM4, ``core.crypto.seal``)
  under the export folder, writes the ``exports`` row (digests, counts,
  verification report, approval used) and the sealed patient-code mapping,
  and audits ``export.create`` (SHA-256 and SM3; never the code).
- ``record_blocked``: a verification failure is stored and audited too.
- ``lookup_patient_code``: code → case for the admin role only; every
  lookup (and every refused one) is audited.
- ``load_export_pdf``: the plain signed PDF for download (audited).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import hashes, hmac

from core.security import audit, audit_anchor
from core.security.auth import require
from core.config import settings
from core.crypto import file_aad, seal, storage_key, unseal
from core.export.codes import normalise_code
from core.export.options import ExportOptions, ExportResult
from core.store import exports
from core.store.sealed import next_id, open_value, seal_value
from core.store.tx import transaction


def code_hmac(code: str) -> str:
    h = hmac.HMAC(storage_key(), hashes.SM3())
    h.update(("patient-code|" + normalise_code(code)).encode("utf-8"))
    return h.finalize().hex()


def _options_json(options: ExportOptions) -> str:
    d = dict(vars(options))
    d["password"] = bool(options.password)  # only whether one was set
    return json.dumps(d, ensure_ascii=False, sort_keys=True)


def _actor(user) -> str:
    return user if isinstance(user, str) else (user or {}).get("username", "system")


def record_export(
    db, case_id: str, result: ExportResult, user, *, options: ExportOptions, approval_id: int | None = None
) -> int:
    export_dir = Path(settings().export_dir)
    export_dir.mkdir(parents=True, exist_ok=True)
    path = export_dir / f"{uuid.uuid4().hex}.pdf.sm4"
    path.write_bytes(seal(result.pdf, aad=file_aad("export", path.name)))
    now = time.time()
    with transaction(db):
        export_id = next_id(db, "exports")
        manifest = json.dumps(result.manifest, ensure_ascii=False)
        exports.insert_released(
            db,
            export_id,
            {
                "case_id": case_id,
                "approval_id": approval_id,
                "actor": _actor(user),
                "policy": result.manifest["policy"],
                "style": result.manifest.get("style", ""),
                "options": _options_json(options),
                "page_count": result.page_count,
                "size": result.manifest["size"],
                "sha256": result.manifest["sha256"],
                "sm3": result.manifest["sm3"],
                "counts": json.dumps(result.counts, ensure_ascii=False),
                "verify_report": json.dumps(result.verify, ensure_ascii=False),
                "stored_path": str(path),
                "manifest_sealed": seal_value("exports", export_id, "manifest_sealed", manifest),
                "created_at": now,
            },
        )
        mapping = json.dumps(
            {"code": result.code, "case_id": case_id, "export_id": export_id}, ensure_ascii=False
        )
        code_id = next_id(db, "patient_codes")
        exports.insert_patient_code(
            db,
            code_id,
            code_hmac(result.code),
            seal_value("patient_codes", code_id, "mapping_sealed", mapping),
            now,
        )
        audit.record(
            db,
            _actor(user),
            "export.create",
            case_id=case_id,
            detail={
                "export_id": export_id,
                "approval_id": approval_id,
                "policy": result.manifest["policy"],
                "style": result.manifest.get("style", ""),
                "pages": result.page_count,
                "sha256": result.manifest["sha256"],
                "sm3": result.manifest["sm3"],
                "verified": True,
                "counts": result.counts,
                "unseen_removed": result.unseen_removed,
                "flatten": options.flatten,
                "encrypted": bool(options.password),
            },
        )
    audit_anchor.checkpoint_quietly(db, actor=_actor(user), reason="export")
    return export_id


def record_blocked(
    db, case_id: str, report: dict, user, *, options: ExportOptions, approval_id: int | None = None
) -> int:
    with transaction(db):
        export_id = exports.insert_blocked(
            db,
            case_id,
            approval_id,
            _actor(user),
            options.policy,
            options.style,
            _options_json(options),
            json.dumps(report, ensure_ascii=False),
            time.time(),
        )
        audit.record(
            db,
            _actor(user),
            "export.create",
            case_id=case_id,
            detail={
                "export_id": export_id,
                "verified": False,
                "blocked": True,
                "leaks": len(report.get("leaks", [])),
                "where": sorted({l.get("where", "") for l in report.get("leaks", [])}),
            },
        )
    return export_id


def list_exports(db, case_id: str) -> list[dict]:
    return exports.exports_of_case(db, case_id)


def get_export(db, export_id: int) -> dict | None:
    return exports.export_row(db, export_id)


def load_export_pdf(db, export_id: int, user) -> bytes:
    row = get_export(db, export_id)
    require(user, "export.download", db, case_id=row["case_id"] if row else None)
    if not row or row["status"] != "released":
        raise FileNotFoundError("export not found")
    path = Path(row["stored_path"])
    data = unseal(path.read_bytes(), aad=file_aad("export", path.name))
    audit.record(
        db,
        _actor(user),
        "export.download",
        case_id=row["case_id"],
        detail={"export_id": export_id, "sha256": row["sha256"]},
    )
    return data


def load_manifest(db, export_id: int) -> dict:
    row = get_export(db, export_id)
    if not row or not row["manifest_sealed"]:
        return {}
    return json.loads(open_value("exports", export_id, "manifest_sealed", row["manifest_sealed"]))


def lookup_patient_code(db, code: str, user) -> dict | None:
    """Re-identification by the controller: admin only, always audited."""
    require(user, "patient_code.lookup", db)
    row = exports.patient_code_row(db, code_hmac(code))
    mapping = json.loads(open_value("patient_codes", row[0], "mapping_sealed", row[1])) if row else None
    audit.record(
        db,
        _actor(user),
        "patient_code.lookup",
        case_id=mapping["case_id"] if mapping else None,
        detail={"found": bool(mapping), "export_id": mapping["export_id"] if mapping else None},
    )
    return mapping
