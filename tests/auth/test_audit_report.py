"""Audit page data: filters by date range, per-day/per-user/export counts, prepared-vs-approved, CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

from core.security import audit, audit_report
from core.cases import workflow
from core.security.handles import case_handle


def test_counts_and_date_range(db, users):
    now = datetime.now(timezone.utc)
    audit.record(db, "prep1", "export.create", case_id="A", at=now - timedelta(days=40))
    audit.record(db, "prep1", "export.create", case_id="B", at=now - timedelta(days=1))
    audit.record(db, "sup1", "case.view", case_id="B", at=now)
    audit.record(db, "prep1", "export.create", case_id="C", detail={"blocked": True, "leaks": 1})
    df = audit_report.frame(db, actions=["export.create", "case.view"])
    assert len(df) == 4
    assert audit_report.exports_per_month(df)["导出数"].sum() == 2
    assert audit_report.per_user(df).loc["prep1", "操作数"] == 3
    assert audit_report.per_day(df)["操作数"].sum() == 4
    local_today = datetime.now().date()
    recent = audit_report.frame(
        db, actions=["export.create", "case.view"], start=local_today - timedelta(days=3), end=local_today
    )
    assert set(recent["case_id"]) == {
        case_handle("B"),
        case_handle("C"),
    }  # A (40 days ago) is outside the range


def test_prepared_vs_approved_cross_check(db, users, make_case):
    for cid, prep, sup in (("P1", "prep1", "sup1"), ("P2", "prep1", "sup2"), ("P3", "prep2", "sup1")):
        make_case(cid)
        workflow.start_detection(db, cid)
        workflow.detection_done(db, cid)
        workflow.submit(db, cid, users[prep])
        workflow.approve(db, cid, users[sup], workflow.case_plan_hash(db, cid))
    cross = audit_report.prepared_vs_approved(db)
    assert len(cross) == 3 and set(cross["同一人"]) == {"否"}
    assert cross["批准次数"].sum() == 3


def test_csv_has_hashes_and_chinese_headers(db, users):
    audit.record(db, "aud1", "audit.view")
    data = audit_report.to_csv(audit_report.frame(db)).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    assert rows[0]["操作"] == "查看审计日志" and len(rows[0]["哈希"]) == 64


def test_export_counts_stay_numbers_and_pages_are_integers(db, users):
    import pyarrow as pa

    audit.record(
        db,
        "prep1",
        "export.create",
        case_id="E1",
        detail={"counts": {"address": 4, "patient_name": 12}, "pages": 9},
    )
    audit.record(db, "prep1", "page.view", case_id="E1", page=3)
    audit.record(db, "prep1", "export.create", case_id="E2", detail={"counts": {"address": "南京市玄武区"}})
    shown = audit_report.display(audit_report.frame(db, case_id="E1"))
    details = " ".join(shown["详情"])
    assert '"address":4' in details and '"patient_name":12' in details  # not masked into "4*"
    assert set(shown["页"]) == {"3", ""}  # "3", not "3.0"
    pa.Table.from_pandas(shown)  # one type per column: Streamlit's Arrow conversion succeeds
    leaked = audit_report.display(audit_report.frame(db, case_id="E2"))
    assert "南京市玄武区" not in " ".join(leaked["详情"])  # text under an identifier key is still masked
