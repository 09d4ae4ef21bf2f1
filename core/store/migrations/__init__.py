"""Migration modules, applied in VERSION order by ``core.store.db.apply_migrations``.

Add a new module (``mNNN_<what>.py`` with ``VERSION = NNN`` and ``apply(db)``)
and list it here.  Never edit a migration that has shipped; add a new one.
Must not import core.cases, core.export, ui/ or streamlit."""

MIGRATIONS: list[str] = [
    "core.store.migrations.m001_cases",
    "core.store.migrations.m002_job_tasks",
    "core.store.migrations.m100_users_audit",
    "core.store.migrations.m101_audit_mac",
    "core.store.migrations.m110_audit_anchor",
    "core.store.migrations.m111_login_throttle_role_grants",
    "core.store.migrations.m112_sessions",
    "core.store.migrations.m150_review_gates",
    "core.store.migrations.m200_exports",
    "core.store.migrations.m300_page_hides",
    "core.store.migrations.m310_page_duplicates",
]
