"""Login, logout, password change, first-start setup and page guards.

Every page starts with ``user = require_user(("preparer", "supervisor"))``
(or the roles of what it offers).  Without a logged-in user the page shows
the login form and stops; with the wrong role it shows a refusal and stops,
so a URL typed by hand does not bypass the check.  Core actions check the
role again (``core.auth.require``).

The login lives in ``st.session_state`` (per browser session, server side).
Idle timeout: ``security_settings.session_idle_minutes`` (default 30).
"""
from __future__ import annotations

import inspect
import sys
import time
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException

from core import audit
from core import auth as core_auth
from core.errors import DeidError
from core.store.db import open_db

SESSION_KEY = "auth_user"
SEEN_KEY = "auth_last_seen"


def get_db():
    """The store connection of this browser session.

    One connection per session (not per process): SQLite transactions are
    per connection, and Streamlit runs sessions in parallel threads.
    """
    from core.config import settings
    path = str(settings().db_path)
    held = st.session_state.get("_deid_db")
    if held is None or held[0] != path:
        held = (path, open_db(path))
        st.session_state["_deid_db"] = held
    return held[1]


def daily_checkpoint() -> None:
    """App start (and the first run of each day): anchor the audit chain head outside the database."""
    from datetime import date

    from core.config import settings
    _checkpoint_for_day(str(settings().db_path), date.today().isoformat())


@st.cache_resource(show_spinner=False)
def _checkpoint_for_day(path: str, day: str) -> bool:
    """Once per server process, database and day: a checkpoint if the newest is older than a day."""
    from core.audit_anchor import checkpoint_if_due
    db = open_db(path)
    try:
        checkpoint_if_due(db, reason="app_start")
    finally:
        db.conn.close()
    return True


def current_user() -> dict | None:
    """The logged-in user (public fields) or None; enforces idle timeout and disabled accounts."""
    user = st.session_state.get(SESSION_KEY)
    if not user:
        return None
    db = get_db()
    now = time.time()
    last = st.session_state.get(SEEN_KEY, now)
    if now - last > core_auth.idle_timeout_seconds(db):
        audit.record(db, user["username"], "auth.session_timeout")
        _clear()
        st.session_state["auth_notice"] = "会话已超时，请重新登录"
        return None
    fresh = core_auth.get_user(db, user["username"])
    if not fresh or fresh["disabled"]:
        _clear()
        return None
    st.session_state[SEEN_KEY] = now
    st.session_state[SESSION_KEY] = fresh
    return fresh


def _clear() -> None:
    st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop(SEEN_KEY, None)


def logout() -> None:
    user = st.session_state.get(SESSION_KEY)
    if user:
        audit.record(get_db(), user["username"], "auth.logout")
    _clear()


def require_user(roles: tuple[str, ...] = ()) -> dict:
    """Return the logged-in user allowed on this page, or render login/refusal and stop."""
    db = get_db()
    if not core_auth.has_admin(db) and not _has_any_user(db):
        setup_form(db)
        st.stop()
    user = current_user()
    if user is None:
        login_form(db)
        st.stop()
    sidebar_account(user)
    if user["must_change"]:
        change_password_form(db, user, forced=True)
        st.stop()
    if roles and user["role"] not in roles:
        page = _page_name()
        landing = _role_landing(user["role"], page)
        if landing:  # the default page after login is not for this role: go to its first page
            try:
                st.switch_page(landing)
            except StreamlitAPIException:  # page not registered (no st.navigation): refuse below
                pass
        st.error(f"无权访问此页面：需要角色 {'、'.join(core_auth.role_name(r) for r in roles)}，"
                 f"当前角色 {core_auth.role_name(user['role'])}。")
        audit.record(db, user["username"], "permission.denied", detail={"page": page, "need": list(roles)})
        st.stop()
    return user


def _page_name() -> str:
    """Name of the page script being run (its file name under pages/)."""
    for frame in inspect.stack()[2:]:
        path = Path(frame.filename)
        if path.parent.name == "pages":
            return path.stem
    return ""


def _role_landing(role: str, page: str) -> str | None:
    """The first menu page of ``role`` when ``page`` is the app's default page, else None."""
    try:
        from ui.nav import PAGES
    except ImportError:
        return None
    default = next((p for p in PAGES if p.default), None)
    if default is None or Path(default.path).stem != page:
        return None
    return next((p.path for p in PAGES if p.roles and role in p.roles), None)


def _has_any_user(db) -> bool:
    return db.conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def login_form(db) -> None:
    st.title("病历匿名化导出 · 登录")
    notice = st.session_state.pop("auth_notice", None)
    if notice:
        st.info(notice)
    with st.form("login_form"):
        username = st.text_input("用户名", key="login_username")
        password = st.text_input("密码", type="password", key="login_password")
        submitted = st.form_submit_button("登录")
    if submitted:
        try:
            user = core_auth.authenticate(db, username, password, client=_client_key())
        except DeidError as exc:
            st.error(exc.message_zh)
            return
        st.session_state[SESSION_KEY] = user
        st.session_state[SEEN_KEY] = time.time()
        st.rerun()


def _rendered_this_run(widget_key: str) -> bool:
    """Whether a widget with this key was already drawn in the current script run
    (``require_user`` may be called by app.py and again by the page)."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
        ctx = get_script_run_ctx()
        return bool(ctx) and widget_key in ctx.shared.widget_user_keys_this_run
    except Exception:
        return False


def _client_ip() -> str | None:
    try:
        ip = st.context.ip_address
    except Exception:
        return None
    return ip if isinstance(ip, str) and ip else None  # AppTest gives a mock


def _client_key() -> str:
    """The per-client throttle key: the browser's address (``local`` when Streamlit gives none, e.g. localhost)."""
    return _client_ip() or "local"


def sidebar_account(user: dict) -> None:
    if _rendered_this_run("logout_button"):
        return
    with st.sidebar:
        st.caption(f"当前用户：{user['display_name'] or user['username']}（{core_auth.role_name(user['role'])}）")
        if st.button("退出登录", key="logout_button"):
            logout()
            st.rerun()
        if not user["must_change"]:
            with st.expander("修改密码"):
                _password_fields(get_db(), user, key="sidebar_pw")


def change_password_form(db, user: dict, forced: bool = False) -> None:
    st.title("修改密码")
    if forced:
        st.warning("首次登录或密码已被重置：请先设置新密码。")
    _password_fields(db, user, key="forced_pw")


def _password_fields(db, user: dict, key: str) -> None:
    with st.form(f"{key}_form"):
        old = st.text_input("原密码", type="password", key=f"{key}_old")
        new = st.text_input("新密码（至少10位，含大写、小写、数字、符号中的三类，不含用户名）", type="password", key=f"{key}_new")
        again = st.text_input("再次输入新密码", type="password", key=f"{key}_again")
        submitted = st.form_submit_button("保存新密码")
    if submitted:
        if new != again:
            st.error("两次输入的新密码不一致")
            return
        try:
            fresh = core_auth.change_password(db, user["username"], old, new)
        except DeidError as exc:
            st.error(exc.message_zh)
            return
        st.session_state[SESSION_KEY] = fresh
        st.success("密码已修改")
        st.rerun()


def setup_form(db) -> None:
    """First start: create the admin with the one-time token printed in the server terminal."""
    st.title("首次启动 · 创建管理员")
    st.info("系统中还没有管理员。请输入服务器终端中打印的一次性令牌，并设置管理员账号。")
    from core.config import settings
    printed = _token_printed_once(str(settings().db_path))
    if not printed.get("done"):  # once per server process, not per browser tab
        _print_setup_token(db)
        printed["done"] = True
    with st.form("setup_form"):
        token = st.text_input("一次性令牌", key="setup_token")
        username = st.text_input("管理员用户名", key="setup_username")
        password = st.text_input("密码", type="password", key="setup_password")
        again = st.text_input("再次输入密码", type="password", key="setup_password2")
        submitted = st.form_submit_button("创建管理员")
    st.caption("找不到令牌？请在服务器上运行 `python -m core.cli user setup-token` 生成新令牌"
               "（旧令牌随即失效）。本页面不能重新生成令牌。")
    if submitted:
        if password != again:
            st.error("两次输入的密码不一致")
            return
        try:
            user = core_auth.create_first_admin(db, token, username, password)
        except DeidError as exc:
            st.error(exc.message_zh)
            return
        st.session_state[SESSION_KEY] = user
        st.session_state[SEEN_KEY] = time.time()
        st.success("管理员已创建")
        st.rerun()


@st.cache_resource(show_spinner=False)
def _token_printed_once(path: str) -> dict:
    """Per-process marker: the setup token for this database was printed."""
    return {}


def _print_setup_token(db) -> None:
    """Print a token on the app's first start only; a new one is the server command line's job."""
    token = core_auth.first_setup_token(db)
    if token:
        print(f"\n[病历匿名化导出] 首次启动一次性令牌 / one-time setup token: {token}\n", file=sys.stderr, flush=True)
