"""提交与审核 page: preparers submit cases; supervisors approve (freezing the plan hash) or return them."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.security import audit
from core.cases import review, workflow
from core.security.audit_report import local_time
from core.errors import DeidError
from core.store import cases as case_store
from core.store import reviews
from ui.auth import get_db, require_user


def render() -> None:
    user = require_user(page="审核")
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
    """Submit controls for one case (also usable from the case pages).

    Submission needs every included page viewed and no undecided box; an
    incomplete review may be submitted only with a reason (audited)."""
    from core.store import reviews as review_store

    status = workflow.status_of(db, case_id)
    st.markdown(f"**病例 {case_id}** · 当前状态：{workflow.display_name(status)}")
    if status == workflow.RETURNED:
        reason = next(
            (e["reason"] for e in reversed(workflow.history(db, case_id)) if e["event"] == "return"), ""
        )
        st.warning(f"审核人退回原因：{reason}")
    if status not in (workflow.PREPARING, workflow.RETURNED):
        return
    from core.store import jobs as job_store

    running = job_store.active(db, case_id)
    if running:
        st.info("该病例的导入或检测任务正在进行（见「病例列表」的进度），完成后才能提交审核。")
    progress = review_store.review_progress(db, case_id)
    incomplete = progress["unviewed"] > 0 or progress["open_boxes"] > 0
    st.caption(f"已查看 {progress['viewed']}/{progress['pages']} 页 · 待确认框 {progress['open_boxes']} 个")
    if incomplete:
        st.warning(
            f"还有 {progress['unviewed']} 页未查看、{progress['open_boxes']} 个待确认框。"
            "请在「页面审阅」中查看全部页面并确认每个框；如确需提前提交，请勾选强制提交并填写理由（记入审计，审核人可见）。"
        )
    with st.form(f"rv_submit_{case_id}"):
        note = st.text_area("提交说明（可选）", key=f"rv_note_{case_id}")
        override = reason = None
        if incomplete:
            override = st.checkbox("未完成审阅，仍然强制提交", key=f"rv_override_{case_id}")
            reason = st.text_area("强制提交理由（必填）", key=f"rv_override_reason_{case_id}")
        go = st.form_submit_button("提交审核", type="primary", disabled=bool(running))
    if go:
        try:
            workflow.submit(
                db, case_id, user, comment=note or None, override_reason=(reason or "") if override else None
            )
        except DeidError as exc:
            st.error(exc.message_zh)
            return
        st.session_state["rv_flash"] = f"病例 {case_id} 已提交审核"
        st.rerun()


def _summary(db, case_id: str) -> dict:
    events = workflow.history(db, case_id)
    submit = next((e for e in reversed(events) if e["event"] == "submit"), None)
    row = case_store.get_case(db, case_id) or {}
    return {
        "病例": case_id,
        "科室": row.get("department", ""),
        "评审类型": row.get("review_type", ""),
        "页数": row.get("page_count", 0),
        "提交人": submit["actor"] if submit else "",
        "提交时间": local_time(submit["at"]) if submit else "",
    }


def review_panel(db, user: dict, case_id: str) -> None:
    """Approve / return controls for one case (also usable from the case pages).

    The fingerprint shown on this page is what 批准 approves: it is kept in
    the session from the run that displayed it, so a change made after the
    page was drawn refuses the approval and shows what changed."""
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
    shown_key = f"rv_shown_{case_id}"
    shown = st.session_state.get(shown_key)  # the fingerprint the previous run displayed
    state = review.approval_review(db, user, case_id)
    _submission_note(state)
    _changes(db, user, state)
    c1, c2 = st.columns(2)
    with c1.form(f"rv_approve_{case_id}"):
        comment = st.text_area("批准意见（可选）", key=f"rv_comment_{case_id}")
        ok = st.form_submit_button("批准", type="primary")
    with c2.form(f"rv_return_{case_id}"):
        reason = st.text_area("退回原因（必填）", key=f"rv_reason_{case_id}")
        back = st.form_submit_button("退回")
    st.session_state[shown_key] = state["plan_hash"]
    try:
        if ok:
            appr = workflow.approve(db, case_id, user, shown or "", comment=comment or None)
            st.session_state["rv_flash"] = f"已批准病例 {case_id}（批准记录 {appr['id']}）"
            st.rerun()
        if back:
            workflow.return_case(db, case_id, user, reason)
            st.session_state["rv_flash"] = f"病例 {case_id} 已退回整理人"
            st.rerun()
    except workflow.ApprovalConflict as exc:
        st.error(exc.message_zh)
        st.markdown("**批准前后的变化**")
        for line in workflow.describe_plan_diff(exc.diff):
            st.markdown(f"- {line}")
        st.caption("上方显示的是当前方案；确认变化后可再次批准。")
    except DeidError as exc:
        st.error(exc.message_zh)


def _submission_note(state: dict) -> None:
    sub = state["submission"]
    opened, pages = len(state["pages_opened"]), state["pages"]
    if sub and sub["override"]:
        st.warning(
            f"整理人强制提交：提交时 {sub['pages_total'] - sub['pages_viewed']} 页未查看、"
            f"{sub['open_boxes']} 个待确认框。理由：{sub['override_reason']}"
        )
    note = f"您已打开 {opened}/{pages} 页（批准记录将保存您打开过的页面）"
    (st.warning if opened == 0 and pages else st.caption)(
        note + ("。您还没有打开任何页面，请先在「页面审阅」中查看。" if opened == 0 and pages else "")
    )
    st.caption(f"脱敏方案指纹：{state['plan_hash'][:16]}…（覆盖所有纳入文档的文件摘要、页数和全部遮盖框）")


MAX_THUMBS = 24


def _changes(db, user: dict, state: dict) -> None:
    """The preparer's changes: manual, moved and rejected boxes, with thumbnails."""
    counts = state["counts"]
    st.markdown(
        "**整理人的修改**：" + "，".join(f"{review.CHANGE_KINDS[k]} {n} 个" for k, n in counts.items())
    )
    for kind, title in review.CHANGE_KINDS.items():
        items = [c for c in state["changes"] if c["kind"] == kind]
        if not items:
            continue
        with st.expander(f"{title}（{len(items)}）", expanded=len(items) <= 6):
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "文档": c["doc_type"] or c["doc_id"],
                            "页": c["page_index"] + 1,
                            "类别": c["label"],
                            "内容（已遮蔽）": c["masked"],
                        }
                        for c in items
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
            cols = st.columns(3)
            for n, c in enumerate(items[:MAX_THUMBS]):
                with cols[n % 3]:
                    st.image(
                        review.change_thumbnail_png(db, user, c),
                        caption=f"{c['doc_type'] or c['doc_id']} 第{c['page_index'] + 1}页 · {c['label']}",
                    )
            if len(items) > MAX_THUMBS:
                st.caption(f"另有 {len(items) - MAX_THUMBS} 个未显示缩略图，请在「页面审阅」中逐页查看。")


def _recent(db) -> None:
    rows = reviews.recent_approvals(db, 20)
    why = {
        "edited": "否（批准后被修改）",
        "reimported": "否（重新导入后作废）",
        "redetected": "否（重新检测后作废）",
    }
    if rows:
        st.subheader("最近的批准记录")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "批准记录": r["id"],
                        "病例": r["case_id"],
                        "整理人": r["prepared_by"],
                        "审核人": r["approved_by"],
                        "时间": local_time(r["approved_at"]),
                        "审核人打开的页": f"{len(json.loads(r['pages_opened'] or '[]'))}/{r['pages_total'] or 0}",
                        "有效": why.get(r["superseded_reason"], "否") if r["superseded_at"] else "是",
                    }
                    for r in rows
                ]
            ),
            hide_index=True,
            width="stretch",
        )
