"""AppTest of the review page's tools (issue 13): 切字 filter, whole-page hiding, decisions CSV."""

from __future__ import annotations

from core.cases import review
from core.security import audit
from core.security.handles import case_handle
from core.store import documents as doc_store
from core.store import findings as finding_store
from tests.app.test_app_pages import app, texts


def _review(users):
    at = app("pages/页面审阅.py", users["prep1"])
    at.query_params["case"] = case_handle("C2024001")
    return at.run()


def test_cut_filter_shows_only_boxes_that_cut_text(env):
    db, users = env
    page = review.pages(db, "C2024001")[0]
    box = next(f for f in review.findings_view(db, page["id"]) if f["category"] == "record_number")
    x0, y0, x1, y1 = box["rects_px"][0]
    review.move_box(db, users["prep1"], box["id"], (x0, y0, x0 + (x1 - x0) * 0.5, y1))
    at = _review(users)
    assert not at.exception, at.exception
    at.checkbox(key="pane_cuts_only").check().run()
    assert not at.exception, at.exception
    pane = at.dataframe[-1].value
    flags = review.cutting_boxes(db, "C2024001")
    assert box["id"] in flags and len(pane) == len(flags)  # only the boxes that cut text
    assert all(v in ("切断编号", "切到字", "切到字、切断编号") for v in pane["切字"])
    at.checkbox(key="pane_cuts_only").uncheck().run()
    assert len(at.dataframe[-1].value) == len(review.case_boxes(db, "C2024001")) > len(flags)
    assert "符合筛选的框：" in texts(at)


def test_hide_a_page_from_the_review_page(env):
    db, users = env
    at = _review(users)
    page_id = at.session_state["review_page_id"]
    at.selectbox(key="hide_reason").select("id_card").run()
    at.button(key="hide_page").click().run()
    assert not at.exception, at.exception
    assert doc_store.get_page(db, page_id)["hide_reason"] == "id_card"
    assert "本页已整页隐藏（身份证复印件）" in texts(at)
    at.toggle(key="preview").set_value(True).run()
    assert "预览：整页隐藏" in texts(at)
    at.toggle(key="preview").set_value(False).run()
    at.button(key="unhide_page").click().run()
    assert doc_store.get_page(db, page_id)["hide_reason"] == ""
    actions = [r["action"] for r in audit.rows(db, case_id="C2024001")]
    assert actions.count("page.hide") == 1 and actions.count("page.unhide") == 1


def test_decisions_csv_export_from_the_review_page(env):
    db, users = env
    at = _review(users)
    at.button(key="pane_csv_make").click().run()
    assert not at.exception, at.exception
    held = at.session_state["pane_decisions_csv"]
    assert held[0] == "C2024001" and held[1].startswith("kind,doc_id,page,box_id,rects")
    assert "李秀英" not in held[1]
    assert len(held[1].strip().splitlines()) == 1 + len(finding_store.for_case(db, "C2024001"))
