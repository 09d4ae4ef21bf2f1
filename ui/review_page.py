"""提交与审核 page: preparers submit cases; supervisors approve (freezing the plan hash) or return them."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core import audit, workflow
from core.audit_report import local_time
from core.display import category_counts_text
from core.errors import DeidError
from ui.auth import get_db, require_user


def render() -> None:
    user = require_user(("preparer", "supervisor"))
    db = get_db()
    st.title("提交与审核")
    flash = st.session_state.pop("rv_flash", None)
    if flash:
        st.success(flash)
    if user["role"] == "preparer":
        _preparer_view(db, user)
    else:
        _supervisor_view(db, user)
    _recent(db)


def _supervisor_view(db, user: dict) -> None:
    waiting = workflow.cases_in(db, workflow.IN_REVIEW)
    if not waiting:
        st.info("没有待审核的病例。")
        return
    st.subheader("待审核的病例")
    st.dataframe(pd.DataFrame([_summary(db, c) for c in waiting]), hide_index=True, width="stretch")
    case_id = st.selectbox("选择病例", waiting, key="rv_case")
    review_panel(db, user, case_id)


def _preparer_view(db, user: dict) -> None:
    ready = workflow.cases_in(db, workflow.PREPARING) + workflow.cases_in(db, workflow.RETURNED)
    waiting = workflow.cases_in(db, workflow.IN_REVIEW)
    if waiting:
        st.caption("已提交、等待审核人审核：" + "、".join(waiting))
    if not ready:
        st.info("没有可提交审核的病例（待整理或已退回）。")
        return
    st.subheader("可提交审核的病例")
    case_id = st.selectbox("选择病例", ready, key="rv_submit_case")
    submit_panel(db, user, case_id)


def submit_panel(db, user: dict, case_id: str) -> None:
    """Submit controls for one case (also usable from the case pages)."""
    status = workflow.status_of(db, case_id)
    st.markdown(f"**病例 {case_id}** · 当前状态：{workflow.display_name(status)}")
    if status == workflow.RETURNED:
        reason = next((e["reason"] for e in reversed(workflow.history(db, case_id)) if e["event"] == "return"), "")
        st.warning(f"审核人退回原因：{reason}")
    if status not in (workflow.PREPARING, workflow.RETURNED):
        return
    with st.form(f"rv_submit_{case_id}"):
        note = st.text_area("提交说明（可选）", key=f"rv_note_{case_id}")
        go = st.form_submit_button("提交审核", type="primary")
    if go:
        try:
            workflow.submit(db, case_id, user, comment=note or None)
        except DeidError as exc:
            st.error(exc.message_zh)
            return
        st.session_state["rv_flash"] = f"病例 {case_id} 已提交审核"
        st.rerun()


def _summary(db, case_id: str) -> dict:
    events = workflow.history(db, case_id)
    submit = next((e for e in reversed(events) if e["event"] == "submit"), None)
    row = db.conn.execute("SELECT department, review_type, page_count FROM cases WHERE id = ?", [case_id]).fetchone()
    return {"病例": case_id, "科室": row[0] if row else "", "评审类型": row[1] if row else "",
            "页数": row[2] if row else 0, "提交人": submit["actor"] if submit else "",
            "提交时间": local_time(submit["at"]) if submit else ""}


def review_panel(db, user: dict, case_id: str) -> None:
    """Approve / return controls for one case (also usable from the case pages)."""
    status = workflow.status_of(db, case_id)
    st.markdown(f"**病例 {case_id}** · 当前状态：{workflow.display_name(status)}")
    if status != workflow.IN_REVIEW:
        return
    if not st.session_state.get(f"rv_viewed_{case_id}"):
        audit.record(db, user["username"], "case.view", case_id=case_id, detail={"from": "review"})
        st.session_state[f"rv_viewed_{case_id}"] = True
    submitter = workflow.last_submitter(db, case_id)
    if submitter == user["username"]:
        st.warning("此病例由您本人提交，按双人复核规定不能由您审核。")
    try:
        counts = dict(db.conn.execute(
            "SELECT category, COUNT(*) FROM findings WHERE case_id = ? AND status != 'rejected' GROUP BY category",
            [case_id]).fetchall())
    except Exception:
        counts = {}
    if counts:
        st.caption("将遮盖的区域（按类别）：" + category_counts_text(counts))
    plan_hash = workflow.case_plan_hash(db, case_id)
    st.caption(f"脱敏方案指纹：{plan_hash[:16]}…")
    c1, c2 = st.columns(2)
    with c1.form(f"rv_approve_{case_id}"):
        comment = st.text_area("批准意见（可选）", key=f"rv_comment_{case_id}")
        ok = st.form_submit_button("批准", type="primary")
    with c2.form(f"rv_return_{case_id}"):
        reason = st.text_area("退回原因（必填）", key=f"rv_reason_{case_id}")
        back = st.form_submit_button("退回")
    try:
        if ok:
            appr = workflow.approve(db, case_id, user, plan_hash, comment=comment or None)
            st.session_state["rv_flash"] = f"已批准病例 {case_id}（批准记录 {appr['id']}）"
            st.rerun()
        if back:
            workflow.return_case(db, case_id, user, reason)
            st.session_state["rv_flash"] = f"病例 {case_id} 已退回整理人"
            st.rerun()
    except DeidError as exc:
        st.error(exc.message_zh)


def _recent(db) -> None:
    rows = db.conn.execute(
        "SELECT id, case_id, prepared_by, approved_by, approved_at, superseded_at FROM approvals ORDER BY id DESC LIMIT 20"
    ).fetchall()
    if rows:
        st.subheader("最近的批准记录")
        st.dataframe(pd.DataFrame([{
            "批准记录": r[0], "病例": r[1], "整理人": r[2], "审核人": r[3],
            "时间": local_time(r[4]),
            "有效": "否（批准后被修改）" if r[5] else "是"} for r in rows]), hide_index=True, width="stretch")
