"""Every page of the app's navigation refuses exactly the roles its menu entry does not list
(the menu and the page guard agree; a typed URL reaches the same guard)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from core.security import auth

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("preparer", "supervisor", "auditor", "admin")


def _pages():
    """(page file, roles) read straight from the files: every page in pages/ with its roles as
    written in core/rules/permissions.yaml, not through the code under test."""
    table = yaml.safe_load((ROOT / "core" / "rules" / "permissions.yaml").read_text(encoding="utf-8"))[
        "pages"
    ]
    files = sorted((ROOT / "pages").glob("*.py"))
    assert files and {f.stem for f in files} <= set(table)
    return [(f"pages/{f.name}", f.stem, tuple(table[f.stem])) for f in files]


@pytest.mark.parametrize("role", ROLES)
def test_each_page_guard_matches_its_menu_roles(db, role):
    user, _ = auth.create_user(db, f"user_{role}", role, must_change=False)
    for path, title, roles in _pages():
        at = AppTest.from_file(str(ROOT / path), default_timeout=60)
        at.session_state["auth_user"] = user
        at.run()
        refused = any("无权访问此页面" in e.value for e in at.error)
        expected = bool(roles) and role not in roles
        assert refused is expected, f"{title} for {role}: refused={refused}"


def test_anonymous_gets_login_on_every_page(db):
    auth.create_user(db, "someone", "preparer", must_change=False)
    for path, title, roles in _pages():
        if not roles:
            continue
        at = AppTest.from_file(str(ROOT / path), default_timeout=60).run()
        assert any("登录" in t.value for t in at.title), title
        assert not at.dataframe, title


@pytest.mark.parametrize("role, landing", [("auditor", "审计日志"), ("admin", "用户管理")])
def test_roles_without_the_default_page_land_on_their_first_page(db, role, landing):
    user, _ = auth.create_user(db, f"user_{role}", role, must_change=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["auth_user"] = user
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == [landing]
    assert not any("无权访问" in e.value for e in at.error)


def test_every_page_file_has_its_roles_in_the_permissions_table():
    """Roles of a page are written once (permissions.yaml `pages`); a page without an entry is refused."""
    from ui.nav import PAGES

    names = {p.stem for p in (ROOT / "pages").glob("*.py")}
    assert names == {spec.url_path for spec in PAGES}
    for name in names:
        auth.page_roles(name)  # raises when the table lacks the page
    with pytest.raises(KeyError):
        auth.page_roles("没有这个页面")
