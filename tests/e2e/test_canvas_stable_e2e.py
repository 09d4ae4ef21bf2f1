"""Real browser: after 接受 and 本页全部接受 the page image stays (issue 13).

The canvas component is keyed per page and zoom only, so an action redraws the
box overlay and keeps the mounted background canvas (the same DOM element,
still painted).  Screenshots go to test-artifacts/review_e2e/."""

from __future__ import annotations

import re

from tests.e2e.test_review_e2e import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    WAIT_MS,
    _shot,
    _wait_canvas_drawn,
)
from tests.e2e.test_review_e2e import server  # noqa: F401  (a pytest fixture, used by name)

# the component lives in a shadow root: Playwright's locators pierce it, document.querySelector does not
PROBE = (
    "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
    " let ink = 0; for (let i = 0; i < d.length; i += 4 * 97) if (d[i] < 128) ink++;"
    " return {probe: c.__probe || null, ink: ink}; }"
)


def test_accept_keeps_the_page_image(server):  # noqa: F811  (the fixture imported above)
    from playwright.sync_api import sync_playwright

    from core.archive import FolderArchive
    from core.cases import review
    from core.cases.processing import run_detect, run_import
    from core.config import settings
    from core.store import jobs as job_store

    base, db = server
    archive = FolderArchive(settings().archive_dir)
    assert run_import(db, job_store.create(db, "C2024001", "import"), archive, "C2024001")
    assert run_detect(db, job_store.create(db, "C2024001", "detect"), "C2024001")
    first = review.pages(db, "C2024001")[0]
    open_before = [f for f in review.findings_view(db, first["id"]) if f["status"] == "auto"]
    assert len(open_before) >= 2
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1500, "height": 1100}, locale="zh-CN").new_page()
        page.set_default_timeout(WAIT_MS)
        try:
            page.goto(base + "/")
            page.get_by_label("用户名").fill("prep1")
            page.get_by_label("密码").fill(PASSWORD)
            page.get_by_role("button", name="登录").click()
            page.get_by_role("heading", name="病例列表").wait_for()
            page.get_by_test_id("stSidebar").get_by_role("link", name="页面审阅").click()
            page.get_by_role("heading", name="页面审阅").wait_for()
            page.locator("canvas.upper-canvas").first.wait_for()
            _wait_canvas_drawn(page)
            background = page.locator("canvas.dc-background-canvas").first
            assert background.evaluate(PROBE)["ink"] > 0
            background.evaluate("c => { c.__probe = 'kept'; }")
            for button, message in ((r"^接受", "已接受"), (r"^本页全部接受", "已接受 ")):
                page.get_by_role("button", name=re.compile(button)).first.click()
                page.get_by_text(message).first.wait_for()
                page.wait_for_timeout(
                    1500
                )  # the reruns after the action (the canvas reports its new drawing)
                state = page.locator("canvas.dc-background-canvas").first.evaluate(PROBE)
                assert state and state["probe"] == "kept", f"the page canvas was remounted after {button}"
                assert state["ink"] > 0, f"the page image is blank after {button}"
            _shot(page, "canvas_kept_after_accept")
        except Exception:
            _shot(page, "99_canvas_failure")
            raise
        finally:
            browser.close()
    statuses = {f["status"] for f in review.findings_view(db, first["id"])}
    assert "auto" not in statuses
    # a stale report of the canvas never undid or repeated a change: no box was added or deleted
    assert len(review.findings_view(db, first["id"])) == len(review.findings_view(db, first["id"]))
    assert not [f for f in review.findings_view(db, first["id"]) if f["source"] == "manual"]
