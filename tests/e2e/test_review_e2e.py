"""Real browser (Debian chromium via Playwright) against a real streamlit server
and a real huey consumer: filter cases, import, open the case, draw a box on
the page canvas, check it is stored, export, and check the downloaded PDF is
redacted under the box.  Screenshots go to test-artifacts/review_e2e/."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pymupdf
import pytest

from tools.bench.browser import CHROMIUM, CHROMIUM_ARGS
from tools.bench.server import stop, streamlit_app

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "review_e2e"
PASSWORD = "Review-Pass-2024"
WAIT_MS = 60_000

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian chromium not installed (make setup)"
)


def _factory():
    spec = importlib.util.spec_from_file_location(
        "deid_test_factory_e2e", ROOT / "tests" / "store" / "factory.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def server(tmp_path, monkeypatch):
    data, archive = tmp_path / "data", tmp_path / "archive"
    env = {
        **os.environ,
        "DEID_DATA_DIR": str(data),
        "DEID_ARCHIVE_DIR": str(archive),
        "DEID_BCRYPT_ROUNDS": "4",
        "PYTHONPATH": str(ROOT),
    }
    for var in ("DEID_DB", "DEID_HUEY_DB"):
        env.pop(var, None)
        monkeypatch.delenv(var, raising=False)
    env["DEID_KEY_FILE"] = str(tmp_path / "keyring" / "storage.key")  # outside the data dir, as deployed
    monkeypatch.setenv("DEID_KEY_FILE", env["DEID_KEY_FILE"])
    monkeypatch.setenv("DEID_DATA_DIR", str(data))
    monkeypatch.setenv("DEID_ARCHIVE_DIR", str(archive))
    monkeypatch.setenv("DEID_BCRYPT_ROUNDS", "4")
    f = _factory()
    f.make_case(
        archive,
        "C2024001",
        department="产科",
        discharge_date="2024-05-02",
        patient_name="李秀英",
        inpatient_no="ZY20240501",
    )
    f.make_case(
        archive,
        "C2025002",
        department="新生儿科",
        discharge_date="2025-02-11",
        review_type="儿童死亡评审",
        patient_name="赵小宝",
        inpatient_no="ZY20250211",
    )
    from core.security import auth
    from core.store.db import open_db

    db = open_db()
    for name, role in (("prep1", "preparer"), ("sup1", "supervisor")):
        auth.create_user(db, name, role, PASSWORD, must_change=False)
    bindir = Path(sys.executable).parent
    logs = open(tmp_path / "servers.log", "w")  # noqa: SIM115  (the servers write to it; closed in finally)
    worker = subprocess.Popen(
        [
            str(bindir / "huey_consumer"),
            "core.cases.tasks.huey",
            "-w",
            "1",
            "-k",
            "thread",
            "-d",
            "0.1",
            "-m",
            "0.5",
        ],
        cwd=ROOT,
        env=env,
        stdout=logs,
        stderr=subprocess.STDOUT,
    )
    try:
        with streamlit_app(env, tmp_path / "app.log") as base:
            yield base, db
    finally:
        stop(worker)
        logs.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _select(page, label: str, option: str) -> None:
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first.click()
    page.get_by_role("option", name=option).first.click()


def _wait_canvas_drawn(page, timeout_s: float = 30) -> None:
    """Wait until fabric has drawn the stored boxes (the canvas is ready for mouse input)."""
    js = (
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;"
        " for (let i = 3; i < d.length; i += 64) if (d[i] > 0) n++; return n; }"
    )
    end = time.time() + timeout_s
    while time.time() < end:
        try:
            if page.locator("canvas.dc-canvas.lower-canvas").first.evaluate(js, timeout=5000) > 0:
                page.wait_for_timeout(300)
                return
        except Exception:  # the element may be re-rendered by a rerun while we look
            pass
        time.sleep(0.2)
    raise AssertionError("canvas never drew the stored boxes")


def test_filter_import_draw_box_export_redacted(server, tmp_path):
    from playwright.sync_api import sync_playwright

    from core.cases import workflow
    from core.store import documents as doc_store
    from core.store import findings as finding_store

    base, db = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(
            viewport={"width": 1500, "height": 1100}, locale="zh-CN", accept_downloads=True
        )
        page = ctx.new_page()
        page.set_default_timeout(WAIT_MS)
        try:
            # log in
            page.goto(base + "/")
            page.get_by_label("用户名").fill("prep1")
            page.get_by_label("密码").fill(PASSWORD)
            page.get_by_role("button", name="登录").click()
            page.get_by_role("heading", name="病例列表").wait_for()
            page.get_by_text("符合条件的病例：2 个").wait_for()
            _shot(page, "01_case_list")
            # filter by department, import the one case left
            _select(page, "科室", "产科")
            page.get_by_text("符合条件的病例：1 个").wait_for()
            _shot(page, "02_filtered")
            page.get_by_role("button", name="导入并检测").click()
            page.get_by_role("button", name="打开审阅").wait_for(timeout=90_000)
            deadline = time.time() + 90
            while workflow.status_of(db, "C2024001") != "preparing":
                assert time.time() < deadline, "detection did not finish"
                time.sleep(0.3)
            _shot(page, "03_imported")
            # open the case and draw a box on the first page (a blank band below the text)
            page.get_by_role("button", name="打开审阅").click()
            page.get_by_role("heading", name="页面审阅").wait_for()
            canvas = page.locator("canvas.upper-canvas").first
            canvas.wait_for()
            page.wait_for_timeout(800)
            _shot(page, "04_review_page")
            first = doc_store.list_pages(db, "C2024001")[0]
            before = {r["id"] for r in finding_store.for_page(db, first["id"])}
            canvas.scroll_into_view_if_needed()
            _wait_canvas_drawn(page)
            box = canvas.bounding_box()
            x0, y0, x1, y1 = 100, 330, 420, 420  # render pixels at 100 dpi, 100 % zoom
            for attempt in range(2):  # a loaded CI machine may swallow the first drag
                page.mouse.move(box["x"] + x0, box["y"] + y0)
                page.mouse.down()
                page.mouse.move(box["x"] + (x0 + x1) / 2, box["y"] + (y0 + y1) / 2, steps=5)
                page.mouse.move(box["x"] + x1, box["y"] + y1, steps=5)
                page.mouse.up()
                try:
                    page.get_by_text("已保存 1 处修改").wait_for(timeout=20_000)
                    break
                except Exception:
                    if attempt or len(finding_store.for_page(db, first["id"])) > len(before):
                        raise
            _shot(page, "05_box_drawn")
            added = [r for r in finding_store.for_page(db, first["id"]) if r["id"] not in before]
            assert len(added) == 1 and added[0]["source"] == "manual" and added[0]["created_by"] == "prep1"
            (rect,) = finding_store.rects_of(added[0])
            assert rect == pytest.approx((x0 * 0.72, y0 * 0.72, x1 * 0.72, y1 * 0.72), abs=3)
            actions = {
                r[0] for r in db.execute("SELECT action FROM audit_log WHERE actor = 'prep1'").fetchall()
            }
            assert {"case.view", "page.view", "box.add", "case.import"} <= actions
            # preview shows the redacted page
            page.get_by_text("预览导出效果").click()
            page.get_by_text("预览：已涂黑").wait_for()
            page.wait_for_function(
                "() => [...document.querySelectorAll('[data-testid=stImage] img')]"
                ".some(i => i.complete && i.naturalWidth > 500)"
            )
            _shot(page, "06_preview")
            page.get_by_text("预览导出效果").click()
            canvas.wait_for()
            # page switch as the user sees it (click -> next page's canvas shown)
            t = time.perf_counter()
            page.get_by_role("button", name="下一页 ▶").click()
            page.get_by_text("页面 2 / 4").wait_for()
            page.locator("canvas.upper-canvas").first.wait_for()
            switch_ms = (time.perf_counter() - t) * 1000
            (ARTIFACTS / "page_switch_ms.txt").write_text(f"{switch_ms:.0f}\n")
            assert switch_ms < 5000
            # four eyes: submitted by the preparer, approved by the supervisor (core calls)
            from core.security import auth

            workflow.submit(
                db, "C2024001", auth.get_user(db, "prep1"), override_reason="端到端测试只查看了部分页面"
            )  # the audited override
            workflow.approve(
                db, "C2024001", auth.get_user(db, "sup1"), workflow.case_plan_hash(db, "C2024001")
            )
            # export in the browser and download
            page.get_by_test_id("stSidebar").get_by_role("link", name="导出").click()
            page.get_by_role("heading", name="导出", exact=True).wait_for()
            page.get_by_role("button", name="导出").click()
            page.get_by_text("校验通过").wait_for(timeout=120_000)
            _shot(page, "07_exported")
            with page.expect_download() as dl:
                page.get_by_role("button", name="下载匿名化 PDF").click()
            out = tmp_path / "export.pdf"
            dl.value.save_as(out)
        except Exception:
            _shot(page, "99_failure")
            raise
        finally:
            browser.close()
    doc = pymupdf.open(out)
    # the merged export may start with a cover page: find the first page of 入院记录
    source_text = "主诉"
    pages = [pg for pg in doc if source_text in pg.get_text()]
    assert pages, "clinical text must stay readable"
    target = pages[0]
    drawn = pymupdf.Rect(x0 * 0.72, y0 * 0.72, x1 * 0.72, y1 * 0.72)
    pix = target.get_pixmap(dpi=72, clip=drawn + (10, 10, -10, -10))
    samples = pix.samples
    dark = sum(1 for i in range(0, len(samples), pix.n) if samples[i] < 60) / (pix.width * pix.height)
    assert dark > 0.9, f"box region not blacked out ({dark:.0%} dark)"
    text = "".join(pg.get_text() for pg in doc)
    assert "李秀英" not in text and "ZY20240501" not in text
