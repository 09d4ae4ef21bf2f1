"""审计日志 page (supervisor, auditor): chain status, filters, table, charts, CSV."""

from __future__ import annotations

import streamlit as st

from core.security import audit, audit_anchor, audit_report
from core.security import auth as core_auth
from core.store import audit_log as audit_store
from ui.auth import get_db, require_user
from ui.chrome import CHOOSE, DATE_FORMAT

PAGE_SIZE = 50


def render() -> None:
    user = require_user(page="审计日志")
    db = get_db()
    core_auth.require(user, "audit.view", db)
    st.title("审计日志")
    if not st.session_state.get("audit_view_logged"):
        audit.record(db, user["username"], "audit.view")
        st.session_state["audit_view_logged"] = True

    _chain_status(db, user)
    df = audit_report.frame(db, **_filters(db))
    st.caption(f"符合条件的记录：{len(df)} 条")
    _table(df)
    _charts(db, df)
    if core_auth.authorize(user, "audit.export_csv"):
        st.download_button(
            "导出CSV（筛选结果）",
            data=audit_report.to_csv(df),
            file_name="audit_log.csv",
            mime="text/csv",
            key="audit_csv",
            on_click=_log_csv,
            args=(user["username"], len(df)),
        )


def _log_csv(username: str, n: int) -> None:
    audit.record(get_db(), username, "audit.export_csv", detail={"rows": n})


def _chain_status(db, user) -> None:
    if st.button("重新校验哈希链", key="audit_verify") or "audit_chain" not in st.session_state:
        verdict = audit_anchor.verify(db)
        st.session_state["audit_chain"] = verdict
        audit.record(
            db,
            user["username"],
            "audit.verify",
            detail={"ok": verdict.ok, "count": verdict.count, "first_broken_id": verdict.broken_id},
        )
    verdict = st.session_state["audit_chain"]
    if verdict.ok:
        sealed = "（含密钥封印校验）" if audit.key_matches(db) else "（仅哈希链：服务器上没有本库的密钥文件）"
        st.success(f"哈希链完整：共 {verdict.count} 条记录，未发现篡改{sealed}。")
    else:
        st.error(f"哈希链已破坏：{verdict.problem_zh}。请立即报告信息科。")
    cp = verdict.checkpoint
    if cp is not None:
        st.caption(
            f"最新检查点（库外签名文件）：{cp.count} 条记录，至序号 {cp.last_id}，"
            f"链头 {cp.last_hash[:16]}…，写入于 {cp.written_at}"
        )
    else:
        st.caption(
            "尚无检查点（每次导出及每日自动写入；也可在服务器上运行 python -m core.cli audit checkpoint）"
        )


def _filters(db) -> dict:
    users = audit_store.distinct_values(db, "actor")
    names = audit_report.action_names()
    used = audit_store.distinct_values(db, "action")
    with st.expander("筛选", expanded=True):
        c1, c2, c3 = st.columns(3)
        actors = c1.multiselect("用户", users, key="audit_f_user", placeholder=CHOOSE)
        roles = c2.multiselect(
            "角色",
            list(core_auth.roles()),
            format_func=core_auth.role_name,
            key="audit_f_role",
            placeholder=CHOOSE,
        )
        case_id = c3.text_input("病例编号", key="audit_f_case")
        c4, c5 = st.columns(2)
        actions = c4.multiselect(
            "操作", used, format_func=lambda a: names.get(a, a), key="audit_f_action", placeholder=CHOOSE
        )
        dates = c5.date_input("日期范围", value=(), key="audit_f_dates", format=DATE_FORMAT)
    start = end = None
    if isinstance(dates, (list, tuple)) and dates:
        start, end = dates[0], dates[-1]
    elif dates:
        start = end = dates
    return {
        "actors": actors,
        "roles": roles,
        "case_id": case_id,
        "actions": actions,
        "start": start,
        "end": end,
    }


def _table(df) -> None:
    pages = max(1, (len(df) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = st.number_input(
        f"页码（共 {pages} 页）", min_value=1, max_value=pages, value=1, step=1, key="audit_page_no"
    )
    chunk = df.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    st.dataframe(audit_report.display(chunk), hide_index=True, width="stretch")


def _charts(db, df) -> None:
    st.subheader("统计")
    c1, c2 = st.columns(2)
    with c1:
        st.caption("每日操作数")
        st.bar_chart(audit_report.per_day(df))
    with c2:
        st.caption("各用户操作数")
        st.bar_chart(audit_report.per_user(df))
    c3, c4 = st.columns(2)
    with c3:
        st.caption("每月导出数")
        st.bar_chart(audit_report.exports_per_month(df))
    with c4:
        st.caption("整理人与审核人交叉核对（同一人必须为“否”）")
        cross = audit_report.prepared_vs_approved(db)
        st.dataframe(cross, hide_index=True, width="stretch")
        if (cross["同一人"] == "是").any():
            st.error("发现同一人整理并批准的记录！")
    _fresh_account_approvals(db)


def _fresh_account_approvals(db) -> None:
    st.subheader(f"新近变更账号的批准（{audit_report.FRESH_ACCOUNT_HOURS} 小时内新建、重置密码或修改角色）")
    fresh = audit_report.approvals_by_fresh_accounts(db)
    if fresh.empty:
        st.caption("无：所有批准均由变更超过 24 小时的账号作出。")
        return
    st.warning(
        f"共 {len(fresh)} 条批准由 {audit_report.FRESH_ACCOUNT_HOURS} 小时内新建、重置或改过角色的账号作出，"
        "可能是同一人分饰两角，请核实。"
    )
    st.dataframe(fresh, hide_index=True, width="stretch")
