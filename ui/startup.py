"""What the app checks before any page: the store opens with its own key.

A store that holds data but whose key file is missing (or is another
store's key) must not start: the page shows why and what to do, and nothing
else runs (``core.store.keybind.ensure_key_for_store`` never creates a key then).
"""

from __future__ import annotations

import streamlit as st

from core.crypto import KeyError_


def store_or_stop() -> None:
    from ui.auth import get_db

    try:
        get_db()
    except KeyError_ as exc:
        st.error("无法启动：存储密钥不可用")
        st.markdown(exc.message_zh)
        st.caption(exc.message_en)
        st.stop()
