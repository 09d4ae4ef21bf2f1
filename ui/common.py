"""Small streamlit helpers shared by the case pages."""
from __future__ import annotations

import streamlit as st

from core.store import cases as case_store

CASE_KEY = "current_case"


def imported_case_picker(db, label: str = "病例", statuses: tuple[str, ...] = (), key: str = "case_pick") -> str | None:
    """Select box of imported cases; remembers the choice across pages (session + ?case=)."""
    rows = case_store.list_cases(db)
    if statuses:
        rows = [r for r in rows if r["status"] in statuses]
    ids = [r["id"] for r in rows]
    if not ids:
        return None
    wanted = st.query_params.get("case") or st.session_state.get(CASE_KEY)
    index = ids.index(wanted) if wanted in ids else 0
    by_id = {r["id"]: r for r in rows}
    chosen = st.selectbox(label, ids, index=index, key=key,
                          format_func=lambda c: f"{c} · {by_id[c]['department']}")
    st.session_state[CASE_KEY] = chosen
    st.query_params["case"] = chosen
    return chosen


def flash(key: str = "flash") -> None:
    msg = st.session_state.pop(key, None)
    if msg:
        kind, text = msg if isinstance(msg, tuple) else ("success", msg)
        getattr(st, kind)(text)


def set_flash(text: str, kind: str = "success", key: str = "flash") -> None:
    st.session_state[key] = (kind, text)
