"""The review page's tools in a real browser (issue 13): box labels on hover
only (not painted), the 切字 filter of the case-wide pane, hiding a whole page
with a reason (preview black), the decisions CSV downloaded and imported.
Screenshots go to ``test-artifacts/clerk_e2e/tools_*.png``."""

from __future__ import annotations

import csv
import io
import re

from tests.e2e.test_clerk_e2e import (  # noqa: F401  (clerk_server is a fixture)
    PASSWORD,
    Shots,
    _eventually,
    _heading,
    clerk_server,
    pytestmark,
)
from tools.bench.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    WAIT_MS,
    idle as _idle,
    login,
    page_counter as _page_counter,
)


def test_hover_labels_cut_filter_whole_page_and_decisions_csv(clerk_server, tmp_path):  # noqa: F811  (fixture)
    from playwright.sync_api import sync_playwright

    from core.cases import review
    from core.security.auth import get_user
    from core.store import documents as doc_store

    base, db, case_id = clerk_server
    shot = Shots(tmp_path / "shots")
    prep = get_user(db, "prep1")
    ordered = review.pages(db, case_id)
    # a box shortened so the tail of its number stays readable: the 切字 filter must list it
    first = ordered[0]
    cut = next(f for f in review.findings_view(db, first["id"]) if f["category"] == "record_number")
    x0, y0, x1, y1 = cut["rects_px"][0]
    review.move_box(db, prep, cut["id"], (x0, y0, x0 + (x1 - x0) * 0.5, y1))

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(
            viewport={"width": 1500, "height": 1100}, locale="zh-CN", accept_downloads=True
        )
        page = ctx.new_page()
        page.set_default_timeout(WAIT_MS)
        try:
            login(page, base, "prep1", PASSWORD)
            page.goto(base + f"/页面审阅?case={case_id}")
            _heading(page, "页面审阅")
            canvas = page.locator("canvas.upper-canvas").first
            canvas.wait_for()
            _idle(page)
            n, _ = _page_counter(page)
            here = ordered[n - 1]
            boxes = review.findings_view(db, here["id"])
            assert boxes
            # hover: the box's label is the canvas tooltip (nothing is painted over the page)
            box = boxes[0]
            l, t, r, b = box["rects_px"][0]
            width = canvas.evaluate("c => parseFloat(c.style.width) || c.clientWidth")
            bb = canvas.bounding_box()
            k = bb["width"] / width
            page.mouse.move(bb["x"] + (l + r) / 2 * k, bb["y"] + (t + b) / 2 * k, steps=4)
            _eventually(lambda: (canvas.get_attribute("title") or "").startswith(f"#{box['id']} "), 15)
            assert box["label"] in canvas.get_attribute("title")

            def off_boxes(cx, cy):
                return not [
                    1
                    for x in boxes
                    for (l2, t2, r2, b2) in x["rects_px"]
                    if l2 - 4 <= cx <= r2 + 4 and t2 - 4 <= cy <= b2 + 4
                ]

            spot = next(
                (cx, cy) for cy in range(10, 400, 15) for cx in range(10, 600, 15) if off_boxes(cx, cy)
            )
            page.mouse.move(bb["x"] + spot[0] * k, bb["y"] + spot[1] * k, steps=3)  # off every box
            _eventually(lambda: (canvas.get_attribute("title") or "") == "", 15)
            shot(page, "tools_01_outlines_only")

            # the 切字 filter: only the shortened box
            page.get_by_text("只看切字", exact=True).click()
            page.get_by_text("符合筛选的框：1 个", exact=False).wait_for()
            _idle(page)
            shot(page, "tools_02_cut_filter")
            page.get_by_text("只看切字", exact=True).click()
            _idle(page)

            # whole-page hiding with a reason; the preview is black
            page.get_by_text("整页隐藏（身份证复印件、照片页等）").click()
            page.get_by_role("button", name="整页隐藏本页").click()
            page.get_by_text("本页已整页隐藏（身份证复印件）", exact=False).wait_for()
            _eventually(lambda: doc_store.get_page(db, here["id"])["hide_reason"] == "id_card")
            page.get_by_text("预览导出效果").click()
            page.get_by_text("预览：整页隐藏").wait_for()
            _idle(page)
            shot(page, "tools_03_whole_page_preview")
            page.get_by_text("预览导出效果").click()
            _idle(page)

            # decisions CSV: generate, download, import back
            page.get_by_role("button", name="生成审阅决定 CSV").click()
            with page.expect_download() as info:
                page.get_by_role("button", name="下载审阅决定 CSV").click()
            download = info.value
            assert re.fullmatch(r"审阅决定_k[0-9a-f]+\.csv", download.suggested_filename)
            path = (
                tmp_path / "decisions.csv"
            )  # the browser's download has no extension; the uploader wants .csv
            download.save_as(str(path))
            text = path.read_bytes().decode("utf-8-sig")
            rows = list(csv.DictReader(io.StringIO(text)))
            assert [r["reason_code"] for r in rows if r["kind"] == "page"] == ["id_card"]
            assert "李秀英" not in text
            page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(str(path))
            page.get_by_role("button", name="导入并应用").click()
            page.get_by_text(re.compile(r"已导入审阅决定：共 \d+ 行，匹配 \d+ 个框")).wait_for()
            assert not re.search(
                r"Drag and drop|Browse files", page.evaluate("() => document.body.innerText")
            )
            shot(page, "tools_04_csv_imported")
        except Exception:
            shot(page, "tools_99_failure")
            raise
        finally:
            browser.close()
