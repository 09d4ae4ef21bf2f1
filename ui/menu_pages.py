"""The table of the app's pages (file, title, icon) with their roles from core/rules/permissions.yaml.

Imports no other ``ui`` module, so both the menu (``ui.nav``) and the page guard (``ui.auth``) read it.
"""

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
