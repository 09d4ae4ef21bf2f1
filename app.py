"""病历匿名化导出 — Streamlit entry point (``streamlit run app.py``).

``streamlit run app.py`` finds ``app = st.App(...)`` below and serves this
file through it, together with the app's own HTTP routes for the HttpOnly
login cookie (``ui.session_routes``); the ASGI server imports this module
under its own name, Streamlit runs it as ``__main__`` for every page view.

Every page is registered with ``st.navigation`` so a typed URL reaches the
page's own guard (``ui.auth.require_user``), which logs in or refuses; the
sidebar menu lists only the pages the current role may use.
"""

from __future__ import annotations

import streamlit as st


def main() -> None:
    from ui.chrome import APP_ICON, hide_english_chrome
    from ui.auth import current_user, daily_checkpoint
    from ui.nav import MENU_FLAG, PAGES, draw_menu
    from ui.startup import store_or_stop

    st.set_page_config(page_title="病历匿名化导出", page_icon=APP_ICON, layout="wide")
    hide_english_chrome()
    store_or_stop()  # a store without its key shows why and stops here
    daily_checkpoint()
    pages = [
        st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, default=p.default) for p in PAGES
    ]
    nav = st.navigation(pages, position="hidden")
    draw_menu(current_user())
    st.session_state[MENU_FLAG] = True  # the page's page_setup() need not draw it again
    nav.run()


if __name__ == "__main__":
    main()
else:  # imported by the ASGI server that `streamlit run app.py` starts
    from ui.session_routes import session_routes

    app = st.App(__file__, routes=session_routes())
