"""Security: accounts, roles and login sessions, the tamper-evident audit trail, its
checkpoints and report, storage-key operations and opaque case handles.
Must not import ui/, streamlit, core.cases or core.export."""
