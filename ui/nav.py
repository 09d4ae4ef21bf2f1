"""The app's menu: which pages a role sees (app.py builds the navigation from ``PAGES``)."""

from __future__ import annotations

from ui.menu_pages import PAGES, PageSpec

__all__ = ["MENU_FLAG", "PAGES", "PageSpec", "draw_menu", "page_setup"]


MENU_FLAG = "_deid_menu_drawn"


def draw_menu(user: dict | None) -> None:
    """Sidebar links to the pages this user's role may use."""
    import streamlit as st
    from streamlit.errors import StreamlitAPIException

    with st.sidebar:
        st.markdown("### 病历匿名化导出")
        for p in PAGES:
            if user is None and not p.default:
                continue
            if user is not None and p.roles and user["role"] not in p.roles:
                continue
            try:
                st.page_link(p.path, label=p.title, icon=p.icon)
            except StreamlitAPIException:  # a page file run on its own (tests): no other pages known
                return
        st.divider()


def page_setup() -> None:
    """First line of every page file: wide layout, and the menu when app.py did not run.

    A URL typed before the server ever ran ``app.py`` opens the page file
    directly (Streamlit's ``pages/`` folder mode); the page's own guard still
    applies, and this draws the same menu app.py would.
    """
    import streamlit as st

    from ui.chrome import APP_ICON, hide_english_chrome

    st.set_page_config(page_title="病历匿名化导出", page_icon=APP_ICON, layout="wide")
    if st.session_state.pop(MENU_FLAG, False):
        return
    hide_english_chrome()
    from ui.auth import current_user

    draw_menu(current_user())
