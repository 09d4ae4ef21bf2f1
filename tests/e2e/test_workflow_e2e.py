"""Browser end-to-end: preparer submits, the same preparer cannot approve, a supervisor
approves, the auditor sees the actions and an intact chain (real Streamlit server, real Chromium).

Screenshots: test-artifacts/auth/*.png
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest

from tools.bench.browser import CHROMIUM, CHROMIUM_ARGS
from tools.bench.server import streamlit_app

from core.security import audit, auth
from core.cases import workflow
from core.store.db import open_db

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "auth"
PASSWORDS = {"e2e_prep": "Prep-Pass-2024!", "e2e_sup": "Sup-Pass-2024!", "e2e_aud": "Aud-Pass-2024!"}
ROLES = {"e2e_prep": "preparer", "e2e_sup": "supervisor", "e2e_aud": "auditor"}
CASE = "E2E-0001"
WAIT_MS = 30_000

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Debian chromium missing: run `make setup`"
)


def _insert_case(db, case_id: str) -> None:
    cols = db.conn.execute("PRAGMA table_info(cases)").fetchall()
    values = {"id": case_id}
    for _, name, ctype, notnull, default, pk in cols:
        if name in values or pk or not notnull or default is not None:
            continue
        values[name] = 0 if any(t in (ctype or "").upper() for t in ("INT", "REAL")) else ""
    names = list(values)
    db.conn.execute(
        f"INSERT INTO cases ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        [values[n] for n in names],
    )


@pytest.fixture
def server(tmp_path, monkeypatch):
    data = tmp_path / "data"
    env = {**os.environ, "DEID_DATA_DIR": str(data), "DEID_BCRYPT_ROUNDS": "4", "PYTHONPATH": str(ROOT)}
    monkeypatch.setenv("DEID_BCRYPT_ROUNDS", "4")
    db = open_db(data / "deid.sqlite")
    for name, role in ROLES.items():
        auth.create_user(db, name, role, PASSWORDS[name], must_change=False)
    _insert_case(db, CASE)
    workflow.start_detection(db, CASE)
    workflow.detection_done(db, CASE)
    entry = os.environ.get("DEID_E2E_ENTRY", str(ROOT / "app.py"))
    with streamlit_app(env, tmp_path / "streamlit.log", entry) as base:
        yield base, db


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _login(browser, base: str, page_path: str, username: str):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{base}/{quote(page_path)}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORDS[username])
    page.get_by_role("button", name="登录").click()
    page.get_by_text("当前用户：").wait_for()
    return ctx, page


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_submit_four_eyes_approve_audit(server, browser):
    base, db = server

    # 1. the preparer submits the case
    ctx, page = _login(browser, base, "审核", "e2e_prep")
    page.get_by_role("heading", name="提交与审核").wait_for()
    page.get_by_role("button", name="提交审核").click()
    page.get_by_text(f"病例 {CASE} 已提交审核").wait_for()
    _shot(page, "01_preparer_submitted")
    assert workflow.status_of(db, CASE) == "in_review"
    # 2. the same preparer cannot approve: no approve control, and the core refuses
    assert page.get_by_role("button", name="批准").count() == 0
    with pytest.raises(Exception, match="双人复核|case.approve"):
        workflow.approve(db, CASE, {**auth.get_user(db, "e2e_prep"), "role": "supervisor"}, "0" * 64)
    # ... nor open the audit page by typing its URL: the new page load keeps the login
    # (session cookie) and the preparer's role is refused
    page.goto(f"{base}/{quote('审计日志')}")
    page.get_by_text("无权访问此页面").wait_for()
    assert page.get_by_text("哈希链").count() == 0
    _shot(page, "02_preparer_refused_audit")
    page.get_by_role("button", name="退出登录").click()
    page.get_by_role("button", name="登录").wait_for()
    ctx.close()

    # 3. a supervisor approves
    ctx, page = _login(browser, base, "审核", "e2e_sup")
    page.get_by_text(f"病例 {CASE}").first.wait_for()
    _shot(page, "03_supervisor_review")
    page.get_by_role("button", name="批准").click()
    page.get_by_text(f"已批准病例 {CASE}").wait_for()
    _shot(page, "04_supervisor_approved")
    assert workflow.status_of(db, CASE) == "approved"
    approval = workflow.assert_exportable(db, CASE)
    assert (approval["prepared_by"], approval["approved_by"]) == ("e2e_prep", "e2e_sup")
    ctx.close()

    # 4. the auditor sees the actions and an intact chain
    ctx, page = _login(browser, base, "审计日志", "e2e_aud")
    page.get_by_text("哈希链完整").wait_for()
    page.get_by_label("病例编号").fill(CASE)
    page.get_by_label("病例编号").press("Enter")
    page.get_by_text("符合条件的记录：").wait_for()
    try:
        page.wait_for_function("() => document.body.innerText.includes('符合条件的记录：4 条')")
    finally:
        _shot(page, "05_auditor_chain_intact")
    with page.expect_download() as dl:
        page.get_by_role("button", name="导出CSV（筛选结果）").click()
    csv_text = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    assert len(csv_text.strip().splitlines()) == 1 + 4 and "case.approve" in csv_text
    page.wait_for_timeout(500)
    ctx.close()
    assert audit.rows(db, actor="e2e_aud", action="audit.export_csv")

    actions = {(r["actor"], r["action"]) for r in audit.rows(db, case_id=CASE)}
    assert {("e2e_prep", "case.submit"), ("e2e_sup", "case.approve"), ("e2e_sup", "case.view")} <= actions
    assert ("e2e_prep", "permission.denied") in {(r["actor"], r["action"]) for r in audit.rows(db)}
    ok, count, broken = audit.verify_chain(db)
    assert ok and broken is None and count >= 10
