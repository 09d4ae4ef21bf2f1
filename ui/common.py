"""Small streamlit helpers shared by the case pages."""

from __future__ import annotations

import time

import streamlit as st

from core.security.handles import case_handle
from core.store import cases as case_store

CASE_KEY = "current_case"


def imported_case_picker(
    db, label: str = "病例", statuses: tuple[str, ...] = (), key: str = "case_pick"
) -> str | None:
    """Select box of imported cases; remembers the choice across pages (session + ?case=<opaque handle>)."""
    rows = case_store.list_cases(db)
    if statuses:
        rows = [r for r in rows if r["status"] in statuses]
    ids = [r["id"] for r in rows]
    if not ids:
        return None
    by_handle = {case_handle(i): i for i in ids}
    wanted = by_handle.get(st.query_params.get("case", "")) or st.session_state.get(CASE_KEY)
    index = ids.index(wanted) if wanted in ids else 0
    by_id = {r["id"]: r for r in rows}
    chosen = st.selectbox(
        label, ids, index=index, key=key, format_func=lambda c: f"{c} · {by_id[c]['department']}"
    )
    st.session_state[CASE_KEY] = chosen
    remember_case_in_url(chosen)
    return chosen


def remember_case_in_url(case_id: str) -> None:
    """``?case=`` holds the case's opaque handle, never the case id (it may be a record number)."""
    st.query_params["case"] = case_handle(case_id)


FLASH_SECONDS = 8.0  # a confirmation stays through the reruns that follow an action


def flash(key: str = "flash") -> None:
    """Show the message stored under ``key`` for FLASH_SECONDS after it was
    first shown (widgets such as the canvas rerun the page right after an
    action; a message shown once would vanish before anyone reads it)."""
    msg = st.session_state.get(key)
    if not msg:
        return
    kind, text, since = (msg + (None,))[:3] if isinstance(msg, tuple) else ("success", msg, None)
    if since is None:
        st.session_state[key] = (kind, text, time.monotonic())
    elif time.monotonic() - since > FLASH_SECONDS:
        del st.session_state[key]
        return
    getattr(st, kind)(text)


def set_flash(text: str, kind: str = "success", key: str = "flash") -> None:
    st.session_state[key] = (kind, text)
