"""The clerk's day in a real browser (Debian Chromium) against a real Streamlit
server (issue 13):

- still logged in after a reload, a typed page URL and in a new tab (HttpOnly
  session cookie, not readable by scripts), logged out everywhere after 退出登录;
- every request the browser makes goes to the app's own host;
- no English Streamlit chrome on the main pages;
- the redaction pane (row click → page with the box highlighted, bulk accept
  on a filter), the keyboard flow (PageDown/PageUp, N, A, X) and a reload that
  reopens the review at the last page;
- the page switch as the preparer sees it, p50/p95 printed (no assertion).

Screenshots go to the test's tmp dir (``<tmp>/shots``), the timings to
``<tmp>/page_switch_ms.txt`` and ``test-artifacts/clerk_e2e/page_switch_ms.txt``.
``DEID_E2E_DEMO_PAGES=39`` runs it on a generated demo case of that many pages
(20–25 % scanned, full detection first: minutes) instead of the small test case.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tools.bench.server import streamlit_app
from tools.bench.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    WAIT_MS,
    demo_case,
    idle as _idle,
    login,
    measure_switches,
    page_counter as _page_counter,
    prepare_case,
    switch_line,
)

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Review-Pass-2024"
CASE = "C2024001"
# Streamlit's own English that must not show on a main page.
ENGLISH_CHROME = (
    "Deploy",
    "Made with Streamlit",
    "Running...",
    "Stop",
    "Choose options",
    "Choose an option",
    "Print",
    "Record a screencast",
    "Record screen",
    "Clear cache",
    "Settings",
    "About",
    "Press Enter",
    "No options",
    "Download as CSV",
    "Search",
    "Fullscreen",
)
ENGLISH_PLACEHOLDERS = ("Choose", "Select", "Type", "Search")
MAIN_PAGES = (
    ("病例列表", "病例列表"),
    ("页面审阅", "页面审阅"),
    ("审核", "提交与审核"),
    ("导出", "导出"),
    ("帮助", "帮助"),
)

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian chromium not installed (make setup)"
)


def _factory():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "deid_test_factory_clerk", ROOT / "tests" / "store" / "factory.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def clerk_server(tmp_path, monkeypatch):
    data, archive = tmp_path / "data", tmp_path / "archive"
    env = {
        **os.environ,
        "DEID_DATA_DIR": str(data),
        "DEID_ARCHIVE_DIR": str(archive),
        "DEID_BCRYPT_ROUNDS": "4",
        "PYTHONPATH": str(ROOT),
    }
    for var in ("DEID_DB", "DEID_KEY_FILE", "DEID_HUEY_DB"):
        env.pop(var, None)
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DEID_DATA_DIR", str(data))
    monkeypatch.setenv("DEID_ARCHIVE_DIR", str(archive))
    monkeypatch.setenv("DEID_BCRYPT_ROUNDS", "4")
    demo_pages = int(os.environ.get("DEID_E2E_DEMO_PAGES", "0"))
    if demo_pages:
        case_id = demo_case(archive, demo_pages)
    else:
        case_id = CASE
        _factory().make_case(
            archive,
            CASE,
            patient_name="李秀英",
            inpatient_no="ZY20240501",
            docs=(("d01", "入院记录", 2), ("d02", "病程记录", 3), ("d03", "出院记录", 2)),
        )
    from core.security import auth
    from core.store.db import open_db

    db = open_db()
    auth.create_user(db, "prep1", "preparer", PASSWORD, must_change=False)
    prepare_case(db, archive, case_id)
    with streamlit_app(env, tmp_path / "server.log") as base:
        yield base, db, case_id


ARTIFACTS = ROOT / "test-artifacts" / "clerk_e2e"


class Shots:
    """Screenshots in the test's tmp dir, copied to test-artifacts/clerk_e2e (pytest prunes old tmp dirs)."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, page, name: str) -> None:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        (ARTIFACTS / path.name).write_bytes(path.read_bytes())


def _heading(page, title: str) -> None:
    page.get_by_role("heading", name=title, exact=True).wait_for(timeout=WAIT_MS)


def _wait_counter(page, n: int, total: int) -> None:
    page.get_by_text(f"页面 {n} / {total}", exact=True).wait_for(timeout=WAIT_MS)


def _english_chrome(page) -> list[str]:
    text = page.evaluate("() => document.body.innerText")
    held = page.evaluate(
        "() => [...document.querySelectorAll('[placeholder]')].map(e => e.placeholder).join(' ')"
    )
    return [w for w in ENGLISH_CHROME if w in text] + [w for w in ENGLISH_PLACEHOLDERS if w in held]


def _visible(page, selector: str) -> bool:
    loc = page.locator(selector)
    return any(loc.nth(i).is_visible() for i in range(loc.count()))


def _picked(page) -> int:
    box = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text("选择框", exact=True)).first
    text = box.evaluate(
        "e => e.innerText + ' ' + [...e.querySelectorAll('input')].map(i => i.value).join(' ')"
    )
    found = re.search(r"#(\d+)", text)
    assert found, text
    return int(found.group(1))


def _eventually(check, timeout_s: float = 30) -> None:
    """The store shows what the browser did (a script run may still be on its way)."""
    end = time.time() + timeout_s
    while not check():
        assert time.time() < end, "the store never showed the change"
        time.sleep(0.2)


def _key(page, key: str, done, timeout_s: float = 15) -> None:
    """Press a key until it had its effect (a loaded machine may drop a key between two script runs)."""
    for _ in range(3):
        _press(page, key)
        end = time.time() + timeout_s
        while time.time() < end:
            try:
                if done():
                    _idle(page)
                    return
            except Exception:  # the element is being re-rendered
                pass
            time.sleep(0.2)
    raise AssertionError(f"key {key} had no effect")


def _press(page, key: str) -> None:
    page.locator("body").press(key)


def test_clerk_session_hosts_chrome_pane_keyboard_reload(clerk_server, tmp_path):
    from playwright.sync_api import sync_playwright

    from core.cases import review
    from core.security.sessions import COOKIE_NAME
    from core.store import findings as finding_store

    base, db, case_id = clerk_server
    own_host = urlsplit(base).netloc
    hosts: set[str] = set()
    shot = Shots(tmp_path / "shots")
    ordered = review.pages(db, case_id)
    total = len(ordered)

    def note(url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss"):
            hosts.add(parts.netloc)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1500, "height": 1100}, locale="zh-CN")
        ctx.on("request", lambda r: note(r.url))
        ctx.on("page", lambda pg: pg.on("websocket", lambda ws: note(ws.url)))
        page = ctx.new_page()
        page.set_default_timeout(WAIT_MS)
        try:
            login(page, base, "prep1", PASSWORD)
            shot(page, "01_logged_in")
            # the session cookie: HttpOnly, strict, not visible to scripts nor kept in web storage
            deadline = time.time() + 20
            while not [c for c in ctx.cookies() if c["name"] == COOKIE_NAME]:
                assert time.time() < deadline, "no session cookie was set after login"
                time.sleep(0.2)
            (cookie,) = [c for c in ctx.cookies() if c["name"] == COOKIE_NAME]
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
            assert COOKIE_NAME not in page.evaluate("() => document.cookie")
            storage = page.evaluate(
                "() => JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})"
            )
            assert cookie["value"].split(".")[0] not in storage

            # reload, typed URL, new tab: still logged in
            page.reload()
            _heading(page, "病例列表")
            page.goto(base + f"/页面审阅?case={case_id}")
            _heading(page, "页面审阅")
            tab = ctx.new_page()
            tab.goto(base + "/审核")
            _heading(tab, "提交与审核")
            shot(tab, "02_new_tab_logged_in")
            tab.close()

            # no English Streamlit chrome on the main pages
            for url_path, title in MAIN_PAGES:
                page.goto(base + f"/{url_path}?case={case_id}")
                _heading(page, title)
                _idle(page)
                assert not _english_chrome(page), (title, _english_chrome(page))
                for hidden in (
                    '[data-testid="stMainMenu"]',
                    '[data-testid="stToolbar"]',
                    '[data-testid="stStatusWidget"]',
                    '[data-testid="stAppDeployButton"]',
                ):
                    assert not _visible(page, hidden), (title, hidden)
                shot(page, f"03_chrome_{url_path}")

            # the review: keyboard flow
            page.goto(base + f"/页面审阅?case={case_id}")
            _heading(page, "页面审阅")
            page.locator("canvas.upper-canvas").first.wait_for()
            _idle(page)
            start, _ = _page_counter(page)
            page.locator("h1").first.click()  # focus on the page, not in a field
            _key(page, "PageDown", lambda: _page_counter(page)[0] == start + 1)
            _key(page, "PageUp", lambda: _page_counter(page)[0] == start)
            before = _picked(page)
            _key(page, "N", lambda: _picked(page) != before)  # next open box after the one picked
            picked = _picked(page)
            assert finding_store.get(db, picked)["status"] == "auto"
            _key(page, "A", lambda: finding_store.get(db, picked)["status"] == "accepted")
            _key(page, "N", lambda: _picked(page) != picked)
            nxt = _picked(page)
            _key(page, "X", lambda: finding_store.get(db, nxt)["status"] == "rejected")
            shot(page, "04_keyboard_flow")
            # the canvas toolbar's tooltips are Chinese too
            page.locator(".dc-icon-button").first.wait_for()  # inside the component's shadow root
            _idle(page)
            titles = page.locator(".dc-icon-button").evaluate_all("els => els.map(e => e.title)")
            assert titles and not [t for t in titles if re.search(r"[A-Za-z]{3,}", t)], titles

            # the redaction pane: from another page, click the pane's first row → its page, the box picked
            boxes = review.case_boxes(db, case_id)
            if _page_counter(page)[0] == boxes[0]["seq"]:
                _key(page, "PageDown", lambda: _page_counter(page)[0] == boxes[0]["seq"] + 1)
            grid = (
                page.locator('[data-testid="stElementContainer"]')
                .filter(has=page.locator('[data-testid="stDataFrame"]'))
                .last
            )
            grid.scroll_into_view_if_needed()
            bb = grid.bounding_box()
            page.mouse.click(bb["x"] + 12, bb["y"] + 35 + 17)  # the row marker of the first data row
            _wait_counter(page, boxes[0]["seq"], total)
            _idle(page)
            assert _picked(page) == boxes[0]["id"]
            shot(page, "05_pane_jump_highlight")

            # bulk accept on a category filter
            category = next(b["category"] for b in boxes if b["status"] == "auto")
            name = review.category_label(category)
            page.locator('[data-testid="stMultiSelect"]').filter(has_text="类别").first.click()
            page.get_by_role("option", name=name).first.click()
            page.keyboard.press("Escape")
            _idle(page)
            wanted = [b["id"] for b in boxes if b["category"] == category]
            page.get_by_role("button", name=f"全部接受（{len(wanted)}）").click()
            page.get_by_text(re.compile(r"已接受 \d+ 个框")).wait_for()
            _eventually(lambda: all(finding_store.get(db, i)["status"] == "accepted" for i in wanted))
            shot(page, "06_bulk_accept")

            # reload: still logged in, the review reopens at the last page (not the first)
            _key(page, "PageDown", lambda: _page_counter(page)[0] == min(boxes[0]["seq"] + 1, total))
            here, _ = _page_counter(page)
            assert here > 1
            page.goto(base + "/")
            _heading(page, "病例列表")
            page.goto(base + f"/页面审阅?case={case_id}")
            _wait_counter(page, here, total)
            page.reload()
            _wait_counter(page, here, total)
            page.locator("canvas.upper-canvas").first.wait_for()
            _idle(page)
            shot(page, "07_reopened_at_last_page")

            # page switch as the preparer sees it (tools.bench.browser, also run by make bench): click → the
            # next page's counter shown and the run that drew it finished, from where the review reopened
            # to the end, or back to the first page when nearer the end
            switches = measure_switches(page, total)
            line = switch_line(total, switches)
            print("\n" + line)
            (tmp_path / "page_switch_ms.txt").write_text(
                line + "\n" + " ".join(f"{t:.0f}" for t in switches.browser) + "\n"
            )
            (ARTIFACTS / "page_switch_ms.txt").write_text(line + "\n")

            # logout ends the session for every tab of this browser
            other = ctx.new_page()
            other.goto(base + "/帮助")
            _heading(other, "帮助")
            page.get_by_role("button", name="退出登录").click()
            page.get_by_role("button", name="登录").wait_for()
            other.reload()
            other.get_by_role("button", name="登录").wait_for()
            page.reload()
            page.get_by_role("button", name="登录").wait_for()
            shot(page, "08_logged_out")
        except Exception:
            shot(page, "99_failure")
            raise
        finally:
            browser.close()
    print(f"screenshots: {tmp_path / 'shots'}")
    assert hosts == {own_host}, f"requests to other hosts: {sorted(hosts - {own_host})}"
