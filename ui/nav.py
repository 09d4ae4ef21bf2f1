"""The app's pages and which roles see them in the menu (app.py builds the navigation)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    roles: tuple[str, ...] = ()
    default: bool = False

    @property
    def url_path(self) -> str:
        return self.path.rsplit("/", 1)[-1].removesuffix(".py")


PAGES = [
    PageSpec("pages/病例列表.py", "病例列表", ":material/list_alt:", ("preparer", "supervisor"), default=True),
    PageSpec("pages/页面审阅.py", "页面审阅", ":material/find_in_page:", ("preparer", "supervisor")),
    PageSpec("pages/审核.py", "提交与审核", ":material/task_alt:", ("preparer", "supervisor")),
    PageSpec("pages/导出.py", "导出", ":material/file_download:", ("preparer", "supervisor")),
    PageSpec("pages/审计日志.py", "审计日志", ":material/receipt_long:", ("supervisor", "auditor")),
    PageSpec("pages/用户管理.py", "用户管理", ":material/group:", ("admin",)),
    PageSpec("pages/帮助.py", "帮助", ":material/help:"),
]
