"""病历匿名化导出 — Streamlit entry point (``streamlit run app.py``).

Every page is registered with ``st.navigation`` so a typed URL reaches the
page's own guard (``ui.auth.require_user``), which logs in or refuses; the
sidebar menu lists only the pages the current role may use.
"""
from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="病历匿名化导出", page_icon=":material/health_and_safety:", layout="wide")

from ui.auth import current_user, daily_checkpoint  # noqa: E402
from ui.nav import MENU_FLAG, PAGES, draw_menu  # noqa: E402
from ui.startup import store_or_stop  # noqa: E402

store_or_stop()  # a store without its key shows why and stops here

daily_checkpoint()
pages = [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, default=p.default) for p in PAGES]
nav = st.navigation(pages, position="hidden")
draw_menu(current_user())
st.session_state[MENU_FLAG] = True  # the page's page_setup() need not draw it again
nav.run()
