"""用户管理 page (admin): users, roles, disable/enable, password reset, security settings."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from core.security import auth as core_auth
from core.security import sessions
from core.errors import DeidError
from ui.auth import get_db, require_user


def render() -> None:
    user = require_user(page="用户管理")
    db = get_db()
    core_auth.require(user, "user.manage", db)
    st.title("用户管理")
    _user_table(db)
    _pending_grants(db, user)
    _add_user(db, user)
    _change_user(db, user)
    _settings(db, user)


def _user_table(db) -> None:
    rows = core_auth.list_users(db)
    waiting = {g["username"] for g in core_auth.pending_role_grants(db) if g["new_account"]}
    df = pd.DataFrame(
        [
            {
                "用户名": u["username"],
                "姓名": u["display_name"],
                "角色": core_auth.role_name(u["role"]),
                "状态": "待确认" if u["username"] in waiting else ("停用" if u["disabled"] else "正常"),
                "需改密码": "是" if u["must_change"] else "否",
                "锁定": "是" if (u["locked_until"] or 0) > time.time() else "否",
            }
            for u in rows
        ]
    )
    st.dataframe(df, hide_index=True, width="stretch")


def _add_user(db, admin) -> None:
    st.subheader("新增用户")
    with st.form("user_add_form", clear_on_submit=True):
        c1, c2, c3 = st.columns(3)
        username = c1.text_input("用户名", key="ua_username")
        display = c2.text_input("显示名", key="ua_display")
        role = c3.selectbox("角色", list(core_auth.roles()), format_func=core_auth.role_name, key="ua_role")
        submitted = st.form_submit_button("创建用户")
    if submitted:
        try:
            created, pw = core_auth.create_user(
                db, username, role, actor=admin["username"], display_name=display
            )
        except DeidError as exc:
            st.error(exc.message_zh)
            return
        if created.get("pending_grant"):
            st.warning(
                f"已创建 {created['username']}（审核人）：须由另一名管理员在「待确认的角色变更」中确认后才启用。"
            )
        else:
            st.success(f"已创建 {created['username']}。")
        st.caption("临时密码（只显示这一次，首次登录须修改）：")
        st.code(pw, language=None)


def _change_user(db, admin) -> None:
    st.subheader("修改用户")
    names = [u["username"] for u in core_auth.list_users(db)]
    if not names:
        return
    name = st.selectbox("用户", names, key="uc_user")
    target = core_auth.get_user(db, name)
    c1, c2, c3 = st.columns(3)
    try:
        if target["disabled"]:
            if c1.button("启用", key="uc_enable"):
                core_auth.set_disabled(db, name, False, actor=admin["username"])
                st.rerun()
        elif c1.button("停用", key="uc_disable"):
            core_auth.set_disabled(db, name, True, actor=admin["username"])
            sessions.end_all(db, name, "disabled")
            st.rerun()
        if c2.button("重置密码", key="uc_reset"):
            pw = core_auth.reset_password(db, name, actor=admin["username"])
            sessions.end_all(db, name, "password_reset")  # a reset password must not leave old logins open
            st.success("新临时密码（只显示这一次，下次登录须修改）：")
            st.code(pw, language=None)
        roles = list(core_auth.roles())
        new_role = c3.selectbox(
            "角色", roles, index=roles.index(target["role"]), format_func=core_auth.role_name, key="uc_role"
        )
        if new_role != target["role"] and c3.button("保存角色", key="uc_role_save"):
            changed = core_auth.set_role(db, name, new_role, actor=admin["username"])
            if changed.get("pending_grant"):
                st.warning("审核人角色的授予或变更须由另一名管理员确认：已提交，待确认。")
            else:
                st.rerun()
    except DeidError as exc:
        st.error(exc.message_zh)


def _pending_grants(db, admin) -> None:
    grants = core_auth.pending_role_grants(db)
    if not grants:
        return
    st.subheader("待确认的角色变更（需另一名管理员确认）")
    for g in grants:
        before = core_auth.role_name(g["from_role"]) if g["from_role"] else "新账号"
        c1, c2, c3 = st.columns([3, 1, 1])
        c1.write(
            f"{g['username']}：{before} → {core_auth.role_name(g['to_role'])}（申请人 {g['requested_by']}）"
        )
        try:
            if g["requested_by"] != admin["username"] and c2.button("确认", key=f"grant_ok_{g['id']}"):
                core_auth.confirm_role_grant(db, g["id"], actor=admin["username"])
                st.rerun()
            if c3.button("撤销", key=f"grant_cancel_{g['id']}"):
                core_auth.cancel_role_grant(db, g["id"], actor=admin["username"])
                st.rerun()
        except DeidError as exc:
            st.error(exc.message_zh)


def _settings(db, admin) -> None:
    st.subheader("安全设置")
    with st.form("security_settings_form"):
        idle = st.number_input(
            "会话空闲超时（分钟）",
            min_value=1,
            max_value=1440,
            value=int(core_auth.get_setting(db, "session_idle_minutes")),
            key="ss_idle",
        )
        keep = st.number_input(
            "审计日志保存期（天，不少于180）",
            min_value=180,
            max_value=3650 * 3,
            value=int(core_auth.get_setting(db, "audit_retention_days")),
            key="ss_keep",
        )
        submitted = st.form_submit_button("保存设置")
    if submitted:
        try:
            for key, value in (("session_idle_minutes", idle), ("audit_retention_days", keep)):
                if str(int(value)) != core_auth.get_setting(db, key):
                    core_auth.set_setting(db, key, str(int(value)), actor=admin["username"])
        except DeidError as exc:
            st.error(exc.message_zh)
            return
        st.success("设置已保存")
