"""The redaction pane of 页面审阅: one case-wide table of boxes, filtered by
category, status, page, detector confidence and "cuts through text" (切字:
a box covering part of a character or of a number, ``review.cutting_boxes``);
a click on a row opens its
page with the box highlighted; accept / reject everything the filter shows."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import display
from core.cases import decisions, review
from core.errors import DeidError
from core.store import findings as finding_store
from ui.auth import get_db
from ui.chrome import CHOOSE

CACHE_KEY = "pane_boxes"
IDS_KEY = "pane_row_ids"
CUTS_KEY = "pane_cuts"
TABLE_KEY = "pane_table"
STATUSES = ("auto", "accepted", "rejected")


def boxes(db, case_id: str) -> list[dict]:
    """The case's boxes, recomputed only when a box of the case changed."""
    version = (case_id, finding_store.case_version(db, case_id), len(review.pages(db, case_id)))
    held = st.session_state.get(CACHE_KEY)
    if not held or held[0] != version:
        held = (version, review.case_boxes(db, case_id))
        st.session_state[CACHE_KEY] = held
    return held[1]


def render(db, user, case_id: str, focus: int | None, can_edit: bool, go) -> None:
    """The pane below the page.  It runs with the whole page, not with a page
    switch (the page is a fragment): ``focus`` marks the box a row click or an
    action last put in focus, so a row click is seen where it led."""
    pages = review.pages(db, case_id)
    if not pages:
        return
    rows = boxes(db, case_id)
    st.markdown(f"**全案框列表（{len(rows)}）**")
    shown, cuts = _filtered(db, case_id, rows, len(pages))
    ids = [b["id"] for b in shown]
    st.session_state[IDS_KEY] = ids
    st.caption(f"符合筛选的框：{len(shown)} 个 · 点击一行打开该页并突出显示该框")
    frame = pd.DataFrame(
        [
            {
                "页": b["seq"],
                "文档": f"{b['doc']} 第{b['page_no']}页",
                "类别": display.category_name(b["category"]),
                "内容（已遮蔽）": b["masked"],
                "置信度": round(float(b["confidence"] or 0), 2),
                "状态": display.name("finding_status", b["status"]),
                "来源": display.detector_name(b["detector"], b["source"]),
                "当前": "▶" if b["id"] == focus else "",
                "切字": _cut_mark(cuts, b["id"]),
            }
            for b in shown
        ],
        columns=["当前", "页", "文档", "类别", "内容（已遮蔽）", "置信度", "状态", "来源"]
        + (["切字"] if cuts is not None else []),
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=min(36 * (len(shown) + 1) + 4, 360),
        key=TABLE_KEY,
        on_select=lambda: _jump(go),
        selection_mode="single-row",
    )
    if can_edit and shown:
        c1, c2, _ = st.columns([1, 1, 2])
        if c1.button(f"全部接受（{len(shown)}）", key="pane_accept_all"):
            _bulk(db, user, ids, True)
        if c2.button(f"全部拒绝（{len(shown)}）", key="pane_reject_all"):
            _bulk(db, user, ids, False)
    _decisions(db, user, case_id, can_edit)


CSV_KEY = "pane_decisions_csv"


def _decisions(db, user, case_id: str, can_edit: bool) -> None:
    """审阅决定 as CSV (page, box geometry, category, status, reason code; never a value):
    work survives a re-detection or moves to another installation."""
    from core.security.auth import authorize
    from core.security.handles import case_handle

    if not authorize(user, "decisions.export"):
        return
    held = st.session_state.get(CSV_KEY)
    st.markdown("**审阅决定（CSV）**")
    st.caption(
        "CSV 只含文档、页码、框的位置、类别、状态和原因代码，不含任何被遮盖的内容；"
        "导入时按页码、位置重叠和类别匹配框，重新检测或换一台服务器后可恢复审阅结果。"
    )
    c1, c2 = st.columns([1, 1])
    if c1.button("生成审阅决定 CSV", key="pane_csv_make"):
        try:
            held = (case_id, decisions.export_csv(db, user, case_id))
        except DeidError as exc:
            st.error(exc.message_zh)
            held = None
        st.session_state[CSV_KEY] = held
    if held and held[0] == case_id:
        c2.download_button(
            "下载审阅决定 CSV",
            ("\ufeff" + held[1]).encode("utf-8"),
            file_name=f"审阅决定_{case_handle(case_id)}.csv",
            mime="text/csv",
            key="pane_csv_download",
        )
    if not (can_edit and authorize(user, "decisions.import")):
        return
    upload = st.file_uploader("导入审阅决定 CSV", type=["csv"], key="pane_csv_upload")
    if upload is not None and st.button("导入并应用", key="pane_csv_import"):
        try:
            counts = decisions.import_csv(db, user, case_id, upload.getvalue().decode("utf-8-sig"))
        except UnicodeDecodeError:
            st.error("文件不是 UTF-8 编码的 CSV")
            return
        except DeidError as exc:
            st.error(exc.message_zh)
            return
        from ui.common import set_flash

        set_flash(
            f"已导入审阅决定：共 {counts['rows']} 行，匹配 {counts['matched']} 个框（修改 {counts['changed']} 个），"
            f"重新添加人工框 {counts['added']} 个，整页隐藏 {counts['pages_hidden']} 页，"
            f"未匹配 {counts['unmatched']} 行"
            + (f"，找不到页面 {counts['unknown_pages']} 行" if counts["unknown_pages"] else ""),
            key="review_flash",
        )
        st.rerun()


def _filtered(db, case_id: str, rows: list[dict], n_pages: int) -> tuple[list[dict], dict | None]:
    """The rows the filters keep, and the 切字 flags (None while that filter is off)."""
    c1, c2, c3, c4, c5 = st.columns([1.4, 1.2, 1.2, 1, 1])
    present = sorted({b["category"] for b in rows}, key=display.category_name)
    cats = c1.multiselect(
        "类别", present, format_func=display.category_name, key="pane_cat", placeholder=CHOOSE
    )
    statuses = c2.multiselect(
        "状态",
        STATUSES,
        format_func=lambda s: display.name("finding_status", s),
        key="pane_status",
        placeholder=CHOOSE,
    )
    lo, hi = (1, max(n_pages, 1))
    pages = c3.slider("页码范围", 1, max(hi, 2), (lo, max(hi, 2)), key="pane_pages") if hi > 1 else (1, 1)
    conf = c4.slider("置信度不高于", 0.0, 1.0, 1.0, 0.05, key="pane_conf")
    only_cuts = c5.checkbox(
        "只看切字",
        key="pane_cuts_only",
        help="框只盖住了字的一部分，或只盖住了编号、单词的一部分（旁边仍可读出）",
    )
    kept = [
        b
        for b in rows
        if (not cats or b["category"] in cats)
        and (not statuses or b["status"] in statuses)
        and pages[0] <= b["seq"] <= pages[1]
        and float(b["confidence"] or 0) <= conf + 1e-9
    ]
    if not only_cuts:
        return kept, None
    cuts = _cuts(db, case_id)
    return [b for b in kept if b["id"] in cuts], cuts


def _cuts(db, case_id: str) -> dict:
    """切字 flags of the case, recomputed only when a box of the case changed."""
    version = (case_id, finding_store.case_version(db, case_id))
    held = st.session_state.get(CUTS_KEY)
    if not held or held[0] != version:
        with st.spinner("正在检查框是否切字…"):
            held = (version, review.cutting_boxes(db, case_id))
        st.session_state[CUTS_KEY] = held
    return held[1]


def _cut_mark(cuts: dict | None, finding_id: int) -> str:
    kinds = (cuts or {}).get(finding_id) or []
    return "、".join({"glyph": "切到字", "word": "切断编号"}.get(k, k) for k in kinds)


def _jump(go) -> None:
    """Selection callback: open the chosen box's page with the box in focus."""
    picked = (st.session_state.get(TABLE_KEY) or {}).get("selection", {}).get("rows") or []
    ids = st.session_state.get(IDS_KEY) or []
    if not picked or picked[0] >= len(ids):
        return
    row = finding_store.get(get_db(), ids[picked[0]])
    if row is not None:
        go(row["page_id"], focus=row["id"])


def _bulk(db, user, ids: list[int], accept: bool) -> None:
    from ui.common import set_flash

    try:
        n = review.decide_many(db, user, ids, accept)
    except DeidError as exc:
        st.error(exc.message_zh)
        return
    set_flash(f"已{'接受' if accept else '拒绝'} {n} 个框（符合筛选的全部）", key="review_flash")
    st.rerun()
