"""Audit trail as tables for the audit page: filtered frame, charts' data, CSV.

Plain pandas; the page (``ui/audit_page.py``) only lays it out.
"""

from __future__ import annotations

from datetime import date, datetime, time as dtime, timedelta

import pandas as pd

from core.security import audit
from core.rules import load_rules
from core.store import accounts

FRESH_ACCOUNT_HOURS = 24
CHANGE_NAMES = {
    "user.add": "新建账号",
    "user.reset_password": "重置密码",
    "user.role_change": "修改角色",
    "user.role_grant_confirmed": "确认审核人角色",
}
FRESH_COLUMNS = ["批准序号", "病例", "审核人", "批准时间", "账号变更", "变更人", "变更时间", "批准仍有效"]

COLUMNS = ["id", "ts", "actor", "role", "action", "case_id", "page", "detail", "hash"]
HEADERS = {
    "id": "序号",
    "time": "时间",
    "actor": "用户",
    "role_name": "角色",
    "action_name": "操作",
    "action": "操作代码",
    "case_id": "病例",
    "page": "页",
    "detail": "详情",
    "hash": "哈希",
}


def local_time(epoch: float | None) -> str:
    """Epoch seconds -> server-local 'YYYY-MM-DD HH:MM'."""
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M") if epoch else ""


def action_names() -> dict[str, str]:
    return dict(load_rules("audit_actions"))


def _day_bounds(start: date | None, end: date | None) -> tuple[str | None, str | None]:
    """Local-calendar dates -> UTC ISO bounds [since, until)."""
    local = datetime.now().astimezone().tzinfo
    since = audit.format_ts(datetime.combine(start, dtime.min, local)) if start else None
    until = audit.format_ts(datetime.combine(end + timedelta(days=1), dtime.min, local)) if end else None
    return since, until


def frame(db, *, actors=None, roles=None, case_id=None, actions=None, start=None, end=None) -> pd.DataFrame:
    """Filtered rows, newest first, with display columns (local time, Chinese names)."""
    since, until = _day_bounds(start, end)
    rows = audit.rows(
        db,
        actor=actors or None,
        role=roles or None,
        case_id=(case_id or "").strip() or None,
        action=actions or None,
        since=since,
        until=until,
    )
    df = (
        pd.DataFrame(rows, columns=COLUMNS + ["prev_hash"])
        if rows
        else pd.DataFrame(columns=COLUMNS + ["prev_hash"])
    )
    from core.security.auth import role_name

    names = action_names()
    df["time"] = (
        pd.to_datetime(df["ts"], utc=True, format="%Y-%m-%dT%H:%M:%S.%fZ")
        .dt.tz_convert(datetime.now().astimezone().tzinfo)
        .dt.strftime("%Y-%m-%d %H:%M:%S")
        if len(df)
        else []
    )
    df["role_name"] = [role_name(r) for r in df["role"]]
    df["action_name"] = [names.get(a, a) for a in df["action"]]
    return df


def display(df: pd.DataFrame) -> pd.DataFrame:
    cols = ["id", "time", "actor", "role_name", "action_name", "case_id", "page", "detail"]
    out = df[cols].copy()
    out["page"] = [_whole_number(v) for v in out["page"]]  # one type per column (Arrow), "3" not "3.0"
    out["case_id"] = [v if isinstance(v, str) else "" for v in out["case_id"]]
    return out.where(out.notna(), "").rename(columns=HEADERS)


def _whole_number(value) -> str:
    return "" if value is None or pd.isna(value) else str(int(value))


def to_csv(df: pd.DataFrame) -> bytes:
    """CSV (UTF-8 with BOM so Excel opens Chinese correctly) of the filtered rows incl. hashes."""
    cols = ["id", "time", "actor", "role_name", "action_name", "action", "case_id", "page", "detail", "hash"]
    return df[cols].rename(columns=HEADERS).to_csv(index=False).encode("utf-8-sig")


def per_day(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return pd.DataFrame({"操作数": []})
    return df.assign(日期=df["time"].str[:10]).groupby("日期").size().to_frame("操作数")


def per_user(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return pd.DataFrame({"操作数": []})
    return df.groupby("actor").size().sort_values(ascending=False).to_frame("操作数").rename_axis("用户")


def exports_per_month(df: pd.DataFrame) -> pd.DataFrame:
    if not df.empty:  # released exports only (a blocked export is recorded with "blocked": true)
        exp = df[
            (df["action"] == "export.create") & ~df["detail"].str.contains('"blocked":true', regex=False)
        ]
    else:
        exp = df
    if exp.empty:
        return pd.DataFrame({"导出数": []})
    return exp.assign(月份=exp["time"].str[:7]).groupby("月份").size().to_frame("导出数")


def prepared_vs_approved(db) -> pd.DataFrame:
    """Who prepared vs who approved, per pair; ``同一人`` must always be 否 (four eyes)."""
    rows = accounts.approval_pairs(db)
    return pd.DataFrame(
        [
            {
                "整理人": p,
                "审核人": a,
                "批准次数": n,
                "有效批准": int(live or 0),
                "同一人": "是" if p == a else "否",
            }
            for p, a, n, live in rows
        ],
        columns=["整理人", "审核人", "批准次数", "有效批准", "同一人"],
    )


def approvals_by_fresh_accounts(db, hours: int = FRESH_ACCOUNT_HOURS) -> pd.DataFrame:
    """Approvals given by an account created, reset or re-roled in the ``hours`` before the approval.

    Such an approval may be one person acting twice (an admin who made or
    reset the account and logged in as it); the audit page flags each one.
    """
    rows = accounts.approvals_after_account_change(db, hours * 3600.0)
    local = datetime.now().astimezone().tzinfo
    out = []
    for r in rows:
        changed = audit.parse_ts(r["changed_ts"]).astimezone(local).strftime("%Y-%m-%d %H:%M")
        out.append(
            {
                "批准序号": r["approval_id"],
                "病例": r["case_id"],
                "审核人": r["approved_by"],
                "批准时间": local_time(r["approved_at"]),
                "账号变更": CHANGE_NAMES.get(r["change"], r["change"]),
                "变更人": r["changed_by"],
                "变更时间": changed,
                "批准仍有效": "否" if r["superseded_at"] else "是",
            }
        )
    return pd.DataFrame(out, columns=FRESH_COLUMNS)
