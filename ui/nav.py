"""The app's pages and which roles see them in the menu (app.py builds the navigation)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    default: bool = False

    @property
    def url_path(self) -> str:
        return self.path.rsplit("/", 1)[-1].removesuffix(".py")

    @property
    def roles(self) -> tuple[str, ...]:
        """From core/rules/permissions.yaml (``pages``), the same table the page's guard reads."""
        from core.security.auth import page_roles

        return page_roles(self.url_path)


PAGES = [
    PageSpec("pages/病例列表.py", "病例列表", ":material/list_alt:", default=True),
    PageSpec("pages/页面审阅.py", "页面审阅", ":material/find_in_page:"),
    PageSpec("pages/审核.py", "提交与审核", ":material/task_alt:"),
    PageSpec("pages/导出.py", "导出", ":material/file_download:"),
    PageSpec("pages/审计日志.py", "审计日志", ":material/receipt_long:"),
    PageSpec("pages/用户管理.py", "用户管理", ":material/group:"),
    PageSpec("pages/帮助.py", "帮助", ":material/help:"),
]


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
