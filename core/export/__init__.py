"""Export: one merged, truly redacted, verified and signed PDF per case.

- ``export_case(documents, meta, options)`` — the pipeline (no store),
  stages in ``core.export.pipeline``;
- ``export_from_store(db, case_id, user, options)`` — approved case from the
  store, sealed at rest, audited (``core.export.from_store``);
- ``verify_export(pdf, manifest)`` — manifest SM2 signature, digests and the
  PAdES signature (``core.export.integrity``).
Must not import ui/, pages/, tools/ or streamlit."""

from core.export.options import ExportDocument, ExportOptions, ExportResult  # noqa: F401
