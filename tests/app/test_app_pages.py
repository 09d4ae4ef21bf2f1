"""AppTest of the case list, review, export, help pages and the app's navigation."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.cases import review, workflow
from core.security.handles import case_handle
from core.store import findings as finding_store
from core.store import jobs as job_store

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60


def app(path: str, user: dict | None) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    if user is not None:
        at.session_state["auth_user"] = user
    return at


def review_everything(db, user: dict, case_id: str) -> None:
    """The preparer opens every page and decides every box (submission needs it)."""
    for page in review.pages(db, case_id):
        review.open_page(db, user, page["id"])
        review.accept_page(db, user, page["id"])


def texts(at) -> str:
    parts = [
        e.value for e in (*at.title, *at.markdown, *at.caption, *at.success, *at.error, *at.warning, *at.info)
    ]
    return "\n".join(str(p) for p in parts)


def frame_text(at) -> str:
    return "\n".join(df.value.to_string() for df in at.dataframe)


def test_case_list_filters_and_import_queues_job(env):
    db, users = env
    at = app("pages/病例列表.py", users["prep1"]).run()
    assert not at.exception, at.exception
    table = frame_text(at)
    assert "C2024001" in table and "C2025002" in table and "未导入" in table
    at.selectbox(key="f_department").select("新生儿科").run()
    table = frame_text(at)
    assert "C2025002" in table and "C2024001" not in table
    at.selectbox(key="f_department").select("全部").run()
    at.text_input(key="f_number").input("2025003").run()
    assert "C2025003" in frame_text(at) and "C2025002" not in frame_text(at)
    at.text_input(key="f_number").input("").run()
    at.selectbox(key="f_status").select("待整理").run()
    assert "C2024001" in frame_text(at) and "C2025003" not in frame_text(at)
    at.selectbox(key="f_status").select("全部").run()
    at.selectbox(key="pick_case").select("C2025003").run()
    at.button(key="import_one").click().run()
    assert not at.exception, at.exception
    job = job_store.latest(db, "C2025003", "import")
    assert job and job["status"] == "queued" and job["huey_id"] and job["actor"] == "prep1"
    assert "已加入导入队列" in texts(at)


def test_case_list_refuses_auditor(env):
    _db, users = env
    at = app("pages/病例列表.py", users["aud1"]).run()
    assert "无权访问此页面" in texts(at)
    assert not at.dataframe


def test_review_page_shows_boxes_and_edits_are_stored(env):
    db, users = env
    at = app("pages/页面审阅.py", users["prep1"])
    at.query_params["case"] = case_handle("C2024001")
    at.run()
    assert not at.exception, at.exception
    assert "文档（病案目录顺序）" in texts(at)
    table = frame_text(at)
    assert "患者姓名" in table and "李秀英" not in table  # masked
    page_id = review.pages(db, "C2024001")[0]["id"]
    before = len(finding_store.for_page(db, page_id))
    # add a box by coordinates
    at.selectbox(key="new_cat").select("signature").run()
    at.text_input(key="new_reason").input("手写签名").run()
    at.button(key="add_box_xy").click().run()
    assert not at.exception, at.exception
    rows = finding_store.for_page(db, page_id)
    assert len(rows) == before + 1
    added = rows[-1]
    assert added["category"] == "signature" and added["created_by"] == "prep1"
    assert finding_store.open_reason(added) == "手写签名" and added["reason"] != "手写签名"  # sealed
    # reject the first automatic finding
    auto = next(r for r in rows if r["status"] == "auto")
    at.selectbox(key=f"pick_{page_id}").select(auto["id"]).run()
    at.button(key="f_reject").click().run()
    assert finding_store.get(db, auto["id"])["status"] == "rejected"
    # navigation: next page is marked viewed and audited
    at.button(key="next_page").click().run()
    second = review.pages(db, "C2024001")[1]
    assert second["viewed"] == 1
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log").fetchall()]
    assert {"case.view", "page.view", "box.add", "box.reject"} <= set(actions)
    # preview renders the redacted page
    at.toggle(key="preview").set_value(True).run()
    assert not at.exception, at.exception
    assert "预览：已涂黑" in texts(at)


def test_case_in_the_url_is_an_opaque_handle(env, tmp_path):
    from core.archive import FolderArchive
    from core.cases.processing import run_detect, run_import

    db, users = env
    run_import(
        db, job_store.create(db, "C2025002", "import"), FolderArchive(tmp_path / "archive"), "C2025002"
    )
    run_detect(db, job_store.create(db, "C2025002", "detect"), "C2025002")
    at = app("pages/页面审阅.py", users["prep1"])
    at.query_params["case"] = case_handle("C2025002")
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="review_case").value == "C2025002"
    url_case = at.query_params["case"]
    url_case = url_case[0] if isinstance(url_case, list) else url_case
    assert url_case == case_handle("C2025002") and "2025002" not in url_case
    at.selectbox(key="review_case").select("C2024001").run()
    url_case = at.query_params["case"]
    url_case = url_case[0] if isinstance(url_case, list) else url_case
    assert url_case == case_handle("C2024001")
    plain = app("pages/页面审阅.py", users["prep1"])
    plain.query_params["case"] = "C2025002"  # a record number typed into the URL is not a way in
    plain.run()
    assert "2025002" not in str(plain.query_params["case"])


def test_review_page_supervisor_read_only(env):
    _db, users = env
    at = app("pages/页面审阅.py", users["sup1"]).run()
    assert not at.exception, at.exception
    assert "审核人只读查看" in texts(at)
    assert not [b for b in at.button if b.key == "f_accept"]


def test_export_page_exports_approved_case(env):
    db, users = env
    at = app("pages/导出.py", users["prep1"]).run()
    assert not at.exception, at.exception
    assert "待整理" in texts(at)
    review_everything(db, users["prep1"], "C2024001")
    workflow.submit(db, "C2024001", users["prep1"])
    workflow.approve(db, "C2024001", users["sup1"], workflow.case_plan_hash(db, "C2024001"))
    at.run()
    at.button[0].click().run()  # form submit 导出
    assert not at.exception, at.exception
    assert "导出完成" in texts(at) and "校验通过" in texts(at), texts(at)
    assert workflow.status_of(db, "C2024001") == "exported"
    tables = frame_text(at)  # the verification report and the export history, in Chinese
    assert "检查的标识符数" in tables and "已发布" in tables and "评审" in tables
    assert "released" not in tables and "identifiers_checked" not in tables and not at.json


def test_help_page_lists_categories_and_errors(env):
    _db, users = env
    at = app("pages/帮助.py", users["aud1"]).run()
    assert not at.exception, at.exception
    table = frame_text(at)
    assert "清单无效" in table
    legend = "".join(h.proto.body for h in at.get("html"))
    assert "患者姓名" in legend and "#d62728" in legend  # Chinese name beside its colour swatch
    assert "patient_name" not in legend and "patient_name" not in table  # no category codes
    assert "页面审阅" in texts(at)


def test_app_navigation_lands_on_role_pages(env):
    _db, users = env
    at = app("app.py", users["prep1"]).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["病例列表"]
    at = app("app.py", users["aud1"]).run()
    assert not at.exception, at.exception
    # the auditor may not use the case list: the app lands on the audit page instead
    assert "病例列表" not in [t.value for t in at.title] and "审计日志" in texts(at)


def test_case_list_retry_and_cancel(env):
    db, users = env
    at = app("pages/病例列表.py", users["prep1"]).run()
    at.selectbox(key="pick_case").select("C2024001").run()
    at.button(key="detect_one").click().run()  # 重新检测 (retry)
    assert not at.exception, at.exception
    job = job_store.latest(db, "C2024001", "detect")
    assert job["status"] == "queued" and job["actor"] == "prep1"
    assert "人工标注与审阅决定将保留" in texts(at)
    at.button(key="cancel_job").click().run()
    assert job_store.get(db, job["id"])["status"] == "cancelled"
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE actor = 'prep1'").fetchall()]
    assert "job.cancel" in actions


def test_case_list_reports_broken_manifest(env, tmp_path):
    _db, users = env
    (tmp_path / "archive" / "C2025003" / "manifest.json").write_text("{", encoding="utf-8")
    at = app("pages/病例列表.py", users["prep1"]).run()
    assert not at.exception, at.exception
    assert any("C2025003" in w.value and "清单无效" in w.value for w in at.warning)
    assert "C2025003" not in frame_text(at)


def test_export_page_blocks_a_leak_and_says_where(env):
    db, users = env
    # the preparer rejects every box over the patient's name: the export must refuse
    for row in db.query("SELECT id, text_sealed FROM findings WHERE case_id = 'C2024001'"):
        if row["text_sealed"] and finding_store.text_of(row) == "李秀英":
            finding_store.update(db, row["id"], status="rejected")
    review_everything(db, users["prep1"], "C2024001")
    workflow.submit(db, "C2024001", users["prep1"])
    workflow.approve(db, "C2024001", users["sup1"], workflow.case_plan_hash(db, "C2024001"))
    at = app("pages/导出.py", users["prep1"]).run()
    at.button[0].click().run()
    assert not at.exception, at.exception
    errors = "\n".join(e.value for e in at.error)
    assert "已阻止导出" in errors and "第 " in errors and "李秀英" not in errors
    assert not [b for b in at.get("download_button")]
    assert workflow.status_of(db, "C2024001") == "approved"


def test_review_page_is_read_only_for_the_preparer_while_in_review(env):
    db, users = env
    review_everything(db, users["prep1"], "C2024001")
    at = app("pages/页面审阅.py", users["prep1"]).run()
    assert [b for b in at.button if b.key == "f_accept"]  # editable while 待整理
    workflow.submit(db, "C2024001", users["prep1"])
    at = app("pages/页面审阅.py", users["prep1"]).run()
    assert not at.exception, at.exception
    assert any("页面只读" in w.value and "退回" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key in ("f_accept", "f_reject", "add_box_xy")]


def test_submit_panel_needs_a_reason_to_submit_an_unfinished_review(env):
    db, users = env
    at = app("pages/审核.py", users["prep1"]).run()
    assert not at.exception, at.exception
    assert any("页未查看" in w.value for w in at.warning)
    [b for b in at.button if b.label == "提交审核"][0].click().run()
    assert (
        "强制提交" in "\n".join(e.value for e in at.error)
        and workflow.status_of(db, "C2024001") == "preparing"
    )
    at.checkbox(key="rv_override_C2024001").check()
    at.text_area(key="rv_override_reason_C2024001").input("急需报送，剩余页为空白页")
    [b for b in at.button if b.label == "提交审核"][0].click().run()
    assert workflow.status_of(db, "C2024001") == "in_review"
    assert (
        '"override":true'
        in db.execute("SELECT detail FROM audit_log WHERE action = 'case.submit'").fetchone()[0]
    )


def test_supervisor_sees_the_changes_and_a_stale_fingerprint_is_refused(env):
    from core.security import auth

    db, users = env
    prep = users["prep1"]
    pages = review.pages(db, "C2024001")
    review.add_box(db, prep, pages[0]["id"], (60, 60, 220, 100), reason="家属签名")
    auto = [r for r in finding_store.for_page(db, pages[0]["id"]) if r["source"] != "manual"]
    review.decide(db, prep, auto[0]["id"], False)
    review_everything(db, prep, "C2024001")
    workflow.submit(db, "C2024001", prep)
    at = app("pages/审核.py", users["sup1"]).run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "人工添加的框 1 个" in shown and "已拒绝（不涂黑）的框 1 个" in shown and "您已打开 0/" in shown
    assert len(at.get("image")) >= 2  # thumbnails of the changed boxes
    # while sup1's page is open: another supervisor returns it, the preparer adds a box, resubmits
    auth.create_user(db, "sup2", "supervisor", "Review-Pass-2024", must_change=False)
    workflow.return_case(db, "C2024001", auth.get_user(db, "sup2"), "补充")
    review.add_box(db, prep, pages[-1]["id"], (60, 300, 220, 340))
    workflow.submit(db, "C2024001", prep)
    [b for b in at.button if b.label == "批准"][0].click().run()
    assert not at.exception, at.exception
    assert "批准被拒绝" in "\n".join(e.value for e in at.error)
    assert "新增 1 个框" in texts(at) and workflow.status_of(db, "C2024001") == "in_review"
    [b for b in at.button if b.label == "批准"][0].click().run()  # now the page showed the new plan
    assert workflow.status_of(db, "C2024001") == "approved"


def test_export_page_says_when_demo_keys_sign_or_keys_are_missing(env, monkeypatch):
    _db, users = env
    at = app("pages/导出.py", users["prep1"]).run()
    assert any("演示模式" in w.value and "演示密钥" in w.value for w in at.warning)
    assert "中立签名身份" in texts(at)
    monkeypatch.delenv("DEID_DEMO")
    at = app("pages/导出.py", users["prep1"]).run()
    assert not at.exception, at.exception
    assert any("未配置本院的导出签名密钥" in e.value for e in at.error)
    assert not any("演示模式" in w.value for w in at.warning)


def test_redaction_pane_filters_and_bulk_decides_the_filter(env):
    db, users = env
    at = app("pages/页面审阅.py", users["prep1"])
    at.query_params["case"] = "C2024001"
    at.run()
    assert not at.exception, at.exception
    boxes = review.case_boxes(db, "C2024001")
    assert boxes and len({b["page_id"] for b in boxes}) > 1  # case-wide, not one page
    pane = next(df.value for df in at.dataframe if "文档" in df.value.columns)
    assert len(pane) == len(boxes) and "李秀英" not in pane.to_string()
    assert not {"case_seed", "label_fields", "person_names"} & set(pane["来源"])  # plain words
    category = boxes[0]["category"]
    at.multiselect(key="pane_cat").select(category).run()
    pane = next(df.value for df in at.dataframe if "文档" in df.value.columns)
    wanted = [b for b in boxes if b["category"] == category]
    assert len(pane) == len(wanted) and set(pane["类别"]) == {review.category_label(category)}
    at.button(key="pane_reject_all").click().run()
    assert not at.exception, at.exception
    statuses = {r["id"]: r["status"] for r in finding_store.for_case(db, "C2024001")}
    assert all(statuses[b["id"]] == "rejected" for b in wanted)
    assert any(statuses[b["id"]] == "auto" for b in boxes if b["category"] != category)  # outside the filter
    assert f"已拒绝 {len(wanted)} 个框" in texts(at)


def test_review_reopens_at_the_last_page_and_next_open_box(env):
    db, users = env
    at = app("pages/页面审阅.py", users["prep1"])
    at.query_params["case"] = "C2024001"
    at.run()
    at.button(key="next_page").click().run()
    second = review.pages(db, "C2024001")[1]
    again = app("pages/页面审阅.py", users["prep1"])  # a new browser session of the same user
    again.query_params["case"] = "C2024001"
    again.run()
    assert not again.exception, again.exception
    assert "页面 2 /" in texts(again)
    picked = again.session_state[f"pick_{second['id']}"]
    hit = review.next_open(db, "C2024001", second["id"], picked)
    assert hit and hit[1] != picked
    again.button(key="next_open").click().run()
    assert again.session_state["review_page_id"] == hit[0] and again.session_state["review_focus"] == hit[1]
    assert again.session_state[f"pick_{hit[0]}"] == hit[1]


def test_review_jumps_outside_the_page_start_from_the_page_shown(env):
    """跳到下一未查看页 and 跳到下一低置信度框 sit above the page fragment: they start from the page
    shown when clicked, and the thumbnail strip is one image."""
    db, users = env
    pages = review.pages(db, "C2024001")
    assert len(pages) >= 4
    weak = finding_store.for_page(db, pages[3]["id"])[0]  # the only undecided weak box: on page 4
    db.execute("UPDATE findings SET confidence = 0.95 WHERE id != ?", [weak["id"]])
    db.execute("UPDATE findings SET confidence = 0.5, status = 'auto' WHERE id = ?", [weak["id"]])
    at = app("pages/页面审阅.py", users["prep1"])
    at.query_params["case"] = case_handle("C2024001")
    at.run()
    assert not at.exception, at.exception
    (strip,) = at.get("image")
    assert len(strip.value) == 1  # one image of the block's thumbnails, not one per page
    at.button(key="next_page").click().run()  # page 2 shown and viewed: page 3 is the next unviewed
    assert at.session_state["review_page_id"] == pages[1]["id"]
    at.button(key="next_unviewed").click().run()
    assert not at.exception, at.exception
    assert at.session_state["review_page_id"] == pages[2]["id"]
    at.button(key="next_low").click().run()
    assert not at.exception, at.exception
    assert at.session_state["review_page_id"] == pages[3]["id"]
    assert at.session_state["review_focus"] == weak["id"]
    at.button(key="next_low").click().run()  # from page 4 round the case back to page 4's box
    assert at.session_state["review_page_id"] == pages[3]["id"]
    review.decide(db, users["prep1"], weak["id"], True)
    at.button(key="next_low").click().run()
    assert at.session_state["review_page_id"] == pages[3]["id"] and "没有待确认的低置信度框" in texts(at)


def test_case_list_buttons_and_progress_bar_follow_a_running_detection(env):
    """Issue 13: while a detection runs, 打开审阅 / 重新检测 are disabled, the progress is a bar with
    pages done / total and the time left; submitting is refused until it ends."""
    import time

    import pytest

    from core.errors import DeidError
    from ui.case_list_page import duration_zh, eta_text

    db, users = env
    job_id = job_store.create(db, "C2024001", "detect", actor="prep1")
    job_store.start(db, job_id, total=300, step="检测 1/3 份文档")
    job_store.update(db, job_id, started_at=time.time() - 60, progress_done=30)
    at = app("pages/病例列表.py", users["prep1"]).run()
    assert not at.exception, at.exception
    at.selectbox(key="pick_case").select("C2024001").run()
    assert at.button(key="open_review").disabled and at.button(key="detect_one").disabled
    assert not at.button(key="cancel_job").disabled
    bars = [e for e in at.get("progress")]
    assert bars and "30/300 页" in bars[0].proto.text and "预计剩余 约 9 分" in bars[0].proto.text
    review_everything(db, users["prep1"], "C2024001")
    with pytest.raises(DeidError, match="任务正在进行"):
        workflow.submit(db, "C2024001", users["prep1"])
    job_store.finish(db, job_id, job_store.DONE)
    at = app("pages/病例列表.py", users["prep1"]).run()
    at.selectbox(key="pick_case").select("C2024001").run()
    assert not at.button(key="open_review").disabled and not at.get("progress")
    # the time estimate: pace of the job so far, in Chinese
    assert eta_text(30, 300, 60) == "约 9 分（0.5 页/秒）"
    assert eta_text(0, 300, 5) == "估算中…" and eta_text(300, 300, 5) == "即将完成"
    assert eta_text(1, 300, 30).endswith("（30 秒/页）")
    assert (duration_zh(45), duration_zh(200), duration_zh(3900)) == ("45 秒", "3 分 20 秒", "1 小时 5 分")


def test_review_page_names_the_duplicate_and_applies_its_decisions(env):
    """Issue 13: a page flagged as repeating another shows 与第 N 页重复; the preparer copies decisions."""
    from core.store import duplicates as dup_store

    db, users = env
    pages = review.pages(db, "C2024001")
    first, third = pages[0]["id"], pages[2]["id"]
    dup_store.save_signatures(
        db,
        "C2024001",
        [
            {"page_id": pid, "dhash": "0" * 64, "content_box": (0, 0, 1, 1), "ink": 0.05}
            for pid in (first, third)
        ],
    )
    dup_store.replace_duplicates(
        db, "C2024001", [{"page_id": third, "dup_of": first, "score": 1.0, "method": "image"}]
    )
    name = next(f for f in review.findings_view(db, first) if f["category"] == "patient_name")
    review.decide(db, users["prep1"], name["id"], False)
    at = app("pages/页面审阅.py", users["prep1"])
    at.query_params["case"] = case_handle("C2024001")
    at.run()
    assert not at.exception, at.exception
    assert "与第 3 页重复（图像相同）" in texts(at)
    at.button(key=f"dup_go_{third}").click().run()
    assert at.session_state["review_page_id"] == third and "与第 1 页重复" in texts(at)
    at.button(key=f"dup_apply_{first}").click().run()
    assert not at.exception, at.exception
    twin = next(f for f in review.findings_view(db, third) if f["category"] == "patient_name")
    assert twin["status"] == "rejected"
    assert "照搬决定" in texts(at)
