"""Login, logout, password change, first-start setup and page guards.

Every page starts with ``user = require_user(page="<page>")``; the page's
roles are written once, in ``core/rules/permissions.yaml`` (``pages``), which
the menu reads too.  Without a logged-in user the page shows
the login form and stops; with the wrong role it shows a refusal and stops,
so a URL typed by hand does not bypass the check.  Core actions check the
role again (``core.security.auth.require``).

A login is a server-side session (``core.security.sessions``) bound to a signed,
HttpOnly cookie, so a reload, a typed URL or a new tab of the same browser
finds the user again; this tab also keeps it in ``st.session_state``.
Idle timeout: ``security_settings.session_idle_minutes`` (default 30).
"""

from __future__ import annotations

import inspect
import json
import sys
import time
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException

from core.security import audit
from core.security import auth as core_auth
from core.security import sessions
from core.errors import DeidError
from core.store.db import open_db

SESSION_KEY = "auth_user"
SEEN_KEY = "auth_last_seen"  # only for a login without a server session (tests that set SESSION_KEY)
SESSION_ID_KEY = "auth_session_id"
HANDOFF_KEY = "auth_cookie_handoff"
DROP_COOKIE_KEY = "auth_drop_cookie"


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
    from core.security.audit_anchor import checkpoint_if_due

    db = open_db(path)
    try:
        checkpoint_if_due(db, reason="app_start")
    finally:
        db.conn.close()
    return True


def current_user() -> dict | None:
    """The logged-in user (public fields) or None; enforces idle timeout, logout
    in another tab and disabled accounts."""
    db = get_db()
    user = st.session_state.get(SESSION_KEY)
    if not user:
        user = _resume_from_cookie(db)
        if not user:
            return None
    session_id = st.session_state.get(SESSION_ID_KEY)
    if session_id is not None:
        state = sessions.check(db, session_id)
        if state.status != sessions.LIVE:
            _end_tab(db, user["username"], timed_out=state.status == sessions.IDLE)
            return None
    elif _tab_idle(db, user["username"]):
        return None
    fresh = core_auth.get_user(db, user["username"])
    if not fresh or fresh["disabled"]:
        if session_id is not None:
            sessions.end(db, session_id, "disabled")
        _clear()
        return None
    st.session_state[SESSION_KEY] = fresh
    return fresh


def _resume_from_cookie(db) -> dict | None:
    """The user of this browser's session cookie (reload, typed URL, new tab)."""
    try:
        cookie = st.context.cookies.get(sessions.COOKIE_NAME)
    except Exception:  # no browser behind this run (AppTest, bare mode)
        return None
    if not cookie:
        return None
    state = sessions.resume(db, cookie)
    if state.status == sessions.IDLE:
        _end_tab(db, state.username, timed_out=True)
    if state.status != sessions.LIVE:
        return None
    fresh = core_auth.get_user(db, state.username)
    if not fresh or fresh["disabled"]:
        return None
    st.session_state[SESSION_KEY] = fresh
    st.session_state[SESSION_ID_KEY] = state.session_id
    return fresh


def _tab_idle(db, username: str) -> bool:
    now = time.time()
    last = st.session_state.get(SEEN_KEY, now)
    if now - last > core_auth.idle_timeout_seconds(db):
        _end_tab(db, username, timed_out=True)
        return True
    st.session_state[SEEN_KEY] = now
    return False


def _end_tab(db, username: str, timed_out: bool) -> None:
    if timed_out:
        audit.record(db, username, "auth.session_timeout")
        st.session_state["auth_notice"] = "会话已超时，请重新登录"
    else:
        st.session_state["auth_notice"] = "已在其他窗口退出登录，请重新登录"
    _clear()
    st.session_state[DROP_COOKIE_KEY] = True


def _clear() -> None:
    for key in (SESSION_KEY, SEEN_KEY, SESSION_ID_KEY, HANDOFF_KEY):
        st.session_state.pop(key, None)


def _sign_in(db, user: dict) -> None:
    """This tab is logged in; a server session is opened for the browser's cookie."""
    session_id, code = sessions.start(db, user["username"])
    st.session_state[SESSION_KEY] = user
    st.session_state[SEEN_KEY] = time.time()
    st.session_state[SESSION_ID_KEY] = session_id
    st.session_state[HANDOFF_KEY] = code
    st.session_state.pop(DROP_COOKIE_KEY, None)


def logout() -> None:
    user = st.session_state.get(SESSION_KEY)
    db = get_db()
    if st.session_state.get(SESSION_ID_KEY) is not None:
        sessions.end(db, st.session_state[SESSION_ID_KEY], "logout")
    if user:
        audit.record(db, user["username"], "auth.logout")
    _clear()
    st.session_state[DROP_COOKIE_KEY] = True


def _cookie_script(db) -> None:
    """Let the browser fetch (or drop) its HttpOnly session cookie from the app's own route.

    The script carries a single-use code, never the session token; it is drawn
    on every run until the server has seen the code claimed.
    """
    from ui.session_routes import CLAIM_PATH, LOGOUT_PATH

    code = st.session_state.get(HANDOFF_KEY)
    if code and sessions.handoff_claimed(db, code):
        st.session_state.pop(HANDOFF_KEY, None)
        code = None
    if code:
        body = f"fetch({json.dumps(CLAIM_PATH)}, {{method: 'POST', body: {json.dumps(code)}, credentials: 'same-origin'}})"
    elif st.session_state.pop(DROP_COOKIE_KEY, False):
        body = f"fetch({json.dumps(LOGOUT_PATH)}, {{method: 'POST', credentials: 'same-origin'}})"
    else:
        return
    with st.sidebar:
        st.html(f"<script>{body}</script>", unsafe_allow_javascript=True, width=1)


def require_user(page: str) -> dict:
    """Return the logged-in user allowed on ``page`` (its roles are in
    core/rules/permissions.yaml), or render login/refusal and stop."""
    roles = core_auth.page_roles(page)
    db = get_db()
    if not core_auth.has_admin(db) and not _has_any_user(db):
        setup_form(db)
        st.stop()
    user = current_user()
    _cookie_script(db)
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
        st.error(
            f"无权访问此页面：需要角色 {'、'.join(core_auth.role_name(r) for r in roles)}，"
            f"当前角色 {core_auth.role_name(user['role'])}。"
        )
        audit.record(db, user["username"], "permission.denied", detail={"page": page, "need": list(roles)})
        st.stop()
    return user


def still_signed_in(user: dict) -> bool:
    """For a fragment's own reruns, which skip the page's ``require_user``: is
    this tab still logged in as ``user`` (same account and role; not logged
    out elsewhere, idle or disabled)?  When not, the fragment reruns the page,
    whose guard shows the login form or the refusal."""
    fresh = current_user()
    return bool(fresh) and fresh["username"] == user["username"] and fresh["role"] == user["role"]


def _page_name() -> str:
    """Name of the page script being run (its file name under pages/)."""
    for frame in inspect.stack()[2:]:
        path = Path(frame.filename)
        if path.parent.name == "pages":
            return path.stem
    return ""


def _role_landing(role: str, page: str) -> str | None:
    """The first menu page of ``role`` when ``page`` is the app's default page, else None."""
    from ui.menu_pages import PAGES

    default = next((p for p in PAGES if p.default), None)
    if default is None or Path(default.path).stem != page:
        return None
    return next((p.path for p in PAGES if p.roles and role in p.roles), None)


def _has_any_user(db) -> bool:
    from core.store import accounts

    return accounts.has_any_user(db)


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
        _sign_in(db, user)
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
        st.caption(
            f"当前用户：{user['display_name'] or user['username']}（{core_auth.role_name(user['role'])}）"
        )
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
        new = st.text_input(
            "新密码（至少10位，含大写、小写、数字、符号中的三类，不含用户名）",
            type="password",
            key=f"{key}_new",
        )
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
    st.caption(
        "找不到令牌？请在服务器上运行 `python -m core.cli user setup-token` 生成新令牌"
        "（旧令牌随即失效）。本页面不能重新生成令牌。"
    )
    if submitted:
        if password != again:
            st.error("两次输入的密码不一致")
            return
        try:
            user = core_auth.create_first_admin(db, token, username, password)
        except DeidError as exc:
            st.error(exc.message_zh)
            return
        _sign_in(db, user)
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
        print(
            f"\n[病历匿名化导出] 首次启动一次性令牌 / one-time setup token: {token}\n",
            file=sys.stderr,
            flush=True,
        )
