"""病例列表: archive cases with filters, import (one or all matching), status and live progress."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.archive import REVIEW_TYPES, CaseFilter, default_archive
from core.security.auth import authorize
from core.errors import DeidError
from core.store import cases as case_store
from core.store import jobs as job_store
from ui.auth import get_db, require_user
from ui.chrome import DATE_FORMAT
from ui.common import CASE_KEY, flash, remember_case_in_url, set_flash

ALL = "全部"
STATUSES = [
    ALL,
    case_store.NOT_IMPORTED,
    "待处理",
    "检测中",
    "待整理",
    "待审核",
    "已批准",
    "已退回",
    "已导出",
]


def render() -> None:
    user = require_user(page="病例列表")
    db = get_db()
    st.title("病例列表")
    flash()
    archive = default_archive()
    flt, status = _filters(db, archive)
    try:
        archive_cases = archive.list_cases(flt)
    except DeidError as exc:
        st.error(exc.message_zh)
        archive_cases = []
    for problem in getattr(archive, "problems", []):
        st.warning(problem)
    rows = _rows(db, archive_cases, flt)
    if status != ALL:
        rows = [r for r in rows if r["状态"] == status]
    st.caption(f"符合条件的病例：{len(rows)} 个")
    _table(db, rows)
    if rows:
        _actions(db, user, rows)


def _filters(db, archive) -> tuple[CaseFilter, str]:
    try:
        departments = sorted({c.department for c in archive.list_cases()} | set(case_store.departments(db)))
    except DeidError:
        departments = case_store.departments(db)
    c1, c2, c3, c4, c5 = st.columns([1, 1.4, 1.2, 1, 1.2])
    department = c1.selectbox("科室", [ALL] + [d for d in departments if d], key="f_department")
    dates = c2.date_input(
        "出院日期范围",
        value=(),
        min_value=dt.date(2000, 1, 1),
        max_value=dt.date(2100, 1, 1),
        key="f_dates",
        format=DATE_FORMAT,
    )
    review_type = c3.selectbox("评审类型", [ALL, *REVIEW_TYPES], key="f_review_type")
    status = c4.selectbox("状态", STATUSES, key="f_status")
    number = c5.text_input("病例编号", key="f_number", placeholder="输入编号的一部分")
    start, end = (list(dates) + [None, None])[:2] if isinstance(dates, (list, tuple)) else (dates, None)
    flt = CaseFilter(
        department="" if department == ALL else department,
        discharge_from=start.isoformat() if start else "",
        discharge_to=end.isoformat() if end else "",
        review_type="" if review_type == ALL else review_type,
        case_number=number.strip(),
    )
    return flt, status


def _rows(db, archive_cases, flt: CaseFilter) -> list[dict]:
    stored = {c["id"]: c for c in case_store.list_cases(db, flt)}
    out = []
    seen = set()
    for ac in archive_cases:
        out.append(
            _row(
                ac.case_id,
                ac.key,
                ac.department,
                ac.discharge_date,
                ac.review_type,
                ac.document_count,
                stored.get(ac.case_id),
                db,
            )
        )
        seen.add(ac.case_id)
    for cid, c in stored.items():  # imported cases no longer in the archive stay visible
        if cid not in seen:
            out.append(
                _row(
                    cid,
                    c["archive_key"],
                    c["department"],
                    c["discharge_date"],
                    c["review_type"],
                    c["document_count"],
                    c,
                    db,
                )
            )
    return out


def _row(case_id, key, department, discharge, review_type, n_docs, stored, db) -> dict:
    job = job_store.latest(db, case_id)
    fraction, done_text, eta = None, "", ""
    if stored and stored["page_count"]:
        fraction = min(1.0, stored["pages_done"] / stored["page_count"])
        done_text = f"{stored['pages_done']}/{stored['page_count']} 页"
    if job and job["status"] in job_store.ACTIVE:
        total, done = job["progress_total"] or 0, job["progress_done"] or 0
        unit = "页" if job["kind"] == "detect" else "份文档"
        fraction = min(1.0, done / total) if total else 0.0
        done_text = f"{done}/{total} {unit}"
        eta = progress_eta(job)
    step = (
        (job or {}).get("step", "")
        if job and job["status"] in job_store.ACTIVE
        else (stored or {}).get("current_step", "")
    )
    error = (
        (job or {}).get("error")
        if job and job["status"] == job_store.FAILED
        else (stored or {}).get("error", "")
    )
    return {
        "病例编号": case_id,
        "_key": key,
        "科室": department,
        "出院日期": discharge,
        "评审类型": review_type,
        "文档数": n_docs,
        "状态": stored["status"] if stored else case_store.NOT_IMPORTED,
        "任务": _job_label(job),
        "进度": fraction,
        "已完成": done_text,
        "预计剩余": eta,
        "当前步骤": step or "",
        "问题": error or "",
        "_job": job,
    }


def duration_zh(seconds: float) -> str:
    """A duration as a clerk reads it: 45 秒, 3 分 20 秒, 1 小时 5 分."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} 秒"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} 分 {sec} 秒" if sec else f"{minutes} 分"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} 小时 {minutes} 分" if minutes else f"{hours} 小时"


def eta_text(done: int, total: int, elapsed: float, unit: str = "页") -> str:
    """Remaining time from the pace so far (items done per second of the running job), in Chinese."""
    if total <= 0 or done <= 0 or elapsed <= 0:
        return "估算中…"
    if done >= total:
        return "即将完成"
    rate = done / elapsed
    remaining = (total - done) / rate
    pace = f"{rate:.1f} {unit}/秒" if rate >= 0.1 else f"{elapsed / done:.0f} 秒/{unit}"
    return f"约 {duration_zh(remaining)}（{pace}）"


def progress_eta(job: dict, now: float | None = None) -> str:
    import time

    if job["status"] == job_store.QUEUED or not job.get("started_at"):
        return "排队中"
    now = time.time() if now is None else now
    unit = "页" if job["kind"] == "detect" else "份"
    return eta_text(job["progress_done"] or 0, job["progress_total"] or 0, now - job["started_at"], unit)


COLUMNS = {
    "进度": st.column_config.ProgressColumn(
        "进度", min_value=0.0, max_value=1.0, format="percent", width="small"
    ),
    "已完成": st.column_config.TextColumn("已完成", help="已完成 / 总数"),
    "预计剩余": st.column_config.TextColumn("预计剩余", help="按本次任务已用时间的处理速度估算"),
}


def _job_label(job) -> str:
    if not job:
        return ""
    kind = {"import": "导入", "detect": "检测"}[job["kind"]]
    status = {
        "queued": "排队中",
        "running": "进行中",
        "done": "完成",
        "failed": "失败",
        "cancelled": "已取消",
    }[job["status"]]
    return f"{kind}{status}"


def _table(db, rows: list[dict]) -> None:
    active = any(r["_job"] and r["_job"]["status"] in job_store.ACTIVE for r in rows)
    frame = pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])
    if active:
        _live_table(frame)
    else:
        st.dataframe(frame, hide_index=True, width="stretch", column_config=COLUMNS)


@st.fragment(run_every=1.0)
def _live_table(_frame) -> None:
    """Refreshes every second while a job runs (progress pages done / total)."""
    db = get_db()
    rows = []
    for r in _frame.to_dict("records"):
        stored = case_store.get_case(db, r["病例编号"])
        new = _row(r["病例编号"], "", r["科室"], r["出院日期"], r["评审类型"], r["文档数"], stored, db)
        rows.append({k: v for k, v in new.items() if not k.startswith("_")})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config=COLUMNS)
    still = any(job_store.active(db, r["病例编号"]) for r in rows)
    if not still:  # refresh the whole page once: statuses and buttons change
        st.rerun()


def _actions(db, user: dict, rows: list[dict]) -> None:
    from core.cases import tasks

    can_import = authorize(user, "case.import")
    by_id = {r["病例编号"]: r for r in rows}
    st.divider()
    left, right = st.columns([2, 1])
    with left:
        chosen = st.selectbox(
            "选择病例", list(by_id), key="pick_case", format_func=lambda c: f"{c} · {by_id[c]['科室']}"
        )
        row = by_id[chosen]
        job = row["_job"]
        if row["状态"] != case_store.NOT_IMPORTED and _under_review(row["状态"]):
            st.caption(
                f"该病例{_state_name(row['状态'])}：重新导入或重新检测会使提交与批准作废（记入审计），需重新整理和审核。"
            )
        running = bool(job and job["status"] in job_store.ACTIVE)
        if running:
            _job_progress(chosen)
        b1, b2, b3, b4 = st.columns(4)
        busy = "任务进行中，完成后才能操作" if running else None
        if row["状态"] != case_store.NOT_IMPORTED and b1.button(
            "打开审阅", key="open_review", type="primary", disabled=running, help=busy
        ):
            st.session_state[CASE_KEY] = chosen
            remember_case_in_url(chosen)
            st.switch_page("pages/页面审阅.py")
        if can_import and b2.button(
            "导入并检测" if row["状态"] == case_store.NOT_IMPORTED else "重新导入",
            key="import_one",
            disabled=running,
            help=busy,
        ):
            tasks.enqueue_import(db, row["_key"], chosen, user)
            set_flash(f"已加入导入队列：{chosen}")
            st.rerun()
        if (
            can_import
            and row["状态"] != case_store.NOT_IMPORTED
            and b3.button("重新检测", key="detect_one", disabled=running, help=busy)
        ):
            tasks.enqueue_detect(db, chosen, user)
            set_flash(f"已加入检测队列：{chosen}（人工标注与审阅决定将保留）")
            st.rerun()
        if can_import and running and b4.button("取消任务", key="cancel_job"):
            tasks.cancel_job(db, job["id"], user)
            set_flash(f"已请求取消：{chosen}", "info")
            st.rerun()
    with right:
        pending = [r for r in rows if r["状态"] == case_store.NOT_IMPORTED]
        if can_import and st.button(
            f"导入全部符合条件的未导入病例（{len(pending)} 个）", key="import_all", disabled=not pending
        ):
            for r in pending:
                tasks.enqueue_import(db, r["_key"], r["病例编号"], user)
            set_flash(f"已加入导入队列：{len(pending)} 个病例")
            st.rerun()
        if not can_import:
            st.caption("导入与检测由整理人操作。")


@st.fragment(run_every=1.0)
def _job_progress(case_id: str) -> None:
    """The chosen case's running job as a progress bar: done / total, step and the time left."""
    db = get_db()
    job = job_store.active(db, case_id)
    if job is None:  # the job ended: the whole page once (status, buttons)
        st.rerun()
        return
    kind = {"import": "导入", "detect": "检测"}[job["kind"]]
    total, done = job["progress_total"] or 0, job["progress_done"] or 0
    unit = "页" if job["kind"] == "detect" else "份文档"
    fraction = min(1.0, done / total) if total else 0.0
    step = f" · {job['step']}" if job["step"] else ""
    st.progress(fraction, text=f"{kind}中：{done}/{total} {unit}{step} · 预计剩余 {progress_eta(job)}")


def _under_review(status: str) -> bool:
    from core.cases import workflow

    try:
        return workflow.code_of(status) in (workflow.IN_REVIEW, workflow.APPROVED, workflow.EXPORTED)
    except workflow.WorkflowError:
        return False


def _state_name(status: str) -> str:
    from core.cases import workflow

    return workflow.display_name(status)
